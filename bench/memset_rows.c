/* memset rows: safecopy_memset against glibc memset, same sizes and buffers as the copy rows. */
#include <string.h>

#include "bench.h"
#include "safecopy.h"

struct set_ctx {
	void *dst;
	size_t n;
	unsigned calls; /* the byte value: each call writes a value different from the last one */
};

/* Through a volatile pointer: the compiler can neither inline memset nor drop it. safecopy is called
 * the same way, so the two loops differ only in the function they call. */
static void *(*volatile memset_fn)(void *, int, size_t) = memset;
static size_t (*volatile safecopy_memset_fn)(void *, int, size_t, struct safecopy_fault *) = safecopy_memset;

/* Both loops start on a 64-byte line: where the linker happens to put them otherwise moves either
 * row by a cycle per call (the instruction fetch of a loop that crosses a line), from one build of
 * unrelated code to the next. */

__attribute__((aligned(64))) static void run_safecopy(void *p, uint64_t iters)
{
	struct set_ctx *c = p;
	for (uint64_t i = 0; i < iters; i++)
		BENCH_SINK(safecopy_memset_fn(c->dst, (int)(++c->calls & 0xff), c->n, NULL));
}

__attribute__((aligned(64))) static void run_memset(void *p, uint64_t iters)
{
	struct set_ctx *c = p;
	for (uint64_t i = 0; i < iters; i++)
		BENCH_SINK(memset_fn(c->dst, (int)(++c->calls & 0xff), c->n));
}

static const char *check_safecopy(void *p)
{
	const struct set_ctx *c = p;
	unsigned char *d = c->dst;
	memset(d, 0, c->n);
	size_t got = safecopy_memset(d, 0xa5, c->n, NULL);
	if (got != c->n)
		return "safecopy_memset returned a short count on writable memory";
	for (size_t i = 0; i < c->n; i++)
		if (d[i] != 0xa5)
			return "safecopy_memset left a byte unset";
	return NULL;
}

static void add_methods(struct bench_group *g, size_t n, void *p)
{
	struct set_ctx *ctx = p;
	ctx->n = n;
	struct bench_case *sc = bench_group_add(g, "safecopy", run_safecopy, ctx);
	sc->check = check_safecopy;
	bench_group_add(g, "memset", run_memset, ctx);
	sc->goal = (struct bench_goal){GOAL_AT_MOST, "memset", 1.1}; /* README.md, Performance */
}

static void buffers(void *p, size_t n, bool get)
{
	struct set_ctx *ctx = p;
	size_t len = n < 4096 ? 4096 : n;
	if (get)
		ctx->dst = bench_alloc(len);
	else
		bench_free(ctx->dst, len);
}

static void memset_suite_run(struct bench_session *s)
{
	struct set_ctx ctx = {0};
	bench_size_groups(s, "memset", "memset", add_methods, buffers, &ctx);
}

const struct bench_suite memset_suite = {"memset", memset_suite_run};
