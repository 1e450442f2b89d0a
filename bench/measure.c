/* Timing engine; see measure.h. */
#include <math.h>
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

/* Per item: the clean samples first, the preempted ones from the end of the same array; and the
 * preempted ones by round (the clean ones go to the item's round_ns). */
struct item_state {
	double *samples;
	double *dirty_round_ns;
	int want, limit, clean, dirty;
};

/* n rounds, none measured yet (NaN). */
static double *new_rounds(int n)
{
	double *r = malloc((size_t)n * sizeof *r);
	if (!r)
		abort();
	for (int i = 0; i < n; i++)
		r[i] = NAN;
	return r;
}

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
		items[i].round_ns = new_rounds(runs);
		items[i].nrounds = runs;
		memcpy(items[i].round_ns, samples + i * runs, (size_t)runs * sizeof(double));
		items[i].stats = (struct measure_stats){.iters = 1};
		summarize(samples + i * runs, runs, &items[i].stats);
	}
	free(samples);
}

/*
 * Puts order[0..n) in a new random order (Fisher-Yates; xorshift64 with *state as the seed, so every
 * run of the harness takes the same turns). In a fixed order every method always follows the same
 * other method and inherits what that one leaves behind for the first part of its batch (seen: glibc's
 * strnlen timed right after safecopy's AVX-512 strnlen came out 4-16% slower than the same function
 * timed again right after itself, at 16-256 bytes); in a new order each round every method follows
 * every other alike.
 */
static void shuffle(int *order, int n, uint64_t *state)
{
	for (int i = n - 1; i > 0; i--) {
		*state ^= *state << 13;
		*state ^= *state >> 7;
		*state ^= *state << 17;
		int j = (int)(*state % (uint64_t)(i + 1));
		int t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
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
	int *order = malloc((size_t)n * sizeof *order);
	if (!order)
		abort();
	/* No item runs more than its limit of batches, one per round. */
	int max_rounds = 0;
	for (int i = 0; i < n; i++) {
		order[i] = i;
		max_rounds = st[i].limit > max_rounds ? st[i].limit : max_rounds;
	}
	for (int i = 0; i < n; i++) {
		items[i].round_ns = new_rounds(max_rounds);
		items[i].nrounds = max_rounds;
		st[i].dirty_round_ns = new_rounds(max_rounds);
	}
	uint64_t seed = UINT64_C(0x9e3779b97f4a7c15);
	bool preempted;
	for (int w = 0; w < cfg->warmup; w++)
		for (int i = 0; i < n; i++)
			(void)time_batch(&items[i], items[i].stats.iters, &preempted);
	for (int round = 0; round < max_rounds; round++) {
		bool more = false;
		shuffle(order, n, &seed);
		for (int k = 0; k < n; k++) {
			int i = order[k];
			struct item_state *s = &st[i];
			if (s->clean >= s->want || s->clean + s->dirty >= s->limit)
				continue;
			double v = (double)time_batch(&items[i], items[i].stats.iters, &preempted) /
			           (double)items[i].stats.iters;
			if (preempted)
				s->samples[s->limit - ++s->dirty] = s->dirty_round_ns[round] = v;
			else
				s->samples[s->clean++] = items[i].round_ns[round] = v;
			more = true;
		}
		if (!more)
			break;
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
			for (int r = 0; r < max_rounds; r++)
				if (isnan(items[i].round_ns[r]))
					items[i].round_ns[r] = s->dirty_round_ns[r];
		}
		free(s->samples);
		free(s->dirty_round_ns);
	}
	free(order);
	free(st);
}

double measure_paired_ratio(const struct measure_item *a, const struct measure_item *b)
{
	int n = a->nrounds < b->nrounds ? a->nrounds : b->nrounds;
	double *q = malloc((size_t)(n > 0 ? n : 1) * sizeof *q);
	if (!q)
		abort();
	int k = 0;
	for (int r = 0; r < n; r++)
		if (!isnan(a->round_ns[r]) && !isnan(b->round_ns[r]) && b->round_ns[r] > 0)
			q[k++] = a->round_ns[r] / b->round_ns[r];
	struct measure_stats st;
	double ratio = a->stats.median_ns / b->stats.median_ns;
	if (k >= MEASURE_MIN_PAIRS) {
		summarize(q, k, &st);
		ratio = st.median_ns;
	}
	free(q);
	return ratio;
}

void measure_release(struct measure_item *items, int n)
{
	for (int i = 0; i < n; i++) {
		free(items[i].round_ns);
		items[i].round_ns = NULL;
		items[i].nrounds = 0;
	}
}
