/*
 * safecopy-bench's options: a --filter that selects no row is a usage error (exit status 2, a message
 * naming --list, nothing measured or printed on stdout), like an unknown option; a filter that selects
 * rows lists exactly those. --cpu LEVEL: the header names the level, and whether glibc is capped alike;
 * an unknown level is a usage error.
 * The copy and memset groups: every power of two.
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

Test(bench_cli, an_unknown_vector_level_is_a_usage_error)
{
	struct run r;
	run_bench(&r, "--cpu", "avx3", "--list", NULL);
	cr_assert_eq(r.status, 2);
	cr_assert_str_empty(r.out);
	cr_assert(strncmp(r.err, "safecopy-bench: --cpu 'avx3': not sse2, avx2 or avx512\nusage: ", 62) == 0,
	          "stderr: %s", r.err);
}

Test(bench_cli, a_vector_level_is_named_in_the_header)
{
	struct run r;
	run_bench(&r, "--cpu", "sse2", "--quick", "--no-plot", "--filter", "copy/8B/safecopy", NULL);
	cr_assert_eq(r.status, 0, "exit status %d; stderr: %s", r.status, r.err);
	cr_assert(strstr(r.out, "\nvector:    sse2 (") != NULL, "stdout: %s", r.out);
}

/*
 * A capped level stands for a CPU without the higher instructions: glibc's base rows are capped alike
 * (the bench runs itself again with GLIBC_TUNABLES), unless the caller chose glibc's hwcaps already.
 * On a CPU whose highest level is sse2 there is nothing to cap, and the header says so.
 */
static void expect_glibc_in_header(const char *want)
{
	struct run r;
	run_bench(&r, "--cpu", "sse2", "--quick", "--no-plot", "--filter", "memset/8B/safecopy", NULL);
	cr_assert_eq(r.status, 0, "exit status %d; stderr: %s", r.status, r.err);
	const char *cpu_highest = "\nvector:    sse2 (the CPU's highest)\n";
	cr_assert(strstr(r.out, cpu_highest) != NULL || strstr(r.out, want) != NULL, "stdout: %s", r.out);
}

Test(bench_cli, a_capped_level_caps_glibc_alike)
{
	expect_glibc_in_header("\nvector:    sse2 (capped; the CPU offers avx");
	expect_glibc_in_header("; glibc capped alike by GLIBC_TUNABLES)\n");
}

Test(bench_cli, the_callers_glibc_hwcaps_are_kept)
{
	cr_assert_eq(setenv("GLIBC_TUNABLES", "glibc.cpu.hwcaps=-AVX512F", 1), 0);
	expect_glibc_in_header("; glibc as GLIBC_TUNABLES says)\n");
}

/* Every power of two from 8 B to 64 MiB for copy and memset; the alternatives at the key sizes only. */
Test(bench_cli, copy_and_memset_groups_at_every_power_of_two)
{
	struct run r;
	run_bench(&r, "--list", "--filter", "copy/", "--filter", "memset/", NULL);
	cr_assert_eq(r.status, 0, "exit status %d; stderr: %s", r.status, r.err);
	static const char *const labels[] = {"8B",    "16B",   "32B",    "64B",    "128B",   "256B",
	                                     "512B",  "1KiB",  "2KiB",   "4KiB",   "8KiB",   "16KiB",
	                                     "32KiB", "64KiB", "128KiB", "256KiB", "512KiB", "1MiB",
	                                     "2MiB",  "4MiB",  "8MiB",   "16MiB",  "32MiB",  "64MiB"};
	char want[64];
	for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++) {
		snprintf(want, sizeof want, "\ncopy/%s/safecopy\ncopy/%s/memcpy\n", labels[i], labels[i]);
		cr_assert(strstr(r.out, want) != NULL ||
		              (i == 0 && strncmp(r.out, want + 1, strlen(want + 1)) == 0),
		          "no %s", want + 1);
		snprintf(want, sizeof want, "memset/%s/safecopy\nmemset/%s/memset\n", labels[i], labels[i]);
		cr_assert(strstr(r.out, want) != NULL, "no %s", want);
	}
	cr_assert(strstr(r.out, "copy/512B/process_vm_readv\n") != NULL);
	cr_assert(strstr(r.out, "copy/256B/process_vm_readv\n") == NULL);
}
