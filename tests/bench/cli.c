/*
 * safecopy-bench's options: a --filter that selects no row is a usage error (exit status 2, a message
 * naming --list, nothing measured or printed on stdout), like an unknown option; a filter that selects
 * rows lists exactly those. --cpu LEVEL: the header names the level, and whether glibc is capped alike;
 * an unknown level is a usage error.
 * The copy and memset groups: every power of two. --aa adds one control row per group; every row
 * listed is measured and printed with all its columns (no figure is checked).
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run_bench.h"

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

/* --aa: one more row per group, the base timed again, after the group's own rows. */
Test(bench_cli, the_aa_control_is_one_more_row_per_group)
{
	struct run r;
	run_bench(&r, "--list", "--aa", "--filter", "atomic/cas64/", "--filter", "peek/same/", NULL);
	cr_assert_eq(r.status, 0, "exit status %d; stderr: %s", r.status, r.err);
	cr_assert_str_eq(r.out, "atomic/cas64/safecopy\natomic/cas64/builtin\natomic/cas64/aa_control\n"
	                        "peek/same/safecopy\npeek/same/noinline\npeek/same/aa_control\n");
}

Test(bench_cli, without_aa_there_is_no_aa_control_row)
{
	struct run r;
	run_bench(&r, "--list", "--filter", "aa_control", NULL);
	cr_assert_eq(r.status, 2, "exit status %d; stdout: %s", r.status, r.out);
	cr_assert_str_empty(r.out);
	run_bench(&r, "--list", "--filter", "atomic/cas64/", NULL);
	cr_assert_str_eq(r.out, "atomic/cas64/safecopy\natomic/cas64/builtin\n");
}

/* The row of name in the table: its line, or NULL. */
static const char *table_line(const char *out, const char *name, char *line, size_t n)
{
	char key[128];
	snprintf(key, sizeof key, "\n%s ", name);
	const char *p = strstr(out, key);
	if (!p)
		return NULL;
	p++;
	size_t len = strcspn(p, "\n");
	snprintf(line, n, "%.*s", (int)len, p);
	return line;
}

/*
 * Every row that --list names for a filter is measured and printed with all its columns: name,
 * time/op, min, max (each a number and a unit), GB/s ("-" for rows without bytes), ratio ("base" on
 * the group's base row, "<number>x" on the others), and on the safecopy row its goal. No figure is
 * checked, only that it is there. The JSON file holds the same rows.
 */
Test(bench_cli, every_listed_row_is_measured_with_every_column)
{
	const char *filters[] = {"--filter", "atomic/load64/", "--filter", "peek/chain/", "--aa"};
	struct run list;
	run_bench(&list, "--list", filters[0], filters[1], filters[2], filters[3], filters[4], NULL);
	cr_assert_eq(list.status, 0);
	char json[32];
	json_tmp(json);
	struct run r;
	run_bench(&r, "--quick", "--no-plot", "--json", json, filters[0], filters[1], filters[2], filters[3],
	          filters[4], NULL);
	cr_assert_eq(r.status, 0, "exit status %d; stderr: %s", r.status, r.err);
	cr_assert(strstr(r.out, "\nrow                                 time/op        min        max     GB/s"
	                        "   ratio  goal\n") != NULL,
	          "no table head in:\n%s", r.out);
	static char js[1 << 16];
	json_take(json, js, sizeof js);
	int rows = 0;
	for (char *name = strtok(list.out, "\n"); name; name = strtok(NULL, "\n"), rows++) {
		char line[256], method[40], t[3][16], u[3][8], gbps[16], ratio[16], goal[8] = "";
		cr_assert_not_null(table_line(r.out, name, line, sizeof line), "%s not in:\n%s", name, r.out);
		int f = sscanf(line, "%*s %15s %7s %15s %7s %15s %7s %15s %15s %7s", t[0], u[0], t[1], u[1],
		               t[2], u[2], gbps, ratio, goal);
		cr_assert_geq(f, 8, "%s: %d columns", line, f);
		for (int k = 0; k < 3; k++) {
			char *end;
			cr_assert(strtod(t[k], &end) > 0 && *end == '\0', "%s: column %d", line, k + 2);
			cr_assert(strcmp(u[k], "ns") == 0 || strcmp(u[k], "us") == 0, "%s: unit %s", line,
			          u[k]);
		}
		cr_assert_str_eq(gbps, "-", "%s", line);
		snprintf(method, sizeof method, "%s", strrchr(name, '/') + 1);
		bool is_base = strcmp(method, "noinline") == 0;
		if (is_base) {
			cr_assert_str_eq(ratio, "base", "%s", line);
		} else {
			char *end;
			cr_assert(strtod(ratio, &end) > 0 && strcmp(end, "x") == 0, "%s: ratio %s", line,
			          ratio);
		}
		bool is_safecopy = strcmp(method, "safecopy") == 0;
		cr_assert(is_safecopy ? strcmp(goal, "yes") == 0 || strcmp(goal, "NO") == 0 : f == 8,
		          "%s: goal column", line);
		char key[160];
		snprintf(key, sizeof key, "\"name\": \"%s\"", name);
		cr_assert(strstr(js, key) != NULL, "%s not in the JSON", name);
	}
	cr_assert_eq(rows, 12, "%d rows listed:\n%s", rows, list.out); /* 3 + 3 + 3, and 3 controls */
}
