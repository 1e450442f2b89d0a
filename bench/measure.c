/* Timing engine; see measure.h. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "measure.h"

uint64_t measure_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Involuntary context switches of this thread so far: another task took the CPU. */
static long preemptions(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_THREAD, &ru) != 0)
		return 0;
	return ru.ru_nivcsw;
}

/*
 * One batch, in ns; *preempted tells whether another task ran in between. enter/leave (sigaction
 * calls) stay outside the timed span, and so does a short untimed run of the same operation first
 * (1/8 of the batch, at least one operation): the methods take turns, and without it a method would
 * pay for the state the previous one left behind (at 64 MiB, one operation per batch, the other
 * method's dirty cache lines were written back inside the timed span, and ratios swung from 0.8x to
 * 1.5x between runs).
 */
static uint64_t time_batch(struct measure_item *it, uint64_t iters, bool *preempted)
{
	if (it->enter)
		it->enter(it->ctx);
	it->run(it->ctx, iters / 8 ? iters / 8 : 1);
	long cs = preemptions();
	uint64_t t0 = measure_now_ns();
	it->run(it->ctx, iters);
	uint64_t t1 = measure_now_ns();
	*preempted = preemptions() != cs;
	if (it->leave)
		it->leave(it->ctx);
	return t1 - t0;
}

/* Grows the iteration count until one batch lasts cfg->batch_ns; this also warms caches and TLBs. */
static uint64_t calibrate(const struct measure_cfg *cfg, struct measure_item *it)
{
	uint64_t iters = 1;
	for (;;) {
		bool preempted;
		uint64_t t = time_batch(it, iters, &preempted);
		if (t >= cfg->batch_ns || iters >= (UINT64_C(1) << 40)) {
			if (!preempted || iters == 1)
				return iters;
			/* A preempted batch may have looked long enough only because of the other task. */
			iters = iters / 2 ? iters / 2 : 1;
			continue;
		}
		double f;
		if (t < 2000) {
			f = 16; /* too short to extrapolate from: clock overhead and cold caches dominate */
		} else {
			f = (double)cfg->batch_ns / (double)t * 1.1;
			if (f > 64)
				f = 64;
			if (f < 1.25)
				f = 1.25;
		}
		iters = (uint64_t)((double)iters * f) + 1;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void summarize(double *samples, int n, struct measure_stats *st)
{
	qsort(samples, (size_t)n, sizeof *samples, cmp_double);
	st->min_ns = samples[0];
	st->max_ns = samples[n - 1];
	st->median_ns = (n & 1) ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
	st->batches = n;
}

/* Per item: the clean samples first, the preempted ones from the end of the same array. */
struct item_state {
	double *samples;
	int want, limit, clean, dirty;
};

void measure_runs(struct measure_item *items, int n, int runs)
{
	double *samples = calloc((size_t)(n * runs), sizeof *samples);
	if (!samples)
		abort();
	for (int i = 0; i < n; i++) {
		if (items[i].enter)
			items[i].enter(items[i].ctx);
		items[i].run(items[i].ctx, 1);
		if (items[i].leave)
			items[i].leave(items[i].ctx);
	}
	for (int r = 0; r < runs; r++)
		for (int i = 0; i < n; i++) {
			if (items[i].enter)
				items[i].enter(items[i].ctx);
			uint64_t t0 = measure_now_ns();
			items[i].run(items[i].ctx, 1);
			samples[i * runs + r] = (double)(measure_now_ns() - t0);
			if (items[i].leave)
				items[i].leave(items[i].ctx);
		}
	for (int i = 0; i < n; i++) {
		items[i].stats = (struct measure_stats){.iters = 1};
		summarize(samples + i * runs, runs, &items[i].stats);
	}
	free(samples);
}

void measure_items(const struct measure_cfg *cfg, struct measure_item *items, int n)
{
	struct item_state *st = calloc((size_t)n, sizeof *st);
	if (!st)
		abort();
	for (int i = 0; i < n; i++) {
		items[i].stats.iters = calibrate(cfg, &items[i]);
		/* iters == 1: a single operation already fills a batch (64 MiB): fewer, longer batches. */
		int want = items[i].stats.iters == 1 ? cfg->slow_batches : cfg->batches;
		st[i].want = want < 1 ? 1 : want > MEASURE_MAX_BATCHES ? MEASURE_MAX_BATCHES : want;
		st[i].limit = 4 * st[i].want;
		st[i].samples = malloc((size_t)st[i].limit * sizeof(double));
		if (!st[i].samples)
			abort();
	}
	bool preempted;
	for (int w = 0; w < cfg->warmup; w++)
		for (int i = 0; i < n; i++)
			(void)time_batch(&items[i], items[i].stats.iters, &preempted);
	for (bool more = true; more;) {
		more = false;
		for (int i = 0; i < n; i++) {
			struct item_state *s = &st[i];
			if (s->clean >= s->want || s->clean + s->dirty >= s->limit)
				continue;
			double v = (double)time_batch(&items[i], items[i].stats.iters, &preempted) /
			           (double)items[i].stats.iters;
			if (preempted)
				s->samples[s->limit - ++s->dirty] = v;
			else
				s->samples[s->clean++] = v;
			more = true;
		}
	}
	for (int i = 0; i < n; i++) {
		struct item_state *s = &st[i];
		items[i].stats.preempted = s->dirty;
		items[i].stats.with_preempted = s->clean * 2 < s->want;
		if (!items[i].stats.with_preempted) {
			summarize(s->samples, s->clean, &items[i].stats);
		} else {
			/* Hardly a clean batch (a very busy machine): better all of them than a handful. */
			memmove(s->samples + s->clean, s->samples + s->limit - s->dirty,
			        (size_t)s->dirty * sizeof(double));
			summarize(s->samples, s->clean + s->dirty, &items[i].stats);
		}
		free(s->samples);
	}
	free(st);
}
