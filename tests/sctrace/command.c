/*
 * The command: usage errors exit 2 and run nothing; -h and -V; a program that cannot be found; the
 * traced program's exit status and death are sctrace's own.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

TestSuite(command, .init = setup, .fini = teardown, .timeout = 60);

/* Runs sctrace with the given options before `/usr/bin/touch DIR/ran`; returns whether it ran. */
static bool usage_error(const char *a, const char *b, const char *message)
{
	char ran[128];
	snprintf(ran, sizeof ran, "%s/ran", dir);
	char *argv[8] = {SCTRACE_BIN};
	int k = 1;
	if (a)
		argv[k++] = (char *)a;
	if (b)
		argv[k++] = (char *)b;
	argv[k++] = "/usr/bin/touch";
	argv[k++] = ran;
	argv[k] = NULL;
	struct run r = run_in(dir, argv, NULL);
	cr_assert(WIFEXITED(r.status));
	cr_assert_eq(WEXITSTATUS(r.status), 2, "%s %s: exit %d", a, b ? b : "", WEXITSTATUS(r.status));
	char want[256];
	snprintf(want, sizeof want, "sctrace: %s\nTry 'sctrace -h' for more information.\n", message);
	cr_assert_str_eq(r.err, want);
	cr_assert_eq(r.out_len, 0);
	run_free(&r);
	return access(ran, F_OK) == 0;
}

Test(command, usage_errors_exit_2_and_run_nothing)
{
	cr_assert_not(usage_error("-X", NULL, "invalid option -- 'X'"));
	cr_assert_not(usage_error("--no-such-option", NULL, "unrecognized option '--no-such-option'"));
	cr_assert_not(usage_error("-e", "trace=nosuchcall", "invalid system call 'nosuchcall'"));
	cr_assert_not(usage_error("-s", "many", "invalid -s argument: 'many'"));
	cr_assert_not(usage_error("-c", "-C", "-c/--summary-only and -C/--summary are mutually exclusive"));
}

Test(command, no_program)
{
	char *argv[] = {SCTRACE_BIN, "-f", NULL};
	struct run r = run_in(dir, argv, NULL);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 2);
	cr_assert_str_eq(r.err, "sctrace: must have PROG [ARGS]\nTry 'sctrace -h' for more information.\n");
	run_free(&r);
	char *missing[] = {SCTRACE_BIN, "no-such-program-anywhere", NULL};
	r = run_in(dir, missing, NULL);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1);
	cr_assert_str_eq(r.err,
	                 "sctrace: Can't stat 'no-such-program-anywhere': No such file or directory\n");
	run_free(&r);
}

Test(command, help_and_version)
{
	char *help[] = {SCTRACE_BIN, "-h", NULL};
	struct run r = run_in(dir, help, NULL);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	cr_assert_eq(strncmp(r.out, "Usage: sctrace ", 15), 0, "%s", r.out);
	cr_assert(strstr(r.out, "-e trace=SET"));
	cr_assert_eq(r.err_len, 0);
	run_free(&r);
	char *version[] = {SCTRACE_BIN, "-V", NULL};
	r = run_in(dir, version, NULL);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	cr_assert_eq(strncmp(r.out, "sctrace ", 8), 0);
	run_free(&r);
}

Test(command, program_found_in_path_and_its_exit_status)
{
	char *argv[] = {SCTRACE_BIN, "false", NULL};
	struct run r = run_in(dir, argv, NULL);
	cr_assert(WIFEXITED(r.status));
	cr_assert_eq(WEXITSTATUS(r.status), 1);
	/* the execve line names the file PATH led to, as strace's does */
	cr_assert(strstr(r.err, "execve(\"/usr/bin/false\", [\"false\"], ") == r.err ||
	              strstr(r.err, "execve(\"/bin/false\", [\"false\"], ") == r.err,
	          "%s", r.err);
	cr_assert(strstr(r.err, "exit_group(1)"));
	cr_assert(strstr(r.err, "\n+++ exited with 1 +++\n"));
	run_free(&r);
}

Test(command, a_program_killed_by_a_signal)
{
	char *plain[] = {SCTRACE_PROGRAMS "/badptr", "crash", NULL};
	struct run u = run_in(dir, plain, NULL);
	cr_assert(WIFSIGNALED(u.status));
	char out[128];
	snprintf(out, sizeof out, "%s/trace", dir);
	char *traced[] = {SCTRACE_BIN, "-o", out, SCTRACE_PROGRAMS "/badptr", "crash", NULL};
	struct run t = run_in(dir, traced, NULL);
	/* sctrace dies of the same signal, without a core of its own */
	cr_assert(WIFSIGNALED(t.status));
	cr_assert_eq(WTERMSIG(t.status), WTERMSIG(u.status));
	cr_assert_not(WCOREDUMP(t.status));
	char *trace = slurp(out, NULL);
	char want[64];
	snprintf(want, sizeof want, "\n+++ killed by SIG%s ", sigabbrev_np(WTERMSIG(u.status)));
	cr_assert(strstr(trace, want), "%s", trace);
	/* the lines up to the fault are all out (the last call before it is the readlink) */
	cr_assert(strstr(trace, "readlink(\"/proc/self/exe\", "));
	free(trace);
	run_free(&u);
	run_free(&t);
}

/* A program that confines itself with a seccomp filter allowing only its own calls
 * (tests/usertrap/programs/seccomp_filter.c): the tracer's system calls would be forbidden too, so it
 * stops showing the process's calls there and says so at the end; the program lives and prints as
 * plainly (before: killed by SIGSYS at the tracer's first writev after the filter). */
Test(command, a_program_under_its_own_seccomp_filter)
{
	char *argv[] = {SCTRACE_BIN, SCTRACE_PROGRAMS "/seccomp_filter", NULL};
	struct run r = run_in(dir, argv, NULL);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "status %#x: %s", r.status, r.err);
	cr_assert_str_eq(r.out, "ppid same, uid same\n");
	cr_assert(strstr(r.err, "prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)  = 0\n"), "%s", r.err);
	cr_assert_null(strstr(r.err, "getuid()"), "a call after the filter was shown: %s", r.err);
	cr_assert(strstr(r.err,
	                 "\nsctrace: 1 traced process(es) installed a seccomp filter: their calls after it "
	                 "are not shown (the filter applies to the tracer's own system calls)\n"),
	          "%s", r.err);
	run_free(&r);
}
