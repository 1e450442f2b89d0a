/*
 * sctrace rows: a whole program traced, against its plain run and the real strace. One operation is
 * one run of the program (timed from spawn to exit, median of a few runs each, in turn).
 *
 *   sctrace/dd        dd if=/dev/zero of=/dev/null bs=64 count=N (N 100000, --quick 20000):
 *                     plain; sctrace_c (-c -f, the table to /dev/null: goal <= 2x plain);
 *                     sctrace_o (every line to a file: goal <= 5x plain)
 *   sctrace/dd_small  the same with N 3000 (--quick 1000), next to strace -c -f and strace -o FILE
 *                     (strace costs tens of us a call: N as large as above would take minutes)
 *   sctrace/fastpath  bench/programs/fastloop N: dd's calls at sites usertrap patches (dd's read is
 *                     not one: it stays on the signal path); plain, sctrace_c, sctrace_o
 *
 * A note says which share of dd's calls took usertrap's patched path (from libusertrap_preload.so's
 * counters).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "whole_run.h"

struct command {
	char *argv[12];
	const char *trace; /* the file a method writes its trace to (its line count is checked), or NULL */
	long min_lines;    /* lines the trace must have */
};

static void run_command(void *ctx, uint64_t iters)
{
	struct command *c = ctx;
	for (uint64_t i = 0; i < iters; i++)
		bench_spawn_wait(c->argv, NULL);
}

static const char *check_command(void *ctx)
{
	struct command *c = ctx;
	int status = bench_spawn_wait(c->argv, NULL);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return "the command failed";
	if (!c->trace)
		return NULL;
	FILE *f = fopen(c->trace, "r");
	if (!f)
		return "no trace file";
	long lines = 0;
	for (int ch; (ch = getc(f)) != EOF;)
		lines += ch == '\n';
	fclose(f);
	return lines >= c->min_lines ? NULL : "the trace has fewer lines than the program made calls";
}

static char trace_path[64];

/* The methods of one group: the program alone, under sctrace -c -f, under sctrace -o, and (with_strace)
 * under strace the same two ways. prog: the program and its arguments, NULL-terminated. */
static struct command cmds[3][5];

static void setup(struct command *c, const char *const pre[], char *const prog[], const char *trace,
                  long min_lines)
{
	int k = 0;
	for (int i = 0; pre && pre[i]; i++)
		c->argv[k++] = (char *)pre[i];
	for (int i = 0; prog[i]; i++)
		c->argv[k++] = prog[i];
	c->argv[k] = NULL;
	c->trace = trace;
	c->min_lines = min_lines;
}

static bool add_group(struct bench_session *s, int slot, const char *name, char *const prog[], long calls,
                      bool with_strace, bool goals)
{
	struct bench_group g;
	bench_group_init(&g, name, 0, "plain");
	g.runs = bench_is_quick(s) ? 3 : 5;
	const char *sct_c[] = {SCTRACE_BIN, "-c", "-f", "-o", "/dev/null", NULL};
	const char *sct_o[] = {SCTRACE_BIN, "-o", trace_path, NULL};
	const char *st_c[] = {"/usr/bin/strace", "-c", "-f", "-o", "/dev/null", NULL};
	const char *st_o[] = {"/usr/bin/strace", "-o", trace_path, NULL};
	struct command *c = cmds[slot];
	setup(&c[0], NULL, prog, NULL, 0);
	setup(&c[1], sct_c, prog, NULL, 0);
	setup(&c[2], sct_o, prog, trace_path, calls);
	bench_group_add_handled(&g, "plain", run_command, &c[0], NULL, NULL, check_command);
	struct bench_case *bc =
	    bench_group_add_handled(&g, "sctrace_c", run_command, &c[1], NULL, NULL, check_command);
	if (goals)
		bc->goal = (struct bench_goal){GOAL_AT_MOST, "plain", 2.0};
	bc = bench_group_add_handled(&g, "sctrace_o", run_command, &c[2], NULL, NULL, check_command);
	if (goals)
		bc->goal = (struct bench_goal){GOAL_AT_MOST, "plain", 5.0};
	if (with_strace && access("/usr/bin/strace", X_OK) == 0) {
		setup(&c[3], st_c, prog, NULL, 0);
		setup(&c[4], st_o, prog, trace_path, calls);
		bench_group_add_handled(&g, "strace_c", run_command, &c[3], NULL, NULL, check_command);
		bench_group_add_handled(&g, "strace_o", run_command, &c[4], NULL, NULL, check_command);
	} else if (with_strace) {
		bench_note(s, "%s: no /usr/bin/strace (scripts/bootstrap installs it): its rows are left out",
		           name);
	}
	if (!bench_group_selected(s, &g))
		return false; /* not selected, or only listed */
	bench_group_run(s, &g);
	return true;
}

/* The share of dd's calls that took usertrap's patched path, from the counting preload library. */
static void note_fast_path(struct bench_session *s, char *const dd[])
{
	char report[64], pre[300], rep[100];
	snprintf(report, sizeof report, "/var/tmp/sctrace-bench-%d.report", (int)getpid());
	snprintf(pre, sizeof pre, "LD_PRELOAD=%s", USERTRAP_PRELOAD);
	snprintf(rep, sizeof rep, "USERTRAP_REPORT=%s", report);
	char *env[] = {pre, rep, NULL};
	unlink(report);
	bench_spawn_wait(dd, env);
	FILE *f = fopen(report, "r");
	unsigned long long calls = 0, tramp = 0, sigsys = 0;
	if (f &&
	    fscanf(f, "usertrap pid=%*d calls=%llu trampoline=%llu sigsys=%llu", &calls, &tramp, &sigsys) ==
	        3 &&
	    calls)
		bench_note(s,
		           "sctrace/dd: %.1f%% of dd's %llu calls took usertrap's patched path, %.1f%% its "
		           "signal path; sctrace/fastpath shows the tracer with every call patched",
		           100.0 * (double)tramp / (double)calls, calls,
		           100.0 * (double)sigsys / (double)calls);
	if (f)
		fclose(f);
	unlink(report);
}

static void run(struct bench_session *s)
{
	snprintf(trace_path, sizeof trace_path, "/var/tmp/sctrace-bench-%d.trace", (int)getpid());
	bool quick = bench_is_quick(s);
	static char count[32], small[32], loops[32];
	snprintf(count, sizeof count, "count=%d", quick ? 20000 : 100000);
	snprintf(small, sizeof small, "count=%d", quick ? 1000 : 3000);
	snprintf(loops, sizeof loops, "%d", quick ? 20000 : 100000);
	static char *dd[] = {"/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=64", count, NULL};
	static char *dd_small[] = {"/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=64", small, NULL};
	static char *fast[] = {FASTLOOP_BIN, loops, NULL};
	long n = quick ? 20000 : 100000, m = quick ? 1000 : 3000;
	bool dd_measured = add_group(s, 0, "sctrace/dd", dd, 2 * n, false, true);
	add_group(s, 1, "sctrace/dd_small", dd_small, 2 * m, true, false);
	add_group(s, 2, "sctrace/fastpath", fast, 2 * n, false, false);
	if (dd_measured)
		note_fast_path(s, dd);
	unlink(trace_path);
}

const struct bench_suite sctrace_suite = {"sctrace", run};
