/* The summary table, laid out as strace lays out its own. */
#include "sctrace/summary.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sctrace/names.h"

static const struct sct_count *sort_counts;

/* Most time first; then most calls; then by number. */
static int by_time(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	const struct sct_count *cx = &sort_counts[x], *cy = &sort_counts[y];
	if (cx->ticks != cy->ticks)
		return cx->ticks < cy->ticks ? 1 : -1;
	if (cx->calls != cy->calls)
		return cx->calls < cy->calls ? 1 : -1;
	return (x > y) - (x < y);
}

static int digits(const char *fmt, double v)
{
	char buf[64];
	return snprintf(buf, sizeof buf, fmt, v);
}

static int udigits(uint64_t v)
{
	char buf[32];
	return snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
}

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

static void dashes(FILE *out, const int *w, int n)
{
	for (int i = 0; i < n; i++) {
		if (i)
			fputc(' ', out);
		for (int k = 0; k < w[i]; k++)
			fputc('-', out);
	}
	fputc('\n', out);
}

void sct_print_summary(FILE *out, const struct sct_count counts[SCT_NR_COUNT])
{
	long order[SCT_NR_COUNT];
	int n = 0;
	uint64_t total_ns = 0, total_calls = 0, total_errors = 0, max_avg_us = 0;
	int name_max = 0;
	for (long nr = 0; nr < SCT_NR_COUNT; nr++) {
		const struct sct_count *c = &counts[nr];
		if (!c->calls)
			continue;
		order[n++] = nr;
		total_ns += c->ticks;
		total_calls += c->calls;
		total_errors += c->errors;
		uint64_t avg = c->ticks / c->calls / 1000;
		if (avg > max_avg_us)
			max_avg_us = avg;
		const char *name = sct_syscall_name(nr);
		int len = name ? (int)strlen(name) : 12;
		name_max = max_int(name_max, len);
	}
	sort_counts = counts;
	qsort(order, (size_t)n, sizeof order[0], by_time);
	double total_s = (double)total_ns / 1e9;
	int w[6] = {6,
	            max_int(11, digits("%.6f", total_s)),
	            max_int(11, udigits(max_avg_us)),
	            max_int(9, udigits(total_calls)),
	            max_int(9, udigits(total_errors)),
	            max_int(16, name_max + 1)};
	fprintf(out, "%*s %*s %*s %*s %*s %s\n", w[0], "% time", w[1], "seconds", w[2], "usecs/call", w[3],
	        "calls", w[4], "errors", "syscall");
	dashes(out, w, 6);
	for (int i = 0; i < n; i++) {
		const struct sct_count *c = &counts[order[i]];
		double s = (double)c->ticks / 1e9;
		double pct = total_ns ? 100.0 * (double)c->ticks / (double)total_ns : 0.0;
		const char *name = sct_syscall_name(order[i]);
		char unknown[32];
		if (!name) {
			snprintf(unknown, sizeof unknown, "syscall_%#lx", (unsigned long)order[i]);
			name = unknown;
		}
		fprintf(out, "%*.2f %*.6f %*llu %*llu ", w[0], pct, w[1], s, w[2],
		        (unsigned long long)(c->ticks / c->calls / 1000), w[3], (unsigned long long)c->calls);
		if (c->errors)
			fprintf(out, "%*llu", w[4], (unsigned long long)c->errors);
		else
			fprintf(out, "%*s", w[4], "");
		fprintf(out, " %s\n", name);
	}
	dashes(out, w, 6);
	fprintf(out, "%*.2f %*.6f %*llu %*llu ", w[0], 100.0, w[1], total_s, w[2],
	        (unsigned long long)(total_calls ? total_ns / total_calls / 1000 : 0), w[3],
	        (unsigned long long)total_calls);
	if (total_errors)
		fprintf(out, "%*llu", w[4], (unsigned long long)total_errors);
	else
		fprintf(out, "%*s", w[4], "");
	fprintf(out, " total\n");
}
