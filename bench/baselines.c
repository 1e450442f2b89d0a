/* The alternatives to safecopy; see baselines.h. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <sigsegv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#include "baselines.h"
#include "bench.h"
#include "safecopy.h"

static int mem_fd = -1;
static int pipe_fd[2] = {-1, -1};
static size_t pipe_cap;
static pid_t self;

int bl_init(void)
{
	self = getpid();
	mem_fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	if (mem_fd < 0)
		return -errno;
	if (pipe2(pipe_fd, O_CLOEXEC) != 0)
		return -errno;
	/* A bigger pipe lets the probe copy up to 1 MiB in one write; the default is 64 KiB. */
	(void)fcntl(pipe_fd[1], F_SETPIPE_SZ, 1 << 20);
	int cap = fcntl(pipe_fd[1], F_GETPIPE_SZ);
	pipe_cap = cap > 0 ? (size_t)cap : 65536;
	return 0;
}

size_t bl_pipe_capacity(void)
{
	return pipe_cap;
}

size_t bl_pvr_copy(void *dst, const void *src, size_t n)
{
	struct iovec local = {dst, n}, remote = {(void *)src, n};
	ssize_t r = process_vm_readv(self, &local, 1, &remote, 1, 0);
	return r > 0 ? (size_t)r : 0;
}

size_t bl_procmem_copy(void *dst, const void *src, size_t n)
{
	ssize_t r = pread(mem_fd, dst, n, (off_t)(uintptr_t)src);
	return r > 0 ? (size_t)r : 0;
}

size_t bl_pipe_copy(void *dst, const void *src, size_t n)
{
	size_t done = 0;
	/* In chunks of the pipe's capacity, so a write never blocks on a full pipe. */
	while (done < n) {
		size_t chunk = n - done < pipe_cap ? n - done : pipe_cap;
		ssize_t w = write(pipe_fd[1], (const char *)src + done, chunk);
		if (w <= 0)
			break; /* EFAULT: src not readable */
		for (ssize_t got = 0; got < w;) {
			ssize_t r = read(pipe_fd[0], (char *)dst + done + got, (size_t)(w - got));
			if (r <= 0)
				abort();
			got += r;
		}
		done += (size_t)w;
		if ((size_t)w < chunk)
			break;
	}
	return done;
}

/* ---- the save/restore of the SIGSEGV and SIGBUS actions ---- */

/*
 * Saved and restored as the kernel holds them, restorer included: sigaction() would put glibc's
 * restorer back instead of safecopy's own, and safecopy's handler would then (correctly) no longer
 * take its fast exit in the rows measured after the first swap.
 */
