/*
 * The fallback part of a bench run (bench/fallback.c): after the table, the copy and memset groups
 * again at the vector level below the table's, as copy@LEVEL/SIZE and memset@LEVEL/SIZE, against
 * glibc capped alike; none at sse2 (SAFECOPY_CPU=sse2 stands for an SSE2-only CPU) and none with
 * --cpu. Row names, the header, the JSON keys and the goal count are checked, never a figure.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_bench.h"

static const char *const labels[] = {"8B",     "16B",  "32B",  "64B",   "128B",  "256B",  "512B",   "1KiB",
                                     "2KiB",   "4KiB", "8KiB", "16KiB", "32KiB", "64KiB", "128KiB", "256KiB",
                                     "512KiB", "1MiB", "2MiB", "4MiB",  "8MiB",  "16MiB", "32MiB",  "64MiB"};
#define NLABELS (sizeof labels / sizeof labels[0])

/*
 * The variants glibc (2.36, 2.41) may run at sse2, as on a CPU with SSSE3 but no AVX: which one depends
 * on the CPU (an AMD EPYC takes __memcpy_ssse3, an Intel Xeon, whose Fast_Unaligned_Copy is set,
 * __memcpy_sse2_unaligned_erms); under AddressSanitizer the bench calls the sanitizer's own memcpy
 * and memset, and names those.
 */
#if defined(__SANITIZE_ADDRESS__)
static const char *const sse2_memcpys[] = {"memcpy of libasan.so.8"};
static const char *const sse2_memsets[] = {"memset of libasan.so.8"};
#else
static const char *const sse2_memcpys[] = {"__memcpy_ssse3", "__memcpy_sse2_unaligned_erms",
                                           "__memcpy_sse2_unaligned"};
static const char *const sse2_memsets[] = {"__memset_sse2_unaligned_erms", "__memset_sse2_unaligned"};
#endif
#define NMEMCPYS (sizeof sse2_memcpys / sizeof sse2_memcpys[0])
#define NMEMSETS (sizeof sse2_memsets / sizeof sse2_memsets[0])

/* Where in text the form fmt (two %s: glibc's memcpy and memset variants, formatted with a1 first if
 * not NULL) occurs with some pair of sse2 variants, or NULL. */
static const char *find_sse2_form(const char *text, const char *fmt, const char *a1)
{
	for (size_t i = 0; i < NMEMCPYS; i++)
		for (size_t j = 0; j < NMEMSETS; j++) {
			char want[512];
			if (a1)
				snprintf(want, sizeof want, fmt, a1, sse2_memcpys[i], sse2_memsets[j]);
			else
				snprintf(want, sizeof want, fmt, sse2_memcpys[i], sse2_memsets[j]);
			const char *at = strstr(text, want);
			if (at)
				return at;
		}
	return NULL;
}

/* Joins the lines the bench wrapped (continuations indented to its 11-column labels) in place. */
static void unwrap(char *text)
{
	static const char indent[] = "\n           ";
	char *out = text;
	for (const char *p = text; *p;) {
		if (strncmp(p, indent, sizeof indent - 1) == 0 && p[sizeof indent - 1] != ' ') {
			*out++ = ' ';
			p += sizeof indent - 1;
		} else {
			*out++ = *p++;
		}
	}
	*out = '\0';
}

/* The CPU's highest level, as the library detects it (the compiler's checks include XCR0). */
static int cpu_level(void)
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("bmi2"))
		return 2;
	return __builtin_cpu_supports("avx2") ? 1 : 0;
}

static const char *const level_names[] = {"sse2", "avx2", "avx512"};

/* Every row of the part at `level`, in table order: each copy group, then each memset group. */
static void part_rows(char *buf, size_t n, const char *level)
{
	size_t len = 0;
	for (size_t i = 0; i < NLABELS; i++)
		len += (size_t)snprintf(buf + len, n - len, "copy@%s/%s/safecopy\ncopy@%s/%s/memcpy\n", level,
		                        labels[i], level, labels[i]);
	for (size_t i = 0; i < NLABELS; i++)
		len += (size_t)snprintf(buf + len, n - len, "memset@%s/%s/safecopy\nmemset@%s/%s/memset\n",
		                        level, labels[i], level, labels[i]);
	cr_assert_lt(len, n);
}

