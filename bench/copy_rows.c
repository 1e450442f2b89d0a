/*
 * Copy rows: safecopy_memcpy against glibc memcpy (the limit) and the ways a program can copy from
 * memory that may not be there without safecopy. All methods of a size share the same buffers
 * (page-aligned, touched), so no method gets a different alignment or cache state.
 */
#include <stdio.h>
#include <string.h>

#include "baselines.h"
#include "bench.h"
#include "safecopy.h"

/*
 * dst starts half a page after a page boundary, src at one: with equal page offsets every load of
 * the next copy would alias (bits 0-11) with a store of the previous one, a case the CPU's memory
 * disambiguation handles badly and at random (64-byte memcpy: 1.6 or 3.7 ns from run to run).
 * Cache-line aligned both, as any decent allocator gives.
 */
#define DST_SHIFT 2048

struct copy_ctx {
	void *dst;
	const void *src;
	size_t n;
	bool alternatives; /* also the ways to copy without safecopy (not in the fallback part) */
};

/* Through a volatile pointer: the compiler can neither inline memcpy nor drop the copy. safecopy is
 * called the same way, so the two loops differ only in the function they call. */
static void *(*volatile memcpy_fn)(void *, const void *, size_t) = memcpy;
static size_t (*volatile safecopy_memcpy_fn)(void *, const void *, size_t,
                                             struct safecopy_fault *) = safecopy_memcpy;

/* Both loops start on a 64-byte line: where the linker happens to put them otherwise moves either
 * row by a cycle per call (the instruction fetch of a loop that crosses a line), from one build of
 * unrelated code to the next. */

__attribute__((aligned(64))) static void run_safecopy(void *p, uint64_t iters)
{
	const struct copy_ctx *c = p;
	for (uint64_t i = 0; i < iters; i++)
		BENCH_SINK(safecopy_memcpy_fn(c->dst, c->src, c->n, NULL));
}

__attribute__((aligned(64))) static void run_memcpy(void *p, uint64_t iters)
{
	const struct copy_ctx *c = p;
	for (uint64_t i = 0; i < iters; i++)
		BENCH_SINK(memcpy_fn(c->dst, c->src, c->n));
}

#define COPY_RUNNER(name, fn)                                 \
	static void name(void *p, uint64_t iters)             \
	{                                                     \
		const struct copy_ctx *c = p;                 \
		for (uint64_t i = 0; i < iters; i++)          \
			BENCH_SINK(fn(c->dst, c->src, c->n)); \
	}
COPY_RUNNER(run_pvr, bl_pvr_copy)
COPY_RUNNER(run_procmem, bl_procmem_copy)
COPY_RUNNER(run_sigsetjmp, bl_sigsetjmp_copy)
COPY_RUNNER(run_libsigsegv, bl_libsigsegv_copy)
COPY_RUNNER(run_pipe, bl_pipe_copy)

/* Runs one copy of the method and compares: catches a wrong count or wrong bytes. */
static const char *check_with(const struct copy_ctx *c, void (*run)(void *, uint64_t))
{
	unsigned char *src = (unsigned char *)c->src;
	for (size_t i = 0; i < c->n; i++)
		src[i] = (unsigned char)(i * 7 + 1);
	memset(c->dst, 0, c->n);
	run((void *)c, 1);
	return memcmp(c->dst, c->src, c->n) ? "destination differs from the source after one copy" : NULL;
}

static const char *check_safecopy(void *p)
{
	const struct copy_ctx *c = p;
	struct safecopy_fault f;
	memset(c->dst, 0, c->n);
	size_t got = safecopy_memcpy(c->dst, c->src, c->n, &f);
	if (got != c->n || f.status != SAFECOPY_OK) {
		static char msg[96];
		snprintf(msg, sizeof msg, "safecopy_memcpy returned %zu (status %s) for %zu readable bytes",
		         got, safecopy_status_name(f.status), c->n);
		return msg;
	}
	return check_with(c, run_safecopy);
}

