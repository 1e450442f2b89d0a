/*
 * A traced program whose argument pointers are bad behaves exactly as untraced: the same output, the
 * same exit status or death; its own SIGSEGV/SIGBUS handlers never run for the tracer's reads; and the
 * bad pointers print as their addresses.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "sctrace/util.h"

static char dir[64];

static void setup(void)
{
	scratch_make(dir);
}

static void teardown(void)
{
	scratch_remove(dir);
}

TestSuite(badptr, .init = setup, .fini = teardown, .timeout = 60);

static void same_as_untraced(const char *mode, const char *flag)
{
	char *plain[] = {SCTRACE_PROGRAMS "/badptr", (char *)mode, NULL};
	struct run u = run_in(dir, plain, NULL);
	char out[128];
	snprintf(out, sizeof out, "%s/trace", dir);
	char *argv[8] = {SCTRACE_BIN, "-o", out};
	int k = 3;
	if (flag)
		argv[k++] = (char *)flag;
	argv[k++] = SCTRACE_PROGRAMS "/badptr";
	argv[k++] = (char *)mode;
	argv[k] = NULL;
	struct run t = run_in(dir, argv, NULL);
	cr_assert_eq(t.out_len, u.out_len, "%s: output\n%s\nuntraced:\n%s", mode, t.out, u.out);
	cr_assert_str_eq(t.out, u.out);
	cr_assert_str_eq(t.err, u.err);
	cr_assert_eq(WIFSIGNALED(t.status), WIFSIGNALED(u.status), "%s: %#x vs %#x", mode, t.status,
	             u.status);
	if (WIFSIGNALED(u.status))
		cr_assert_eq(WTERMSIG(t.status), WTERMSIG(u.status));
	else
		cr_assert_eq(WEXITSTATUS(t.status), WEXITSTATUS(u.status));
	cr_assert_null(strstr(u.out, "fault handler ran"), "the untraced run itself must not fault");
	char *trace = slurp(out, NULL);
	/* the bad pointers, printed as strace prints them */
	cr_assert(
	    find_call(trace, "openat(AT_FDCWD, 0xdead000000000000, O_RDONLY)", "= -1 EFAULT (Bad address)"),
	    "%s", trace);
	cr_assert(find_call(trace, "write(1, 0xdead000000000000, 8)", "= -1 EFAULT (Bad address)"), "%s",
	          trace);
	cr_assert(find_call(trace, "uname(0xdead000000000000)", "= -1 EFAULT (Bad address)"), "%s", trace);
	cr_assert(strstr(trace, "writev(1, [{iov_base=0xdead000000000000, iov_len=4}], 1)"), "%s", trace);
	free(trace);
	run_free(&u);
	run_free(&t);
}

Test(badptr, plain)
{
	same_as_untraced("plain", NULL);
}

/* The program's own fault handlers are installed: a fault of the tracer reaching them would show. */
Test(badptr, with_the_programs_own_fault_handlers)
{
	same_as_untraced("handler", NULL);
	same_as_untraced("handler", "-f");
}

Test(badptr, then_a_real_crash)
{
	same_as_untraced("crash", NULL);
}

Test(badptr, counted_only)
{
	char *plain[] = {SCTRACE_PROGRAMS "/badptr", "handler", NULL};
	struct run u = run_in(dir, plain, NULL);
	char *argv[] = {SCTRACE_BIN, "-c", "-o", "/dev/null", SCTRACE_PROGRAMS "/badptr", "handler", NULL};
	struct run t = run_in(dir, argv, NULL);
	cr_assert_str_eq(t.out, u.out);
	cr_assert_eq(t.status, u.status);
	run_free(&u);
	run_free(&t);
}