/* --list of the part's rows: exactly every power of two at `level`, or none (a usage error). */
static void expect_listed_part(const char *level)
{
	struct run r;
	run_bench(&r, "--list", "--filter", "@", NULL);
	if (!level) {
		cr_assert_eq(r.status, 2, "exit status %d; stdout: %s", r.status, r.out);
		cr_assert_str_empty(r.out);
		return;
	}
	cr_assert_eq(r.status, 0, "exit status %d; stderr: %s", r.status, r.err);
	static char want[8192];
	part_rows(want, sizeof want, level);
	cr_assert_str_eq(r.out, want);
}

Test(bench_cli, fallback_rows_are_every_power_of_two_at_the_level_below_the_cpus)
{
	int cpu = cpu_level();
	expect_listed_part(cpu > 0 ? level_names[cpu - 1] : NULL);
}

/* SAFECOPY_CPU caps the level the table runs at: the part is the level below that one. */
Test(bench_cli, fallback_rows_follow_the_level_safecopy_cpu_leaves)
{
	cr_assert_eq(setenv("SAFECOPY_CPU", "avx2", 1), 0);
	expect_listed_part(cpu_level() > 0 ? "sse2" : NULL);
}

/* An SSE2-only CPU has no level below: no part, and the header says why. */
Test(bench_cli, an_sse2_cpu_has_no_fallback_part)
{
	cr_assert_eq(setenv("SAFECOPY_CPU", "sse2", 1), 0);
	expect_listed_part(NULL);
	char json[32];
	json_tmp(json);
	struct run r;
	run_bench(&r, "--quick", "--no-plot", "--json", json, "--filter", "memset/8B/safecopy", NULL);
	cr_assert_eq(r.status, 0, "exit status %d; stderr: %s", r.status, r.err);
	cr_assert(strstr(r.out, "\nfallback:  none (the routines run at sse2, the lowest level)\n") != NULL,
	          "stdout: %s", r.out);
	cr_assert(strstr(r.out, "memset@") == NULL, "stdout: %s", r.out); /* (the kernel line may hold a @) */
	static char js[1 << 16];
	json_take(json, js, sizeof js);
	cr_assert(
	    strstr(js, "\n  \"fallback\": {\"level\": null, \"why\": \"the routines run at sse2, the lowest "
	               "level\"},\n") != NULL,
	    "%s", js);
}

/* --cpu LEVEL measures that one level: no part, whatever the CPU. */
Test(bench_cli, cpu_option_runs_no_fallback_part)
{
	struct run r;
	run_bench(&r, "--cpu", "avx2", "--list", "--filter", "@", NULL);
	cr_assert_eq(r.status, 2, "exit status %d; stdout: %s", r.status, r.out);
	cr_assert_str_empty(r.out);
	run_bench(&r, "--cpu", "avx2", "--quick", "--no-plot", "--filter", "copy/8B/safecopy", NULL);
	cr_assert_eq(r.status, 0, "exit status %d; stderr: %s", r.status, r.err);
	cr_assert(strstr(r.out, "\nfallback:  none (--cpu chose the one level this run measures)\n") != NULL,
	          "stdout: %s", r.out);
}

/* --filter picks rows of either part by name: 'copy/' only the table's, '@LEVEL/' only the part's. */
Test(bench_cli, filters_pick_fallback_rows_by_name)
{
	int cpu = cpu_level();
	cr_assert_eq(setenv("SAFECOPY_CPU", "avx2", 1), 0); /* the part is sse2 on any AVX2 CPU */
	struct run r;
	run_bench(&r, "--list", "--filter", "copy/8B/safecopy", "--filter", "@sse2/8B/", NULL);
	cr_assert_eq(r.status, 0, "exit status %d; stderr: %s", r.status, r.err);
	cr_assert_str_eq(r.out, cpu > 0 ? "copy/8B/safecopy\ncopy@sse2/8B/safecopy\ncopy@sse2/8B/memcpy\n"
	                                  "memset@sse2/8B/safecopy\nmemset@sse2/8B/memset\n"
	                                : "copy/8B/safecopy\n");
	run_bench(&r, "--list", "--filter", "copy/", "--filter", "memset/", NULL);
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out, "@") == NULL, "stdout: %s", r.out);
}

