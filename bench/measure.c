/* Timing engine; see measure.h. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "measure.h"

uint64_t measure_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * One batch, in ns. enter/leave (sigaction calls) stay outside the timed span, and so does a short
 * untimed run of the same operation first (1/8 of the batch, at least one operation): the methods
 * take turns, and without it a method would pay for the state the previous one left behind (at
 * 64 MiB, one operation per batch, the other method's dirty cache lines were written back inside
 * the timed span, and ratios swung from 0.8x to 1.5x between runs).
 */
static uint64_t time_batch(struct measure_item *it, uint64_t iters)
{
	if (it->enter)
		it->enter(it->ctx);
	it->run(it->ctx, iters / 8 ? iters / 8 : 1);
	uint64_t t0 = measure_now_ns();
	it->run(it->ctx, iters);
	uint64_t t1 = measure_now_ns();
	if (it->leave)
		it->leave(it->ctx);
	return t1 - t0;
}

/* Grows the iteration count until one batch lasts cfg->batch_ns; this also warms caches and TLBs. */
static uint64_t calibrate(const struct measure_cfg *cfg, struct measure_item *it)
{
	uint64_t iters = 1;
	for (;;) {
		uint64_t t = time_batch(it, iters);
		if (t >= cfg->batch_ns || iters >= (UINT64_C(1) << 40))
			return iters;
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

void measure_items(const struct measure_cfg *cfg, struct measure_item *items, int n)
{
	double(*samples)[MEASURE_MAX_BATCHES] = calloc((size_t)n, sizeof *samples);
	int *nb = calloc((size_t)n, sizeof *nb);
	if (!samples || !nb)
		abort();
	int most = 0;
	for (int i = 0; i < n; i++) {
		items[i].stats.iters = calibrate(cfg, &items[i]);
		/* iters == 1: a single operation already fills a batch (64 MiB): fewer, longer batches. */
		nb[i] = items[i].stats.iters == 1 ? cfg->slow_batches : cfg->batches;
		if (nb[i] > MEASURE_MAX_BATCHES)
			nb[i] = MEASURE_MAX_BATCHES;
		if (nb[i] > most)
			most = nb[i];
	}
	for (int w = 0; w < cfg->warmup; w++)
		for (int i = 0; i < n; i++)
			(void)time_batch(&items[i], items[i].stats.iters);
	for (int b = 0; b < most; b++)
		for (int i = 0; i < n; i++)
			if (b < nb[i])
				samples[i][b] = (double)time_batch(&items[i], items[i].stats.iters) /
						(double)items[i].stats.iters;
	for (int i = 0; i < n; i++)
		summarize(samples[i], nb[i], &items[i].stats);
	free(samples);
	free(nb);
}
