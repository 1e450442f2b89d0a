/* Table, JSON and CSV writers; see output.h. */
#include <errno.h>
#include <string.h>

#include "output.h"

#define NAME_W 32

/* A time with a unit a human reads at a glance: 2.41 ns, 310 ns, 1.02 us, 6.01 ms. */
static void fmt_time(char *buf, size_t n, double ns)
{
	if (ns < 9.995)
		snprintf(buf, n, "%.2f ns", ns);
	else if (ns < 999.5)
		snprintf(buf, n, "%.1f ns", ns);
	else if (ns < 999.5e3)
		snprintf(buf, n, "%.2f us", ns / 1e3);
	else if (ns < 999.5e6)
		snprintf(buf, n, "%.2f ms", ns / 1e6);
	else
		snprintf(buf, n, "%.2f s", ns / 1e9);
}

static void fmt_ratio(char *buf, size_t n, double v)
{
	if (v < 9.995)
		snprintf(buf, n, "%.2fx", v);
	else if (v < 99.95)
		snprintf(buf, n, "%.1fx", v);
	else
		snprintf(buf, n, "%.0fx", v);
}

static const char *goal_word(enum goal_state g)
{
	switch (g) {
	case GOAL_STATE_MET:
		return "yes";
	case GOAL_STATE_MISSED:
		return "NO";
	case GOAL_STATE_NA:
		return "n/a";
	case GOAL_STATE_NONE:
		break;
	}
	return "";
}

