/*
 * Run under the preload tool: a program that installs its own SIGILL handler (as crash reporters and
 * GNU as do) and then reaches a guard byte of a relocated window by a branch usertrap cannot see. The
 * guard's SIGILL must still be usertrap's (the thread continues in the stub); a real ud2 must reach
 * the program's handler; sigaction() must report the program's handler back.
 * Exit 0 when all of that holds; otherwise a status naming the step, and a line on stderr.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

/* read(-1, NULL, 0) by `xor %eax,%eax; syscall` (a window: no `mov $nr,%eax` to patch), then two
 * moves after the syscall; `after_syscall` is the boundary right after it. */
long window_site(long fd, long buf, long len);
/* Enters window_site's window at after_syscall with RAX = v (a branch from another function). */
long enter_after_syscall(long v);
__asm__(".text\n"
        ".p2align 4\n"
        ".globl window_site\n"
        ".type window_site, @function\n"
        "window_site:\n"
        ".cfi_startproc\n"
        "xor %eax, %eax\n"
        "syscall\n"
        "after_syscall:\n"
        "mov %rax, %rdx\n"
        "mov %rdx, %rax\n"
        "ret\n"
        ".cfi_endproc\n"
        ".size window_site, .-window_site\n"
        ".p2align 4\n"
        ".globl enter_after_syscall\n"
        ".type enter_after_syscall, @function\n"
        "enter_after_syscall:\n"
        ".cfi_startproc\n"
        "mov %rdi, %rax\n"
        "jmp after_syscall\n"
        ".cfi_endproc\n"
        ".size enter_after_syscall, .-enter_after_syscall\n");

static volatile sig_atomic_t app_sigills;

static void on_sigill(int sig, siginfo_t *info, void *ucv)
{
	(void)sig;
	ucontext_t *uc = ucv;
	app_sigills++;
	if (info->si_code != ILL_ILLOPN) /* not the ud2 below: leave as the program's default would */
		_exit(10);
	uc->uc_mcontext.gregs[REG_RIP] += 2; /* past the ud2 */
}

static int fail(int status, const char *what)
{
	fprintf(stderr, "sigill_probe: %s\n", what);
	return status;
}

int main(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigill;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGILL, &sa, NULL) != 0)
		return fail(2, "sigaction");
	/* First call: captured, and its site patched as a window; second: through the stub. */
	for (int i = 0; i < 2; i++)
		if (window_site(-1, 0, 0) != -9) /* -EBADF */
			return fail(3, "read(-1) through the site did not give -EBADF");
	if (enter_after_syscall(12345) != 12345)
		return fail(4, "the branch into the window did not come back with its value");
	if (app_sigills != 0)
		return fail(5, "the guard byte's SIGILL reached the program's handler");
	__asm__ volatile("ud2");
	if (app_sigills != 1)
		return fail(6, "a real ud2 did not reach the program's handler");
	if (sigaction(SIGILL, NULL, &old) != 0 || old.sa_sigaction != on_sigill)
		return fail(7, "sigaction() does not report the program's handler");
	puts("ok");
	return 0;
}
