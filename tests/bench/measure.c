/*
 * The bench's timing engine (bench/measure.c), without the harness around it: the methods of a group
 * take their turns in a changing order, every round's batch is kept by round, and a ratio comes from
 * the rounds both methods ran in. Nothing here asserts a time: the fake methods spin for a fixed time
 * per operation and the tests look only at what ran when and how the figures are put together.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "measure.h"

#define NITEMS 3

/* The item of every run() call, in order (calibration, warm-up and timed batches alike). */
static int ran[1 << 16];
static int nran;

static void spin_run(void *ctx, uint64_t iters)
{
	if (nran < (int)(sizeof ran / sizeof ran[0]))
		ran[nran++] = (int)(intptr_t)ctx;
	uint64_t end = measure_now_ns() + iters * 50;
	while (measure_now_ns() < end)
		;
}

static const struct measure_cfg cfg = {.batch_ns = 20000, .batches = 9, .slow_batches = 3, .warmup = 1};

static void measure_three(struct measure_item *items)
{
	for (int i = 0; i < NITEMS; i++)
		items[i] = (struct measure_item){.run = spin_run, .ctx = (void *)(intptr_t)i};
	nran = 0;
	measure_items(&cfg, items, NITEMS);
}

/* In a fixed order, item 1 would always follow item 0 (and inherit the state it leaves behind). */
Test(measure, the_methods_take_turns_in_a_changing_order)
{
	struct measure_item items[NITEMS];
	measure_three(items);
	int after[NITEMS] = {0}; /* how often item 1's batch came right after item i's */
	for (int k = 1; k < nran; k++)
		if (ran[k] == 1 && ran[k - 1] != 1)
			after[ran[k - 1]]++;
	cr_assert_gt(after[0], 0);
	cr_assert_gt(after[2], 0, "item 1 never came right after item 2 (%d times after item 0)", after[0]);
	measure_release(items, NITEMS);
}

/* Each item's batches that count are kept by round: exactly as many as its median comes from. */
Test(measure, every_batch_that_counts_is_kept_by_round)
{
	struct measure_item items[NITEMS];
	measure_three(items);
	for (int i = 0; i < NITEMS; i++) {
		cr_assert_not_null(items[i].round_ns);
		cr_assert_geq(items[i].nrounds, cfg.batches);
		int kept = 0;
		double lo = INFINITY, hi = 0;
		for (int r = 0; r < items[i].nrounds; r++) {
			if (isnan(items[i].round_ns[r]))
				continue;
			kept++;
			lo = fmin(lo, items[i].round_ns[r]);
			hi = fmax(hi, items[i].round_ns[r]);
		}
		cr_assert_eq(kept, items[i].stats.batches, "item %d: %d rounds kept, %d batches", i, kept,
		             items[i].stats.batches);
		cr_assert_eq(lo, items[i].stats.min_ns);
		cr_assert_eq(hi, items[i].stats.max_ns);
	}
	measure_release(items, NITEMS);
	cr_assert_null(items[0].round_ns);
	cr_assert_eq(items[0].nrounds, 0);
}

/* Whole program runs: every run is a round of its own. */
Test(measure, every_run_is_a_round)
{
	struct measure_item items[2];
	for (int i = 0; i < 2; i++)
		items[i] = (struct measure_item){.run = spin_run, .ctx = (void *)(intptr_t)i};
	measure_runs(items, 2, 5);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(items[i].nrounds, 5);
		for (int r = 0; r < 5; r++)
			cr_assert(!isnan(items[i].round_ns[r]) && items[i].round_ns[r] > 0);
	}
	measure_release(items, 2);
}

static double rounds_a[] = {1, 2, NAN, 8, 3, 100};
static double rounds_b[] = {2, 4, 5, NAN, 6};

/* The median of the per-round quotients, over the rounds both ran in; not the ratio of the medians. */
Test(measure, a_ratio_comes_from_the_rounds_both_ran_in)
{
	struct measure_item a = {.round_ns = rounds_a, .nrounds = 6, .stats = {.median_ns = 10}};
	struct measure_item b = {.round_ns = rounds_b, .nrounds = 5, .stats = {.median_ns = 1}};
	cr_assert_eq(measure_paired_ratio(&a, &b), 0.5); /* rounds 0, 1, 4: 1/2, 2/4, 3/6 */
	cr_assert_eq(measure_paired_ratio(&b, &a), 2.0);
	cr_assert_eq(measure_paired_ratio(&a, &a), 1.0);
}

/* Fewer rounds in common than MEASURE_MIN_PAIRS: the ratio of the medians. */
Test(measure, too_few_common_rounds_give_the_ratio_of_the_medians)
{
	struct measure_item a = {.round_ns = rounds_a, .nrounds = 6, .stats = {.median_ns = 10}};
	struct measure_item b = {.round_ns = rounds_b, .nrounds = 2, .stats = {.median_ns = 4}};
	cr_assert_gt(MEASURE_MIN_PAIRS, 2); /* rounds 0 and 1 only */
	cr_assert_eq(measure_paired_ratio(&a, &b), 2.5);
}