/* prefix, then text wrapped at word boundaries to 100 columns, continuation lines indented. */
static void print_wrapped(FILE *f, const char *prefix, const char *text)
{
	const int width = 100, indent = (int)strlen(prefix);
	int col = fprintf(f, "%s", prefix);
	while (*text) {
		size_t word = strcspn(text, " ");
		if (col > indent && col + 1 + (int)word > width) {
			col = fprintf(f, "\n%*s", indent, "") - 1;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		col += fprintf(f, "%.*s", (int)word, text);
		text += word;
		while (*text == ' ')
			text++;
	}
	fputc('\n', f);
}

void output_info(FILE *f, const struct bench_session *s)
{
	const struct bench_info *i = &s->info;
	fprintf(f, "safecopy bench, %s\n", i->date);
	fprintf(f, "cpu:       %s (%d online CPUs)\n", i->cpu, i->ncpu);
	fprintf(f, "kernel:    %s\n", i->kernel);
	fprintf(f, "glibc:     %s (memcpy: %s, memset: %s)\n", i->glibc, i->glibc_memcpy, i->glibc_memset);
	fprintf(f, "compiler:  %s\n", i->compiler);
	fprintf(f, "vector:    %s\n", i->vector);
	if (s->fallback.level[0])
		fprintf(f,
		        "fallback:  %s (after the table, the copy and memset groups again at %s against glibc"
		        " capped alike)\n",
		        s->fallback.level, s->fallback.level);
	else
		fprintf(f, "fallback:  none (%s)\n", s->fallback.none_why);
	fprintf(f, "load avg:  %s (1, 5, 15 min, at start)\n", i->load_start);
	char method[600];
	snprintf(method, sizeof method,
	         "every figure from this run. Per row: batches calibrated to >= %.2g ms, %d warm-up "
	         "batch(es), then"
	         " the median (min, max) of %d timed batches (%d when one operation fills a batch); the "
	         "methods of a"
	         " group take turns batch by batch (in a new order each round), and a batch during which"
	         " another task took the CPU is "
	         "run again. ratio (and a goal's ratio) = the median over the rounds of the row's time / the"
	         " base row's (goal reference's) time in the same round. GB/s = 1e9 bytes"
	         " copied or set per second.%s",
	         (double)s->cfg.batch_ns / 1e6, s->cfg.warmup, s->cfg.batches, s->cfg.slow_batches,
	         s->quick ? " --quick: fewer batches, expect more noise." : "");
	print_wrapped(f, "method:    ", method);
	fprintf(f, "\n");
}

void output_table_head(FILE *f)
{
	fprintf(f, "%-*s %10s %10s %10s %8s %7s  %s\n", NAME_W, "row", "time/op", "min", "max", "GB/s",
	        "ratio", "goal");
}

void output_fallback_head(FILE *f, const struct bench_fallback *part)
{
	char text[400];
	snprintf(text, sizeof text,
	         "%s, the level below the table's: the copy and memset groups again; their base rows"
	         " run %s and %s",
	         part->vector, part->glibc_memcpy, part->glibc_memset);
	print_wrapped(f, "fallback:  ", text);
	output_table_head(f);
	fflush(f);
}

void output_table_row(FILE *f, const struct bench_row *r)
{
	char med[24], lo[24], hi[24], gb[24], ra[24];
	fmt_time(med, sizeof med, r->st.median_ns);
	fmt_time(lo, sizeof lo, r->st.min_ns);
	fmt_time(hi, sizeof hi, r->st.max_ns);
	if (r->bytes)
		snprintf(gb, sizeof gb, r->gbps < 0.1 ? "%.4f" : "%.2f", r->gbps);
	else
		snprintf(gb, sizeof gb, "-");
	if (r->is_base)
		snprintf(ra, sizeof ra, "base");
	else if (r->ratio > 0)
		fmt_ratio(ra, sizeof ra, r->ratio);
	else
		snprintf(ra, sizeof ra, "-");
	fprintf(f, "%-*s %10s %10s %10s %8s %7s", NAME_W, r->name, med, lo, hi, gb, ra);
	if (r->goal_state != GOAL_STATE_NONE)
		fprintf(f, "  %-3s %s", goal_word(r->goal_state), r->goal_text);
	fputc('\n', f);
}

void output_summary(FILE *f, const struct bench_session *s)
{
	int met = 0, missed = 0, na = 0;
	for (int i = 0; i < s->nrows; i++) {
		met += s->rows[i].goal_state == GOAL_STATE_MET;
		missed += s->rows[i].goal_state == GOAL_STATE_MISSED;
		na += s->rows[i].goal_state == GOAL_STATE_NA;
	}
	for (int i = 0; i < s->nnotes; i++)
		print_wrapped(f, "note:      ", s->notes[i]);
	long timed = 0, preempted = 0;
	char dirty[2000] = "";
	size_t dl = 0;
	for (int i = 0; i < s->nrows; i++) {
		const struct bench_row *r = &s->rows[i];
		preempted += r->st.preempted;
		timed += r->st.preempted + (r->st.with_preempted ? 0 : r->st.batches);
		if (r->st.with_preempted && dl < sizeof dirty)
			dl +=
			    (size_t)snprintf(dirty + dl, sizeof dirty - dl, "%s%s", dl ? ", " : "", r->name);
	}
	if (timed) {
		char line[200];
		snprintf(line, sizeof line,
		         "%ld of %ld timed batches (%.1f%%) were preempted by other tasks and run again",
		         preempted, timed, 100.0 * (double)preempted / (double)timed);
		print_wrapped(f, "preempted: ", line);
	}
	if (dl) {
		char line[2200];
		snprintf(line, sizeof line,
		         "too few clean batches, so these figures include preempted ones: %s", dirty);
		print_wrapped(f, "noisy:     ", line);
	}
	fprintf(f, "load avg:  %s at start, %s at end\n", s->info.load_start, s->info.load_end);
	fprintf(f, "goals:     %d met, %d missed", met, missed);
	if (na)
		fprintf(f, " (%d not measured)", na);
	if (s->fallback.ran) {
		int part_met = 0, part_missed = 0;
		for (int i = s->fallback.first_row; i < s->nrows; i++) {
			part_met += s->rows[i].goal_state == GOAL_STATE_MET;
			part_missed += s->rows[i].goal_state == GOAL_STATE_MISSED;
		}
		fprintf(f, "; of them at the fallback level %s: %d met, %d missed", s->fallback.level,
		        part_met, part_missed);
	}
	fprintf(f, "%s\n", missed ? ":" : "");
	for (int i = 0; i < s->nrows; i++)
		if (s->rows[i].goal_state == GOAL_STATE_MISSED)
			fprintf(f, "           %s: %s\n", s->rows[i].name, s->rows[i].goal_text);
	if (s->failures)
		fprintf(
		    f,
		    "checks:    %d FAILED (see CHECK FAILED lines): the figures of those rows are missing\n",
		    s->failures);
}

static void json_str(FILE *f, const char *str)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* Writes `lead` (punctuation and the key, e.g. `, "cpu": `) and then the string value, quoted. */
static void json_field(FILE *f, const char *lead, const char *value)
{
	fputs(lead, f);
	json_str(f, value);
}

static const char *goal_kind_name(enum bench_goal_kind k)
{
	switch (k) {
	case GOAL_AT_MOST:
		return "time_at_most";
	case GOAL_REF_FASTER:
		return "ref_faster_by_at_least";
	case GOAL_THROUGHPUT:
		return "throughput_at_least";
	case GOAL_NONE:
		break;
	}
	return "none";
}

static int finish(FILE *f)
{
	int bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}

/*
 * The fallback part: {"level": "avx2", "vector": ..., "glibc_memcpy": ..., "glibc_memset": ...,
 * "groups": ["copy@avx2", "memset@avx2"], "goals_met": N, "goals_missed": M, "seconds": S}, its rows among
 * "rows"; or {"level": null, "why": ...} when the run has none; "measured": false when --filter
 * selected none of its rows or it failed.
 */
static void json_fallback(FILE *f, const struct bench_session *s)
{
	const struct bench_fallback *p = &s->fallback;
	if (!p->level[0]) {
		json_field(f, "{\"level\": null, \"why\": ", p->none_why);
		fprintf(f, "}");
		return;
	}
	json_field(f, "{\"level\": ", p->level);
	fprintf(f, ", \"measured\": %s", p->ran ? "true" : "false");
	if (p->ran) {
		int met = 0, missed = 0;
		for (int i = p->first_row; i < s->nrows; i++) {
			met += s->rows[i].goal_state == GOAL_STATE_MET;
			missed += s->rows[i].goal_state == GOAL_STATE_MISSED;
		}
		json_field(f, ", \"vector\": ", p->vector);
		json_field(f, ", \"glibc_memcpy\": ", p->glibc_memcpy);
		json_field(f, ", \"glibc_memset\": ", p->glibc_memset);
		fprintf(f,
		        ", \"groups\": [\"copy@%s\", \"memset@%s\"], \"goals_met\": %d, \"goals_missed\": %d,"
		        " \"seconds\": %.2f",
		        p->level, p->level, met, missed, p->seconds);
	}
	fprintf(f, "}");
}

int output_json(const char *path, const struct bench_session *s)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	const struct bench_info *i = &s->info;
	json_field(f, "{\n  \"date\": ", i->date);
	json_field(f, ",\n  \"cpu\": ", i->cpu);
	fprintf(f, ",\n  \"ncpu\": %d", i->ncpu);
	json_field(f, ",\n  \"kernel\": ", i->kernel);
	json_field(f, ",\n  \"glibc\": ", i->glibc);
	json_field(f, ",\n  \"glibc_memcpy\": ", i->glibc_memcpy);
	json_field(f, ",\n  \"glibc_memset\": ", i->glibc_memset);
	json_field(f, ",\n  \"compiler\": ", i->compiler);
	json_field(f, ",\n  \"vector\": ", i->vector);
	json_field(f, ",\n  \"load_start\": ", i->load_start);
	json_field(f, ",\n  \"load_end\": ", i->load_end);
	fprintf(f, ",\n  \"others_cpus\": %.3f,\n  \"steal_cpus\": %.3f,\n  \"seconds\": %.2f",
	        i->others_cpus, i->steal_cpus, i->seconds);
	fprintf(f, ",\n  \"quick\": %s,\n  \"batch_ns\": %llu,\n  \"check_failures\": %d,\n  \"notes\": [",
	        s->quick ? "true" : "false", (unsigned long long)s->cfg.batch_ns, s->failures);
	for (int k = 0; k < s->nnotes; k++) {
		fprintf(f, k ? ", " : "");
		json_str(f, s->notes[k]);
	}
	fprintf(f, "],\n  \"fallback\": ");
	json_fallback(f, s);
	fprintf(f, ",\n  \"rows\": [\n");
	for (int k = 0; k < s->nrows; k++) {
		const struct bench_row *r = &s->rows[k];
		json_field(f, "    {\"name\": ", r->name);
		json_field(f, ", \"group\": ", r->group);
		json_field(f, ", \"method\": ", r->method);
		json_field(f, ", \"base\": ", r->base);
		fprintf(f,
		        ", \"bytes\": %zu, \"median_ns\": %.4f, \"min_ns\": %.4f, \"max_ns\": %.4f, "
		        "\"gbps\": %.4f, \"ratio\": %.4f, \"iters_per_batch\": %llu, \"batches\": %d, "
		        "\"preempted_batches\": %d, \"includes_preempted\": %s",
		        r->bytes, r->st.median_ns, r->st.min_ns, r->st.max_ns, r->gbps, r->ratio,
		        (unsigned long long)r->st.iters, r->st.batches, r->st.preempted,
		        r->st.with_preempted ? "true" : "false");
		if (r->goal_state != GOAL_STATE_NONE) {
			fprintf(f, ", \"goal\": {\"kind\": \"%s\", \"ref\": ", goal_kind_name(r->goal.kind));
			json_str(f, r->goal.ref);
			fprintf(f, ", \"limit\": %g, \"value\": %.4f, \"met\": %s, \"text\": ", r->goal.limit,
			        r->goal_value,
			        r->goal_state == GOAL_STATE_MET      ? "true"
			        : r->goal_state == GOAL_STATE_MISSED ? "false"
			                                             : "null");
			json_str(f, r->goal_text);
			fprintf(f, "}");
		}
		fprintf(f, "}%s\n", k + 1 < s->nrows ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	return finish(f);
}

int output_csv(const char *path, const struct bench_session *s)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "name,group,method,base,bytes,median_ns,min_ns,max_ns,gbps,ratio,iters_per_batch,batches,"
	           "goal_kind,goal_ref,goal_limit,goal_value,goal_met\n");
	for (int k = 0; k < s->nrows; k++) {
		const struct bench_row *r = &s->rows[k];
		fprintf(f, "%s,%s,%s,%s,%zu,%.4f,%.4f,%.4f,%.4f,%.4f,%llu,%d,", r->name, r->group, r->method,
		        r->base, r->bytes, r->st.median_ns, r->st.min_ns, r->st.max_ns, r->gbps, r->ratio,
		        (unsigned long long)r->st.iters, r->st.batches);
		if (r->goal_state == GOAL_STATE_NONE)
			fprintf(f, ",,,,\n");
		else
			fprintf(f, "%s,%s,%g,%.4f,%s\n", goal_kind_name(r->goal.kind), r->goal.ref,
			        r->goal.limit, r->goal_value,
			        r->goal_state == GOAL_STATE_MET      ? "yes"
			        : r->goal_state == GOAL_STATE_MISSED ? "no"
			                                             : "n/a");
	}
	return finish(f);
}