/* The count after `key` in text (e.g. the goal count after "goals_met\": "); -1 if absent. */
static int count_after(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	return p ? atoi(p + strlen(key)) : -1;
}

/*
 * A measured part (sse2, below SAFECOPY_CPU=avx2): its head names the level, how glibc was capped and
 * glibc's variants at that level (glibc 2.36: __memcpy_ssse3, __memset_sse2_unaligned_erms); its rows
 * follow under their own column titles; its worst ratios are notes; the summary and the JSON count
 * its goals (one per group: the two selected).
 */
Test(bench_cli, a_measured_fallback_part_names_glibcs_variant_and_counts_its_goals)
{
	if (cpu_level() == 0) {
		expect_listed_part(NULL); /* no level below sse2: nothing else to check */
		return;
	}
	cr_assert_eq(setenv("SAFECOPY_CPU", "avx2", 1), 0);
	char json[32];
	json_tmp(json);
	struct run r;
	run_bench(&r, "--quick", "--no-plot", "--json", json, "--filter", "@sse2/8B/", NULL);
	cr_assert_eq(r.status, 0, "exit status %d; stderr: %s", r.status, r.err);
	static char js[1 << 16];
	json_take(json, js, sizeof js);

	cr_assert(strstr(r.out,
	                 "\nfallback:  sse2 (after the table, the copy and memset groups again at sse2 "
	                 "against glibc capped alike)\n") != NULL,
	          "stdout: %s", r.out);
	unwrap(r.out);
	static const char head[] =
	    "\nfallback:  sse2 (capped; the CPU offers %s; glibc capped alike by GLIBC_TUNABLES), the level"
	    " below the table's: the copy and memset groups again; their base rows run %s and %s\nrow ";
	const char *part = find_sse2_form(r.out, head, level_names[cpu_level()]);
	cr_assert_not_null(part, "no %s in:\n%s", head + 1, r.out);
	static const char *const rows[] = {"copy@sse2/8B/safecopy", "copy@sse2/8B/memcpy",
	                                   "memset@sse2/8B/safecopy", "memset@sse2/8B/memset"};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char line[64], key[64];
		snprintf(line, sizeof line, "\n%s ", rows[i]);
		cr_assert(strstr(part, line) != NULL, "no row %s in:\n%s", rows[i], part);
		snprintf(key, sizeof key, "{\"name\": \"%s\"", rows[i]);
		cr_assert(strstr(js, key) != NULL, "%s not in the JSON", rows[i]);
	}
	cr_assert(strstr(r.out, "\nnote:      copy@sse2/*: safecopy's worst ratio to memcpy over the 1 sizes "
	                        "measured: ") != NULL,
	          "stdout: %s", r.out);
	cr_assert(strstr(r.out,
	                 "\nnote:      memset@sse2/*: safecopy's worst ratio to memset over the 1 sizes "
	                 "measured: ") != NULL,
	          "stdout: %s", r.out);
	const char *goals = strstr(r.out, "\ngoals:     ");
	cr_assert_not_null(goals, "stdout: %s", r.out);
	int met, missed, part_met, part_missed;
	cr_assert_eq(
	    sscanf(goals, "\ngoals: %d met, %d missed; of them at the fallback level sse2: %d met, %d missed",
	           &met, &missed, &part_met, &part_missed),
	    4, "%.200s", goals);
	cr_assert_eq(met + missed, 2, "%.200s", goals);
	cr_assert(part_met == met && part_missed == missed, "%.200s", goals);

	cr_assert(
	    strstr(js,
	           "\n  \"fallback\": {\"level\": \"sse2\", \"measured\": true, \"vector\": \"sse2 (capped; "
	           "the CPU offers ") != NULL,
	    "%s", js);
	static const char keys[] =
	    "; glibc capped alike by GLIBC_TUNABLES)\", \"glibc_memcpy\": \"%s\", \"glibc_memset\": \"%s\", "
	    "\"groups\": [\"copy@sse2\", \"memset@sse2\"], \"goals_met\": ";
	cr_assert(find_sse2_form(js, keys, NULL) != NULL, "no %s in %s", keys, js);
	cr_assert_eq(count_after(js, "\"goals_met\": "), met);
	cr_assert_eq(count_after(js, "\"goals_missed\": "), missed);
	cr_assert(strstr(js, "{\"name\": \"copy@sse2/8B/safecopy\", \"group\": \"copy@sse2/8B\", \"method\": "
	                     "\"safecopy\", \"base\": \"memcpy\", \"bytes\": 8,") != NULL,
	          "%s", js);
	cr_assert(strstr(js, "\"goal\": {\"kind\": \"time_at_most\", \"ref\": \"memset\", \"limit\": 1.1,") !=
	              NULL,
	          "%s", js);
}

