/*
 * -c and -C: the summary table counts every call the program made, and its errors, exactly; its
 * layout is strace's.
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

TestSuite(summary, .init = setup, .fini = teardown, .timeout = 60);

struct row {
	unsigned long calls, errors;
	bool found;
};

/* The calls and errors columns of the row of name in a summary table. */
static struct row row_of(const char *table, const char *name)
{
	struct row r = {0};
	for (const char *line = table; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		double pct, secs;
		unsigned long usecs, calls, errors = 0;
		char call[64];
		int n = sscanf(line, "%lf %lf %lu %lu %lu %63s", &pct, &secs, &usecs, &calls, &errors, call);
		if (n == 4) { /* an empty errors column: the fifth field is the name */
			n = sscanf(line, "%lf %lf %lu %lu %63s", &pct, &secs, &usecs, &calls, call);
			errors = 0;
			if (n != 5)
				continue;
		} else if (n != 6) {
			continue;
		}
		if (strcmp(call, name) == 0) {
			r.calls = calls;
			r.errors = errors;
			r.found = true;
		}
	}
	return r;
}

static struct run counted(const char *flag, const char *out)
{
	char *argv[] = {SCTRACE_BIN, (char *)flag, "-o", (char *)out, SCTRACE_PROGRAMS "/counts", NULL};
	struct run r = run_in(dir, argv, NULL);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "status %#x: %s", r.status, r.err);
	return r;
}

Test(summary, totals_equal_the_calls_made)
{
	char out[128];
	snprintf(out, sizeof out, "%s/c.txt", dir);
	struct run r = counted("-c", out);
	char *table = slurp(out, NULL);
	struct row g = row_of(table, "getppid"), w = row_of(table, "write"), c = row_of(table, "close"),
	           o = row_of(table, "openat"), t = row_of(table, "total");
	cr_assert(g.found && w.found && c.found && o.found && t.found, "table:\n%s", table);
	cr_assert_eq(g.calls, 1000);
	cr_assert_eq(g.errors, 0);
	cr_assert_eq(w.calls, 10);
	cr_assert_eq(w.errors, 0);
	cr_assert_eq(c.calls, 6);
	cr_assert_eq(c.errors, 5);
	cr_assert_eq(o.calls, 4);
	cr_assert_eq(o.errors, 3);
	/* -c shows no lines: the file holds the table only */
	cr_assert_eq(count_lines_with(table, "getppid()"), 0);
	cr_assert_eq(count_lines_with(table, "+++"), 0);
	free(table);
	run_free(&r);
}

/* The table's counts are those of the lines a full trace of the same program shows. */
Test(summary, counts_match_the_lines_of_a_full_trace)
{
	char out[128];
	snprintf(out, sizeof out, "%s/C.txt", dir);
	struct run r = counted("-C", out);
	char *both = slurp(out, NULL);
	static const char *const calls[] = {"getppid", "write", "close", "openat", "exit_group", "execve"};
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
		char start[32];
		snprintf(start, sizeof start, "\n%s(", calls[i]);
		size_t lines = 0;
		for (const char *p = both; (p = strstr(p, start)); p++)
			lines++;
		if (strncmp(both, start + 1, strlen(start + 1)) == 0)
			lines++; /* the very first line */
		struct row row = row_of(both, calls[i]);
		cr_assert(row.found, "%s not in the table", calls[i]);
		cr_assert_eq(row.calls, lines, "%s: %lu counted, %zu lines", calls[i], row.calls, lines);
	}
	/* the table comes after the trace, with strace's header */
	const char *header =
	    strstr(both, "% time     seconds  usecs/call     calls    errors syscall\n"
	                 "------ ----------- ----------- --------- --------- ----------------\n");
	cr_assert(header, "no header:\n%s", both);
	cr_assert(strstr(both, "+++ exited with 0 +++") < header);
	free(both);
	run_free(&r);
}

Test(summary, to_stderr_without_o)
{
	char *argv[] = {SCTRACE_BIN, "-c", "-e", "trace=getppid", SCTRACE_PROGRAMS "/counts", NULL};
	struct run r = run_in(dir, argv, NULL);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	struct row g = row_of(r.err, "getppid"), w = row_of(r.err, "write");
	cr_assert(g.found && g.calls == 1000, "%s", r.err);
	cr_assert_not(w.found, "write is not in the trace set:\n%s", r.err);
	cr_assert_eq(r.out_len, 0);
	run_free(&r);
}
