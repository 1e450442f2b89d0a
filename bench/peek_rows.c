/*
 * Peek rows, the profiler's frame-pointer walk: each operation loads the next link of a ring of
 * pointers (dependent loads, all in L1). safecopy_peekptr (the header's inline peek) against a
 * non-inlined function doing the load, the goal's reference, and against sigsetjmp + the load. A second
 * group loads the same cell again and again (independent loads): the throughput of the fast path.
 */
#include <string.h>

#include "baselines.h"
#include "bench.h"
#include "safecopy.h"

#define RING 64

/* Ring links 8 bytes apart in 64-byte lines: every link its own line, like stack frames. */
static void *ring[RING * 8] __attribute__((aligned(64)));

static const void *walk_end; /* where the latest run ended: the checks look at it */

static void run_safecopy_chain(void *ctx, uint64_t iters)
{
	const void *fp = ctx;
	for (uint64_t i = 0; i < iters; i++)
		fp = safecopy_peekptr(fp, NULL);
	walk_end = fp;
}

/*
 * NOINLINE_RUNNERS(S): the base method's runners (a call of a function doing the load) and that
 * function, named with suffix S: made twice, the second copy (_twin) for the A/A control (--aa).
 */
#define NOINLINE_RUNNERS(S)                                            \
	void *bench_nl##S##_peekptr(void *const *p);                   \
	BENCH_NOINLINE void *bench_nl##S##_peekptr(void *const *p)     \
	{                                                              \
		return *p;                                             \
	}                                                              \
	static void run_noinline##S##_chain(void *ctx, uint64_t iters) \
	{                                                              \
		void *fp = ctx;                                        \
		for (uint64_t i = 0; i < iters; i++)                   \
			fp = bench_nl##S##_peekptr(fp);                \
		walk_end = fp;                                         \
	}                                                              \
	static void run_noinline##S##_same(void *ctx, uint64_t iters)  \
	{                                                              \
		const void *v = NULL;                                  \
		for (uint64_t i = 0; i < iters; i++) {                 \
			v = bench_nl##S##_peekptr(ctx);                \
			BENCH_SINK(v);                                 \
		}                                                      \
		walk_end = v;                                          \
	}
NOINLINE_RUNNERS()
NOINLINE_RUNNERS(_twin)

static void run_sigsetjmp_chain(void *ctx, uint64_t iters)
{
	void *fp = ctx;
	for (uint64_t i = 0; i < iters; i++) {
		void *next = NULL;
		bl_sigsetjmp_copy(&next, fp, sizeof next);
		fp = next;
	}
	walk_end = fp;
}

static void run_safecopy_same(void *ctx, uint64_t iters)
{
	const void *v = NULL;
	for (uint64_t i = 0; i < iters; i++) {
		v = safecopy_peekptr(ctx, NULL);
		BENCH_SINK(v);
	}
	walk_end = v;
}

/* One full turn of the ring ends where it started; one step of "same" reads the first link. */
static const char *check_run(void (*run)(void *, uint64_t), uint64_t steps, const void *want)
{
	walk_end = NULL;
	run(ring, steps);
	return walk_end == want ? NULL : "the method read a wrong link";
}

#define PEEK_CHECK(name, run, steps, want)          \
	static const char *name(void *ctx)          \
	{                                           \
		(void)ctx;                          \
		return check_run(run, steps, want); \
	}
PEEK_CHECK(check_noinline_chain, run_noinline_chain, RING, ring)
PEEK_CHECK(check_sigsetjmp_chain, run_sigsetjmp_chain, RING, ring)
PEEK_CHECK(check_noinline_same, run_noinline_same, 1, &ring[8])

static const char *check_safecopy(void *ctx)
{
	(void)ctx;
	if (safecopy_peekptr(NULL, ring) != (void *)ring || safecopy_peek64((char *)ring + 1, 7) == 7)
		return "safecopy_peekptr: wrong fallback or value";
	const char *e = check_run(run_safecopy_chain, RING, ring);
	return e ? e : check_run(run_safecopy_same, 1, &ring[8]);
}

static void peek_suite_run(struct bench_session *s)
{
	for (int i = 0; i < RING; i++)
		ring[i * 8] = &ring[((i + 1) % RING) * 8];
	struct bench_group g;
	bench_group_init(&g, "peek/chain", 0, "noinline");
	struct bench_case *sc = bench_group_add(&g, "safecopy", run_safecopy_chain, ring);
	sc->check = check_safecopy;
	sc->goal = (struct bench_goal){GOAL_AT_MOST, "noinline", 1.1};
	struct bench_case *nl = bench_group_add(&g, "noinline", run_noinline_chain, ring);
	nl->check = check_noinline_chain;
	nl->twin = run_noinline_twin_chain;
	bench_group_add_handled(&g, "sigsetjmp", run_sigsetjmp_chain, ring, bl_sigsetjmp_enter, bl_leave,
	                        check_sigsetjmp_chain);
	bool any = bench_group_selected(s, &g);
	if (any)
		bench_group_run(s, &g);
	bench_group_init(&g, "peek/same", 0, "noinline");
	sc = bench_group_add(&g, "safecopy", run_safecopy_same, ring);
	sc->check = check_safecopy;
	sc->goal = (struct bench_goal){GOAL_AT_MOST, "noinline", 1.1};
	nl = bench_group_add(&g, "noinline", run_noinline_same, ring);
	nl->check = check_noinline_same;
	nl->twin = run_noinline_twin_same;
	if (bench_group_selected(s, &g)) {
		any = true;
		bench_group_run(s, &g);
	}
	if (any)
		bench_note(
		    s,
		    "peek/chain: a frame-pointer walk, each peek loads the next link (dependent loads);"
		    " peek/same: the same cell every time; noinline = a call to a function doing the load");
}

const struct bench_suite peek_suite = {"peek", peek_suite_run};