/* The header names glibc's variants the table's base rows run (not only the part's): names glibc
 * lists, so never "unknown". */
Test(bench_cli, the_header_names_glibcs_variants)
{
	struct run r;
	run_bench(&r, "--quick", "--no-plot", "--filter", "copy/8B/safecopy", NULL);
	cr_assert_eq(r.status, 0, "exit status %d; stderr: %s", r.status, r.err);
	const char *line = strstr(r.out, "\nglibc:     ");
	cr_assert_not_null(line, "stdout: %s", r.out);
#if defined(__SANITIZE_ADDRESS__)
	const char *want = " (memcpy: memcpy of libasan.so.8, memset: memset of libasan.so.8)\n";
	cr_assert(strncmp(line, "\nglibc:     2.", 14) == 0 && strstr(line, want) != NULL, "%.200s", line);
#else
	cr_assert(strncmp(line, "\nglibc:     2.", 14) == 0 && strstr(line, " (memcpy: __memcpy_") != NULL &&
	              strstr(line, ", memset: __memset_") != NULL,
	          "%.200s", line);
#endif
}

/* A run at SAFECOPY_CPU=sse2 (the table only: no level below), its output unwrapped; its vector line
 * must say how glibc is capped (`how`). */
static void run_at_sse2(struct run *r, const char *how)
{
	if (cpu_level() == 0)
		cr_skip_test("not run: an SSE2-only CPU has no level to cap");
	cr_assert_eq(setenv("SAFECOPY_CPU", "sse2", 1), 0);
	run_bench(r, "--quick", "--no-plot", "--filter", "copy/8B/safecopy", NULL);
	cr_assert_eq(r->status, 0, "exit status %d; stderr: %s", r->status, r->err);
	unwrap(r->out);
	char vector[160];
	snprintf(vector, sizeof vector, "\nvector:    sse2 (capped; the CPU offers %s; glibc %s)\n",
	         level_names[cpu_level()], how);
	cr_assert(strstr(r->out, vector) != NULL, "no %s in:\n%s", vector + 1, r->out);
}

/* SAFECOPY_CPU caps the table's level as --cpu does, and glibc is capped alike for it: the base rows
 * are glibc's SSE2 variants, not its AVX-512 or AVX2 ones. */
Test(bench_cli, safecopy_cpu_caps_glibc_alike)
{
	struct run r;
	run_at_sse2(&r, "capped alike by GLIBC_TUNABLES");
	cr_assert(find_sse2_form(r.out, "(memcpy: %s, memset: %s)", NULL) != NULL, "stdout: %s", r.out);
}

/* A glibc.cpu.hwcaps the caller set is theirs: kept, and the header says so. */
Test(bench_cli, safecopy_cpu_keeps_the_callers_hwcaps)
{
	cr_assert_eq(setenv("GLIBC_TUNABLES", "glibc.cpu.hwcaps=-AVX512F", 1), 0);
	struct run r;
	run_at_sse2(&r, "as GLIBC_TUNABLES says");
}