struct kernel_action {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static struct kernel_action saved_segv, saved_bus;
static int saved_depth;

static void kernel_action(int sig, const struct kernel_action *set, struct kernel_action *get)
{
	if (syscall(SYS_rt_sigaction, sig, set, get, sizeof(uint64_t)) != 0) {
		perror("bench: rt_sigaction");
		abort();
	}
}

static void save_actions(void)
{
	if (saved_depth++ != 0) {
		fprintf(stderr, "bench: nested handler swap (bench bug)\n");
		abort();
	}
	kernel_action(SIGSEGV, NULL, &saved_segv);
	kernel_action(SIGBUS, NULL, &saved_bus);
}

void bl_leave(void *ctx)
{
	(void)ctx;
	kernel_action(SIGSEGV, &saved_segv, NULL);
	kernel_action(SIGBUS, &saved_bus, NULL);
	saved_depth--;
}

static void install(void (*fn)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/* A fault nobody here expected: die of it, as without any handler. */
static void die_default(int sig)
{
	signal(sig, SIG_DFL);
}

/* ---- sigsetjmp(env, 1) + memcpy ---- */

static sigjmp_buf sj_env;
static volatile sig_atomic_t sj_armed;

static void sj_handler(int sig, siginfo_t *info, void *uc)
{
	(void)info;
	(void)uc;
	if (!sj_armed) {
		die_default(sig);
		return;
	}
	sj_armed = 0;
	siglongjmp(sj_env, 1); /* restores the mask sigsetjmp saved: SIGSEGV is unblocked again */
}

void bl_sigsetjmp_enter(void *ctx)
{
	(void)ctx;
	save_actions();
	/* As a typical program would: SA_SIGINFO, the signal blocked while its handler runs. */
	install(sj_handler, 0);
}

size_t bl_sigsetjmp_copy(void *dst, const void *src, size_t n)
{
	if (sigsetjmp(sj_env, 1))
		return 0;
	sj_armed = 1;
	BENCH_BARRIER();
	memcpy(dst, src, n);
	BENCH_BARRIER();
	sj_armed = 0;
	return n;
}

/* ---- setjmp + memcpy guarded by libsigsegv ---- */

static jmp_buf ss_env;
static volatile sig_atomic_t ss_armed;

static void ss_continue(void *a, void *b, void *c)
{
	(void)a;
	(void)b;
	(void)c;
	longjmp(ss_env, 1);
}

static int ss_handler(void *fault_address, int serious)
{
	(void)fault_address;
	(void)serious;
	if (!ss_armed)
		return 0; /* declined: libsigsegv resets SIGSEGV to SIG_DFL and the fault kills */
	ss_armed = 0;
	/* libsigsegv's handler runs with SIGSEGV blocked, and plain setjmp did not save the mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGSEGV);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	return sigsegv_leave_handler(ss_continue, NULL, NULL, NULL);
}

void bl_libsigsegv_enter(void *ctx)
{
	(void)ctx;
	save_actions();
	if (sigsegv_install_handler(ss_handler) != 0) {
		fprintf(stderr, "bench: sigsegv_install_handler failed\n");
		abort();
	}
}

void bl_libsigsegv_leave(void *ctx)
{
	sigsegv_deinstall_handler();
	bl_leave(ctx);
}

size_t bl_libsigsegv_copy(void *dst, const void *src, size_t n)
{
	if (setjmp(ss_env))
		return 0;
	ss_armed = 1;
	BENCH_BARRIER();
	memcpy(dst, src, n);
	BENCH_BARRIER();
	ss_armed = 0;
	return n;
}

/* ---- the bare round trip: fault, handler moves RIP past the load, sigreturn ---- */

/* The load and the address right after it, so the handler knows where to resume. */
__asm__(".pushsection .text\n"
        ".globl bl_probe_load\n"
        ".hidden bl_probe_load\n"
        ".type bl_probe_load, @function\n"
        "bl_probe_load:\n"
        "	movq (%rdi), %rax\n"
        ".globl bl_probe_resume\n"
        ".hidden bl_probe_resume\n"
        "bl_probe_resume:\n"
        "	ret\n"
        ".size bl_probe_load, . - bl_probe_load\n"
        ".popsection\n");
extern const char bl_probe_resume[];

static volatile unsigned long bare_resumed;

static void bare_handler(int sig, siginfo_t *info, void *ucv)
{
	(void)info;
	ucontext_t *uc = ucv;
	/* Only the known load is resumed; anything else dies as it would without a handler. */
	if (uc->uc_mcontext.gregs[REG_RIP] != (greg_t)(uintptr_t)bl_probe_load) {
		die_default(sig);
		return;
	}
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)bl_probe_resume;
	bare_resumed++;
}

void bl_bare_enter(void *ctx)
{
	(void)ctx;
	save_actions();
	/* The same flags as safecopy's handler, so only the work done inside differs. */
	install(bare_handler, SA_ONSTACK | SA_NODEFER | SA_RESTART);
}

unsigned long bl_bare_resumed(void)
{
	return bare_resumed;
}

/* ---- safecopy embedded in a program's own handler ---- */

static void embedding_handler(int sig, siginfo_t *info, void *uc)
{
	if (!safecopy_handle_signal(sig, info, uc))
		die_default(sig);
}

void bl_embedded_enter(void *ctx)
{
	(void)ctx;
	save_actions();
	install(embedding_handler, SA_ONSTACK | SA_NODEFER | SA_RESTART);
}

/* ---- the same round trip without rt_sigreturn ---- */

/*
 * Continues the interrupted context (gregs, fpregs of a ucontext) at its RIP without rt_sigreturn:
 * restores RSP, the callee-saved registers, MXCSR and the x87 control word (callee-saved control
 * bits the kernel reset for the handler), then jumps. Valid here because the interrupted code is a
 * leaf whose scratch registers are dead at the resume point, and because the handler runs with the
 * interrupted signal mask (SA_NODEFER, empty sa_mask) on the same stack: nothing else to undo.
 * Offsets: glibc's REG_R12..REG_R15 = 4..7, REG_RBP 10, REG_RBX 11, REG_RSP 15, REG_RIP 16;
 * struct _libc_fpstate: cwd at 0, mxcsr at 24.
 */
__asm__(".pushsection .text\n"
        ".globl bl_resume_context\n"
        ".hidden bl_resume_context\n"
        ".type bl_resume_context, @function\n"
        "bl_resume_context:\n"
        "	ldmxcsr 24(%rsi)\n"
        "	fldcw 0(%rsi)\n"
        "	movq 32(%rdi), %r12\n"
        "	movq 40(%rdi), %r13\n"
        "	movq 48(%rdi), %r14\n"
        "	movq 56(%rdi), %r15\n"
        "	movq 80(%rdi), %rbp\n"
        "	movq 88(%rdi), %rbx\n"
        "	movq 128(%rdi), %rax\n"
        "	movq 120(%rdi), %rsp\n"
        "	jmp *%rax\n"
        ".size bl_resume_context, . - bl_resume_context\n"
        ".popsection\n");
_Noreturn void bl_resume_context(const greg_t *gregs, const struct _libc_fpstate *fpregs);

_Static_assert(REG_R12 == 4 && REG_R15 == 7 && REG_RBP == 10 && REG_RBX == 11 && REG_RSP == 15 &&
                   REG_RIP == 16,
               "bl_resume_context's register offsets");
_Static_assert(__builtin_offsetof(struct _libc_fpstate, mxcsr) == 24, "bl_resume_context's mxcsr offset");

static void nosigreturn_handler(int sig, siginfo_t *info, void *ucv)
{
	(void)info;
	ucontext_t *uc = ucv;
	if (uc->uc_mcontext.gregs[REG_RIP] != (greg_t)(uintptr_t)bl_probe_load) {
		die_default(sig);
		return;
	}
	bare_resumed++;
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)bl_probe_resume;
	bl_resume_context(uc->uc_mcontext.gregs, uc->uc_mcontext.fpregs);
}

void bl_bare_nosigreturn_enter(void *ctx)
{
	(void)ctx;
	save_actions();
	install(nosigreturn_handler, SA_ONSTACK | SA_NODEFER | SA_RESTART);
}
