/*
 * Running a check in the contexts the new families are made for (the string, peek, probe and copyv
 * suites share these): inside a SIGUSR1 handler, inside a program's own SIGSEGV handler that handles a
 * foreign fault (with SA_NODEFER, and as a crash reporter without it), under a handler that counts the
 * signals safecopy takes, and in a child that may make no system call but read/write/exit/rt_sigreturn
 * (seccomp strict mode).
 * A check is an `int (*)(void)` that returns 0 when every result was exact, or a nonzero step number.
 */
#ifndef SAFECOPY_TESTS_CONTEXTS_H
#define SAFECOPY_TESTS_CONTEXTS_H

#include <linux/seccomp.h>

#include "harness.h"

typedef int (*context_check)(void);

static context_check ctx_check;
static volatile int ctx_result = -1;
static char *ctx_foreign_page;

static void ctx_usr1(int sig)
{
	(void)sig;
	ctx_result = ctx_check();
}

/* fn's result when it runs in a SIGUSR1 handler (installed without SA_NODEFER or SA_SIGINFO). */
static inline int run_in_sigusr1_handler(context_check fn)
{
	cr_assert_eq(safecopy_init(), 0);
	ctx_check = fn;
	ctx_result = -1;
	cr_assert_eq(set_action(SIGUSR1, NULL, ctx_usr1, 0), 0);
	cr_assert_eq(raise(SIGUSR1), 0);
	return ctx_result;
}

static void ctx_foreign_segv(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	if (sig != SIGSEGV || info->si_addr != ctx_foreign_page) {
		ctx_result = 1000;
		return;
	}
	ctx_result = ctx_check();
	mprotect(ctx_foreign_page, pgsz(), PROT_READ | PROT_WRITE);
}

/*
 * fn's result when it runs inside the program's own SIGSEGV handler, installed before safecopy so that
 * safecopy chains the program's foreign fault to it: with SA_NODEFER, or the crash reporter's common
 * way without it (safecopy then runs it with SIGSEGV blocked, as the kernel would, and its safecopy
 * calls take the slow path that unblocks it for their routine). Map the foreign page before the zones
 * fn uses: a one-page mapping made later could fill their unmapped page.
 */
static inline void foreign_page_map(void)
{
	ctx_foreign_page = map_anon(pgsz(), PROT_NONE);
}

static inline int run_in_foreign_handler(context_check fn, int flags)
{
	cr_assert_not_null(ctx_foreign_page, "foreign_page_map() first");
	ctx_check = fn;
	ctx_result = -1;
	cr_assert_eq(set_action(SIGSEGV, ctx_foreign_segv, NULL, SA_SIGINFO | flags), 0);
	cr_assert_eq(safecopy_init(), 0);
	*(volatile char *)ctx_foreign_page = 1;
	cr_assert_eq(*(volatile char *)ctx_foreign_page, 1, "the foreign handler did not run");
	munmap(ctx_foreign_page, pgsz());
	ctx_foreign_page = NULL;
	return ctx_result;
}

static inline int run_in_foreign_segv_handler(context_check fn)
{
	return run_in_foreign_handler(fn, SA_NODEFER);
}

static inline int run_in_crash_reporter(context_check fn)
{
	return run_in_foreign_handler(fn, 0);
}

/* ---- counting the signals safecopy takes ---------------------------------------------------------- */

static volatile sig_atomic_t own_signals;

static void counting_owner(int sig, siginfo_t *info, void *uc)
{
	if (safecopy_handle_signal(sig, info, uc))
		own_signals++;
	else
		abort();
}

/* The program owns SIGSEGV/SIGBUS and forwards to safecopy_handle_signal(), counting what it takes. */
static inline void install_counting_owner(void)
{
	cr_assert_eq(safecopy_init(), 0);
	cr_assert_eq(set_action(SIGSEGV, counting_owner, NULL, SA_SIGINFO | SA_NODEFER), 0);
	cr_assert_eq(set_action(SIGBUS, counting_owner, NULL, SA_SIGINFO | SA_NODEFER), 0);
}

/* ---- no system calls ------------------------------------------------------------------------------ */

static int ctx_strict_child(void *arg)
{
	context_check fn = (context_check)arg;
	child_step(1);
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 0, NULL) != 0)
		return 99;
	child_step(2);
	int r = fn();
	/* Strict mode allows exit, not exit_group (what _exit() calls). */
	syscall(SYS_exit, r);
	return r;
}

/*
 * Runs fn (after safecopy_init) in a child under seccomp strict mode: any system call but read,
 * write, exit and rt_sigreturn kills it with SIGKILL. Checks that it exited with 0. (The first call
 * maps the child's progress page: a hole fn relies on may be filled by it.)
 */
static inline void expect_no_system_call(context_check fn)
{
	cr_assert_eq(safecopy_init(), 0);
	int status = run_in_child(ctx_strict_child, (void *)fn, 10);
	char d[128];
	describe_status(status, d, sizeof d);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	          "child under seccomp strict mode %s (step %d): a system call, or a wrong result", d,
	          child_progress());
}

#endif
