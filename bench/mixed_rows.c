/*
 * A mixed workload that looks like an emulator's: many small copies (8..64 bytes, random lengths and
 * offsets) out of "guest memory", where 1 in 1000 source pointers is bad (inside a PROT_NONE page).
 * One operation is one copy; the base row guards each copy with sigsetjmp, as emulators without
 * safecopy do. The memcpy_oracle row skips the bad pointers it is told about: the cost with no
 * protection at all, which no real method can beat.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "baselines.h"
#include "bench.h"
#include "safecopy.h"

#define GUEST_SIZE (4u << 20)
#define NOPS       4000 /* with NBAD bad ones: 1 in 1000 */
#define NBAD       4

struct mixed_op {
	const unsigned char *src;
	uint32_t len;
	uint32_t bad;
};

struct mixed_ctx {
	struct mixed_op ops[NOPS];
	unsigned char *dst;
	size_t expect; /* bytes one pass over ops copies: the good lengths */
};

static void *(*volatile memcpy_fn)(void *, const void *, size_t) = memcpy;

/* One pass-sized loop shape for every method: walk the ops round-robin, add up the bytes copied. */
#define MIXED_LOOP(c, iters, copy_expr)                          \
	do {                                                     \
		size_t total = 0, j = 0;                         \
		for (uint64_t i = 0; i < (iters); i++) {         \
			const struct mixed_op *e = &(c)->ops[j]; \
			total += (copy_expr);                    \
			if (++j == NOPS)                         \
				j = 0;                           \
		}                                                \
		BENCH_SINK(total);                               \
		last_total = total;                              \
	} while (0)

static size_t last_total; /* of the latest run, for the checks */

static void run_safecopy(void *p, uint64_t iters)
{
	struct mixed_ctx *c = p;
	MIXED_LOOP(c, iters, safecopy_memcpy(c->dst, e->src, e->len, NULL));
}

static void run_sigsetjmp(void *p, uint64_t iters)
{
	struct mixed_ctx *c = p;
	MIXED_LOOP(c, iters, bl_sigsetjmp_copy(c->dst, e->src, e->len));
}

static void run_libsigsegv(void *p, uint64_t iters)
{
	struct mixed_ctx *c = p;
	MIXED_LOOP(c, iters, bl_libsigsegv_copy(c->dst, e->src, e->len));
}

static void run_pvr(void *p, uint64_t iters)
{
	struct mixed_ctx *c = p;
	MIXED_LOOP(c, iters, bl_pvr_copy(c->dst, e->src, e->len));
}

static void run_oracle(void *p, uint64_t iters)
{
	struct mixed_ctx *c = p;
	MIXED_LOOP(c, iters, e->bad ? 0 : (memcpy_fn(c->dst, e->src, e->len), (size_t)e->len));
}

/* One pass must copy exactly the good bytes: a bad pointer gives 0, a good one its full length. */
#define MIXED_CHECK(name, run)                                                            \
	static const char *name(void *p)                                                  \
	{                                                                                 \
		struct mixed_ctx *c = p;                                                  \
		run(p, NOPS);                                                             \
		return last_total == c->expect ? NULL : "wrong byte total over one pass"; \
	}
MIXED_CHECK(check_safecopy, run_safecopy)
MIXED_CHECK(check_sigsetjmp, run_sigsetjmp)
MIXED_CHECK(check_libsigsegv, run_libsigsegv)
MIXED_CHECK(check_pvr, run_pvr)

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void mixed_suite_run(struct bench_session *s)
{
	static struct mixed_ctx ctx;
	struct bench_group g;
	bench_group_init(&g, "mixed/8-64B", 0, "sigsetjmp");
	bench_group_add(&g, "safecopy", run_safecopy, &ctx)->check = check_safecopy;
	bench_group_add_handled(&g, "sigsetjmp", run_sigsetjmp, &ctx, bl_sigsetjmp_enter, bl_leave,
	                        check_sigsetjmp);
	bench_group_add_handled(&g, "libsigsegv", run_libsigsegv, &ctx, bl_libsigsegv_enter,
	                        bl_libsigsegv_leave, check_libsigsegv);
	bench_group_add(&g, "process_vm_readv", run_pvr, &ctx)->check = check_pvr;
	bench_group_add(&g, "memcpy_oracle", run_oracle, &ctx);
	if (!bench_group_selected(s, &g))
		return;

	/* Guest memory, then one PROT_NONE page the bad pointers point into. */
	unsigned char *guest = bench_alloc(GUEST_SIZE + 4096);
	mprotect(guest + GUEST_SIZE, 4096, PROT_NONE);
	ctx.dst = bench_alloc(4096);
	ctx.expect = 0;
	for (int i = 0; i < NOPS; i++) {
		struct mixed_op *o = &ctx.ops[i];
		o->len = 8 + (uint32_t)(next_random() % 57);
		o->src = guest + next_random() % (GUEST_SIZE - 64);
		o->bad = 0;
		ctx.expect += o->len;
	}
	for (int k = 0; k < NBAD; k++) {
		/* Spread evenly, at a random spot of each 1000-op stretch. */
		struct mixed_op *o = &ctx.ops[k * (NOPS / NBAD) + (int)(next_random() % (NOPS / NBAD))];
		ctx.expect -= o->len;
		o->src = guest + GUEST_SIZE + next_random() % (4096 - 64);
		o->bad = 1;
	}
	bench_group_run(s, &g);
	bench_note(
	    s, "mixed/8-64B: random 8..64-byte copies out of 4 MiB of guest memory, 1 source pointer in 1000"
	       " inside a PROT_NONE page; time per copy, faults included");
	bench_free(ctx.dst, 4096);
	bench_free(guest, GUEST_SIZE + 4096);
}

const struct bench_suite mixed_suite = {"mixed", mixed_suite_run};
