/*
 * Timing: calibrated batches, warm-up, round-robin over the methods of one group, median/min/max.
 * Times come from clock_gettime(CLOCK_MONOTONIC) (vDSO, ~20 ns), read once per batch of >= ~1 ms,
 * so the clock adds well under 0.01 % to any figure.
 */
#ifndef BENCH_MEASURE_H
#define BENCH_MEASURE_H

#include <stdbool.h>
#include <stdint.h>

#define MEASURE_MAX_BATCHES 1000 /* cap of cfg->batches and cfg->slow_batches */

/* How long and how often to time. */
struct measure_cfg {
	uint64_t batch_ns; /* a batch runs at least this long: its iteration count is calibrated to it */
	int batches;       /* timed batches per method */
	int slow_batches;  /* timed batches when one operation alone takes a whole batch (64 MiB copies) */
	int warmup;        /* untimed batches per method after calibration */
};

/* Per-operation figures of one method. */
struct measure_stats {
	double median_ns;
	double min_ns;
	double max_ns;
	uint64_t iters;      /* operations per batch */
	int batches;         /* timed batches the figures come from */
	int preempted;       /* timed batches during which the thread was preempted */
	bool with_preempted; /* too few clean batches: the figures include the preempted ones */
};

/* One method to time. run(ctx, iters) performs the operation iters times. */
struct measure_item {
	void (*run)(void *ctx, uint64_t iters);
	void *ctx;
	void (*enter)(
	    void *ctx); /* before every batch, untimed (e.g. install this method's signal handler) */
	void (*leave)(void *ctx);   /* after every batch, untimed (restore what enter replaced) */
	struct measure_stats stats; /* result */
	/* Result, by round (every item runs at most one batch per round): ns per operation of the batch
	 * that counts in that round, NaN if none. measure_release frees it. */
	double *round_ns;
	int nrounds;
};

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t measure_now_ns(void);

/*
 * Times n items: calibrates each one's batch length, warms all up, then runs batch b of every item
 * before batch b+1 of any, so that a change in machine load (other processes on the 2 CPUs) hits all
 * methods of a group alike and their ratios stay meaningful; the items take their turns in a new
 * (pseudo-random, the same in every run) order each round, so that none always follows the same one. A batch
 * during which the thread was preempted (involuntary context switch) measured the other process too: it is
 * dropped and run again, up to 4 times as many batches in all; if fewer than half the batches come out clean,
 * the figures use every batch. Fills items[i].stats.
 */
void measure_items(const struct measure_cfg *cfg, struct measure_item *items, int n);

/*
 * Times n items whose one operation is long (a whole program run): one untimed run of each, then
 * runs timed runs of each, round-robin as above; every run counts (a run lasts long enough that
 * another task's time slices are part of what it costs). Fills items[i].stats with iters 1.
 */
void measure_runs(struct measure_item *items, int n, int runs);

/* Fewer rounds in common than this: measure_paired_ratio falls back to the ratio of the medians. */
#define MEASURE_MIN_PAIRS 3

/*
 * time(a) / time(b) for two items timed together: the median over the rounds in which both have a
 * batch that counts of a's time / b's time in that round. Batches of one round run within a few ms of
 * each other, so a slower phase of the machine (another task on the sibling hyperthread, a clock
 * change) that lasts longer than that cancels out of each quotient; the ratio of the two medians
 * would keep it whenever it hit the two methods in different shares of their batches. With fewer
 * than MEASURE_MIN_PAIRS such rounds: the ratio of the medians.
 */
double measure_paired_ratio(const struct measure_item *a, const struct measure_item *b);

/* Frees what measure_items or measure_runs allocated in items[0..n). */
void measure_release(struct measure_item *items, int n);

#endif
