/*
 * safecopy-bench's options: a --filter that selects no row is a usage error (exit status 2, a message
 * naming --list, nothing measured or printed on stdout), like an unknown option; a filter that selects
 * rows lists exactly those.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

struct run {
	int status; /* exit status, or 128 + signal */
	char out[8192], err[8192];
};

static void read_all(int fd, char *buf, size_t n)
{
	ssize_t got = pread(fd, buf, n - 1, 0);
	cr_assert_geq(got, 0);
	buf[got] = '\0';
	close(fd);
}

/* Runs the harness with the given arguments (NULL-terminated), stdout and stderr kept apart. */
static void run_bench(struct run *r, ...)
{
	char *argv[16] = {(char *)BENCH_PATH};
	int argc = 1;
	va_list ap;
	va_start(ap, r);
	for (char *a; (a = va_arg(ap, char *)) != NULL;) {
		cr_assert_lt(argc, 15);
		argv[argc++] = a;
	}
	va_end(ap);
	int out = memfd_create("stdout", 0), err = memfd_create("stderr", 0);
	cr_assert(out >= 0 && err >= 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(out, 1);
		dup2(err, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	read_all(out, r->out, sizeof r->out);
	read_all(err, r->err, sizeof r->err);
}

Test(bench_cli, filter_matching_no_row_is_a_usage_error)
{
	struct run r;
	run_bench(&r, "--filter", "no-such-row", "--no-plot", NULL);
	cr_assert_eq(r.status, 2, "exit status %d; stderr: %s", r.status, r.err);
	cr_assert_str_eq(r.err,
	                 "safecopy-bench: no row matches --filter 'no-such-row'; safecopy-bench --list "
	                 "names every row\n");
	cr_assert_str_empty(r.out, "printed before failing:\n%s", r.out);
}

Test(bench_cli, every_filter_is_named)
{
	struct run r;
	run_bench(&r, "--filter", "nothing", "--filter", "nor-this", "--no-plot", NULL);
	cr_assert_eq(r.status, 2);
	cr_assert_str_eq(r.err, "safecopy-bench: no row matches --filter 'nothing' or --filter 'nor-this'; "
	                        "safecopy-bench --list names every row\n");
	cr_assert_str_empty(r.out);
}

Test(bench_cli, list_with_a_filter_matching_no_row_is_a_usage_error)
{
	struct run r;
	run_bench(&r, "--list", "--filter", "no-such-row", NULL);
	cr_assert_eq(r.status, 2);
	cr_assert_str_eq(r.err,
	                 "safecopy-bench: no row matches --filter 'no-such-row'; safecopy-bench --list "
	                 "names every row\n");
	cr_assert_str_empty(r.out);
}

Test(bench_cli, a_filter_that_matches_one_row_lists_exactly_it)
{
	struct run r;
	run_bench(&r, "--list", "--filter", "copy/8B/safecopy", NULL);
	cr_assert_eq(r.status, 0, "exit status %d; stderr: %s", r.status, r.err);
	cr_assert_str_eq(r.out, "copy/8B/safecopy\n");
	cr_assert_str_empty(r.err);
}

Test(bench_cli, a_filter_matching_one_of_two_is_accepted)
{
	struct run r;
	run_bench(&r, "--list", "--filter", "no-such-row", "--filter", "fault/8B/bare_signal", NULL);
	cr_assert_eq(r.status, 0, "exit status %d; stderr: %s", r.status, r.err);
	cr_assert_str_eq(r.out, "fault/8B/bare_signal\n");
	cr_assert_str_empty(r.err);
}

Test(bench_cli, unknown_option_is_a_usage_error)
{
	struct run r;
	run_bench(&r, "--no-such-option", NULL);
	cr_assert_eq(r.status, 2);
	cr_assert_str_empty(r.out);
	cr_assert(strstr(r.err, "usage: safecopy-bench") != NULL, "stderr: %s", r.err);
}
