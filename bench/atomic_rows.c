/*
 * Atomic rows, 32 and 64 bit, all seq_cst: safecopy against the compiler's __atomic builtins (inlined)
 * and, for load/store, against a non-inlined function doing the same access, the goal's reference (a
 * safe access was a call into a routine the signal handler knows; safecopy_load32/64 are now made in
 * the caller's code, include/safecopy.h "Inline loads and peeks", and the reference stays the call).
 */
#include <stdio.h>

#include "bench.h"
#include "safecopy.h"

/* The cell every row works on, alone in its cache line. */
static union {
	uint64_t u64;
	uint32_t u32;
	char line[64];
} cell __attribute__((aligned(64)));

#define SEQ __ATOMIC_SEQ_CST

/*
 * BASE_RUNNERS(W, S): the runners of the base methods (noinline for load/store, builtin for the
 * read-modify-write operations) and the called functions, named with suffix S. Made twice: with no
 * suffix for the rows and with _twin for the A/A control (--aa), the same code at other addresses.
 */
#define BASE_RUNNERS(W, S)                                                                      \
	uint##W##_t bench_nl##S##_load##W(const uint##W##_t *p);                                \
	void bench_nl##S##_store##W(uint##W##_t *p, uint##W##_t v);                             \
	BENCH_NOINLINE uint##W##_t bench_nl##S##_load##W(const uint##W##_t *p)                  \
	{                                                                                       \
		return __atomic_load_n(p, SEQ);                                                 \
	}                                                                                       \
	BENCH_NOINLINE void bench_nl##S##_store##W(uint##W##_t *p, uint##W##_t v)               \
	{                                                                                       \
		__atomic_store_n(p, v, SEQ);                                                    \
	}                                                                                       \
	static void nl##S##_load##W(void *p, uint64_t iters)                                    \
	{                                                                                       \
		for (uint64_t i = 0; i < iters; i++)                                            \
			BENCH_SINK(bench_nl##S##_load##W(p));                                   \
	}                                                                                       \
	static void nl##S##_load##W##_dep(void *p, uint64_t iters)                              \
	{                                                                                       \
		uint##W##_t v = 0;                                                              \
		for (uint64_t i = 0; i < iters; i++)                                            \
			v = bench_nl##S##_load##W((const uint##W##_t *)((char *)p + v));        \
		BENCH_SINK(v);                                                                  \
	}                                                                                       \
	static void nl##S##_store##W(void *p, uint64_t iters)                                   \
	{                                                                                       \
		for (uint64_t i = 0; i < iters; i++)                                            \
			bench_nl##S##_store##W(p, (uint##W##_t)i);                              \
	}                                                                                       \
	static void bi##S##_swap##W(void *p, uint64_t iters)                                    \
	{                                                                                       \
		for (uint64_t i = 0; i < iters; i++) {                                          \
			BENCH_SINK(__atomic_exchange_n((uint##W##_t *)p, (uint##W##_t)i, SEQ)); \
			BENCH_BARRIER();                                                        \
		}                                                                               \
	}                                                                                       \
	static void bi##S##_cas##W(void *p, uint64_t iters)                                     \
	{                                                                                       \
		uint##W##_t e = *(uint##W##_t *)p;                                              \
		for (uint64_t i = 0; i < iters; i++) {                                          \
			uint##W##_t a = e;                                                      \
			__atomic_compare_exchange_n((uint##W##_t *)p, &a, e + 1, 0, SEQ, SEQ);  \
			e = a + 1;                                                              \
			BENCH_BARRIER();                                                        \
		}                                                                               \
	}                                                                                       \
	static void bi##S##_fetch_add##W(void *p, uint64_t iters)                               \
	{                                                                                       \
		for (uint64_t i = 0; i < iters; i++) {                                          \
			BENCH_SINK(__atomic_fetch_add((uint##W##_t *)p, 1, SEQ));               \
			BENCH_BARRIER();                                                        \
		}                                                                               \
	}

#define ATOMIC_RUNNERS(W)                                                                            \
	static void sc_load##W(void *p, uint64_t iters)                                              \
	{                                                                                            \
		for (uint64_t i = 0; i < iters; i++) {                                               \
			uint##W##_t v = 0;                                                           \
			safecopy_load##W(p, &v, NULL);                                               \
			BENCH_SINK(v);                                                               \
		}                                                                                    \
	}                                                                                            \
	static void bi_load##W(void *p, uint64_t iters)                                              \
	{                                                                                            \
		for (uint64_t i = 0; i < iters; i++) {                                               \
			BENCH_SINK(__atomic_load_n((uint##W##_t *)p, SEQ));                          \
			BENCH_BARRIER();                                                             \
		}                                                                                    \
	}                                                                                            \
	/* The loaded value (always 0) is the next address's offset: each load waits for the one     \
	 * before, so an output that goes through memory adds its store-to-load latency. */          \
	static void sc_load##W##_dep(void *p, uint64_t iters)                                        \
	{                                                                                            \
		uint##W##_t v = 0;                                                                   \
		for (uint64_t i = 0; i < iters; i++)                                                 \
			safecopy_load##W((const uint##W##_t *)((char *)p + v), &v, NULL);            \
		BENCH_SINK(v);                                                                       \
	}                                                                                            \
	static void bi_load##W##_dep(void *p, uint64_t iters)                                        \
	{                                                                                            \
		uint##W##_t v = 0;                                                                   \
		for (uint64_t i = 0; i < iters; i++)                                                 \
			v = __atomic_load_n((const uint##W##_t *)((char *)p + v), SEQ);              \
		BENCH_SINK(v);                                                                       \
	}                                                                                            \
	static void sc_store##W(void *p, uint64_t iters)                                             \
	{                                                                                            \
		for (uint64_t i = 0; i < iters; i++)                                                 \
			safecopy_store##W(p, (uint##W##_t)i, NULL);                                  \
	}                                                                                            \
	static void bi_store##W(void *p, uint64_t iters)                                             \
	{                                                                                            \
		for (uint64_t i = 0; i < iters; i++) {                                               \
			__atomic_store_n((uint##W##_t *)p, (uint##W##_t)i, SEQ);                     \
			BENCH_BARRIER();                                                             \
		}                                                                                    \
	}                                                                                            \
	static void sc_swap##W(void *p, uint64_t iters)                                              \
	{                                                                                            \
		for (uint64_t i = 0; i < iters; i++) {                                               \
			uint##W##_t old = 0;                                                         \
			safecopy_swap##W(p, (uint##W##_t)i, &old, NULL);                             \
			BENCH_SINK(old);                                                             \
		}                                                                                    \
	}                                                                                            \
	/* Always-succeeding CAS: the next expected value is the one just written. */                \
	static void sc_cas##W(void *p, uint64_t iters)                                               \
	{                                                                                            \
		uint##W##_t e = *(uint##W##_t *)p;                                                   \
		for (uint64_t i = 0; i < iters; i++) {                                               \
			uint##W##_t a = 0;                                                           \
			safecopy_cas##W(p, e, e + 1, &a, NULL);                                      \
			e = a + 1;                                                                   \
		}                                                                                    \
	}                                                                                            \
	static void sc_fetch_add##W(void *p, uint64_t iters)                                         \
	{                                                                                            \
		for (uint64_t i = 0; i < iters; i++) {                                               \
			uint##W##_t old = 0;                                                         \
			safecopy_fetch_add##W(p, 1, &old, NULL);                                     \
			BENCH_SINK(old);                                                             \
		}                                                                                    \
	}                                                                                            \
	/* Every operation once, with its result: catches a wrong value or status. */                \
	static const char *check##W(void *pv)                                                        \
	{                                                                                            \
		uint##W##_t *p = pv, v = 0, old = 0;                                                 \
		*p = 41;                                                                             \
		if (safecopy_load##W(p, &v, NULL) != SAFECOPY_OK || v != 41)                         \
			return "safecopy_load" #W " returned a wrong value";                         \
		if (safecopy_store##W(p, 42, NULL) != SAFECOPY_OK || *p != 42)                       \
			return "safecopy_store" #W " did not store";                                 \
		if (safecopy_swap##W(p, 43, &old, NULL) != SAFECOPY_OK || old != 42 || *p != 43)     \
			return "safecopy_swap" #W " is wrong";                                       \
		if (safecopy_cas##W(p, 43, 44, &old, NULL) != SAFECOPY_OK || old != 43 || *p != 44)  \
			return "safecopy_cas" #W " (success) is wrong";                              \
		if (safecopy_cas##W(p, 43, 45, &old, NULL) != SAFECOPY_OK || old != 44 || *p != 44)  \
			return "safecopy_cas" #W " (failure) is wrong";                              \
		if (safecopy_fetch_add##W(p, 2, &old, NULL) != SAFECOPY_OK || old != 44 || *p != 46) \
			return "safecopy_fetch_add" #W " is wrong";                                  \
		return NULL;                                                                         \
	}                                                                                            \
	/* The dependent loads need the cell to hold 0 (their offset). */                            \
	static const char *check_dep##W(void *pv)                                                    \
	{                                                                                            \
		uint##W##_t *p = pv, v = 7;                                                          \
		*p = 0;                                                                              \
		if (safecopy_load##W(p, &v, NULL) != SAFECOPY_OK || v != 0)                          \
			return "safecopy_load" #W " returned a wrong value";                         \
		return NULL;                                                                         \
	}

BASE_RUNNERS(32, )
BASE_RUNNERS(64, )
BASE_RUNNERS(32, _twin)
BASE_RUNNERS(64, _twin)
ATOMIC_RUNNERS(32)
ATOMIC_RUNNERS(64)

struct atomic_op {
	const char *op;
	int width;
	const char *variant; /* appended to the group's name */
	void (*sc)(void *, uint64_t);
	void (*builtin)(void *, uint64_t);
	void (*noinline)(void *, uint64_t);  /* load/store only: their baseline */
	void (*base_twin)(void *, uint64_t); /* the base's runner compiled again (--aa) */
	const char *(*check)(void *);
};

/* clang-format off */
#define OPS(W)                                                                                      \
	{"load", W, "", sc_load##W, bi_load##W, nl_load##W, nl_twin_load##W, check##W},             \
	{"load", W, "/dep", sc_load##W##_dep, bi_load##W##_dep, nl_load##W##_dep, nl_twin_load##W##_dep, \
	 check_dep##W},                                                                             \
	{"store", W, "", sc_store##W, bi_store##W, nl_store##W, nl_twin_store##W, check##W},        \
	{"swap", W, "", sc_swap##W, bi_swap##W, NULL, bi_twin_swap##W, check##W},                   \
	{"cas", W, "", sc_cas##W, bi_cas##W, NULL, bi_twin_cas##W, check##W},                       \
	{"fetch_add", W, "", sc_fetch_add##W, bi_fetch_add##W, NULL, bi_twin_fetch_add##W, check##W}
/* clang-format on */

static const struct atomic_op ops[] = {OPS(32), OPS(64)};

static void atomic_suite_run(struct bench_session *s)
{
	bool any = false;
	for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
		const struct atomic_op *o = &ops[k];
		void *p = o->width == 32 ? (void *)&cell.u32 : (void *)&cell.u64;
		char name[40];
		snprintf(name, sizeof name, "atomic/%s%d%s", o->op, o->width, o->variant);
		struct bench_group g;
		/* Read-modify-write: the inlined builtin is the goal's reference; load/store: the call. */
		bench_group_init(&g, name, 0, o->noinline ? "noinline" : "builtin");
		struct bench_case *sc = bench_group_add(&g, "safecopy", o->sc, p);
		sc->check = o->check;
		sc->goal = (struct bench_goal){GOAL_AT_MOST, g.base, 1.15};
		bench_group_add(&g, "builtin", o->builtin, p);
		if (o->noinline)
			bench_group_add(&g, "noinline", o->noinline, p);
		g.cases[g.ncases - 1].twin = o->base_twin;
		if (!bench_group_selected(s, &g))
			continue;
		any = true;
		bench_group_run(s, &g);
	}
	if (any)
		bench_note(
		    s, "atomic/*: one thread, uncontended, seq_cst; builtin = the inlined __atomic builtin,"
		       " noinline = a call to a function doing the same access; load*/dep: each load's"
		       " value is the next load's offset (the output is used, so its path counts)");
}

const struct bench_suite atomic_suite = {"atomic", atomic_suite_run};