#define COPY_CHECK(name, run)              \
	static const char *name(void *p)   \
	{                                  \
		return check_with(p, run); \
	}
COPY_CHECK(check_memcpy, run_memcpy)
COPY_CHECK(check_pvr, run_pvr)
COPY_CHECK(check_procmem, run_procmem)
COPY_CHECK(check_sigsetjmp, run_sigsetjmp)
COPY_CHECK(check_libsigsegv, run_libsigsegv)
COPY_CHECK(check_pipe, run_pipe)

static void add_methods(struct bench_group *g, size_t n, void *p)
{
	struct copy_ctx *ctx = p;
	ctx->n = n;
	struct bench_case *sc = bench_group_add(g, "safecopy", run_safecopy, ctx);
	sc->check = check_safecopy;
	bench_group_add(g, "memcpy", run_memcpy, ctx)->check = check_memcpy;
	/* The goals (README.md, Performance): every size near memcpy, and from 1 MiB (where rep movsb
	 * wins on CPUs with ERMS/FSRM) ahead of it. */
	sc->goal = (struct bench_goal){GOAL_AT_MOST, "memcpy", n >= (1u << 20) ? 0.9 : 1.1};
	if (!ctx->alternatives || !bench_size_is_key(n))
		return; /* the alternatives at the key sizes only: they take long and change slowly */
	struct bench_case *pvr = bench_group_add(g, "process_vm_readv", run_pvr, ctx);
	pvr->check = check_pvr;
	bench_group_add(g, "proc_self_mem", run_procmem, ctx)->check = check_procmem;
	struct bench_case *sj = bench_group_add_handled(g, "sigsetjmp", run_sigsetjmp, ctx,
	                                                bl_sigsetjmp_enter, bl_leave, check_sigsetjmp);
	bench_group_add_handled(g, "libsigsegv", run_libsigsegv, ctx, bl_libsigsegv_enter,
	                        bl_libsigsegv_leave, check_libsigsegv);
	if (n <= bl_pipe_capacity())
		bench_group_add(g, "pipe", run_pipe, ctx)->check = check_pipe;
	/* Small copies far ahead of the alternatives. */
	if (n <= 64) {
		pvr->goal = (struct bench_goal){GOAL_REF_FASTER, "safecopy", 50};
		sj->goal = (struct bench_goal){GOAL_REF_FASTER, "safecopy", 15};
	}
}

static void buffers(void *p, size_t n, bool get)
{
	struct copy_ctx *ctx = p;
	size_t len = (n < 4096 ? 4096 : n) + DST_SHIFT;
	if (get) {
		ctx->dst = (char *)bench_alloc(len) + DST_SHIFT;
		ctx->src = bench_alloc(len);
	} else {
		bench_free((char *)ctx->dst - DST_SHIFT, len);
		bench_free((void *)ctx->src, len);
	}
}

static void copy_suite_run(struct bench_session *s)
{
	struct copy_ctx ctx = {.alternatives = !bench_in_fallback_part(s)};
	size_t largest = bench_size_groups(s, "copy", "memcpy", add_methods, buffers, &ctx);
	if (bench_in_fallback_part(s))
		return; /* the notes below describe the table's copy groups */
	if (largest)
		bench_note(
		    s, "copy/*: every method copies between the same page-aligned buffers, again and again:"
		       " cache-hot up to 1 MiB, 64 MiB is beyond the caches; the alternatives to safecopy"
		       " only at 8B, 64B, 512B, 4KiB, 64KiB, 1MiB and 64MiB");
	if (largest > bl_pipe_capacity())
		bench_note(s, "copy/*/pipe: only sizes up to the pipe's capacity (%zu KiB) are measured",
		           bl_pipe_capacity() >> 10);
}

const struct bench_suite copy_suite = {"copy", copy_suite_run};
