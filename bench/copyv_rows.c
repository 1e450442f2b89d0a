/*
 * copyv rows: readv/writev-style copies between iovec arrays, as an emulator does for guest I/O.
 * safecopy_copyv against the loop a program would write itself (walk both arrays, safecopy_memcpy
 * each overlap) and the same loop with glibc's memcpy (no protection: the floor). Shapes: 16 elements
 * of 64 B on both sides; 8 of 4 KiB; and mismatched boundaries (src 7 x 1000 B, dst 10 x 700 B).
 */
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "bench.h"
#include "safecopy.h"

#define MAX_ELEMS 16

struct copyv_ctx {
	struct iovec dst[MAX_ELEMS], src[MAX_ELEMS];
	size_t ndst, nsrc, total;
};

static void run_copyv(void *p, uint64_t iters)
{
	const struct copyv_ctx *c = p;
	for (uint64_t i = 0; i < iters; i++)
		BENCH_SINK(safecopy_copyv(c->dst, c->ndst, c->src, c->nsrc, NULL, NULL));
}

/* The loop a program writes without copyv: walk both arrays in step, copy each overlap. */
#define PIECE_LOOP(c, copy_call)                                                                   \
	do {                                                                                       \
		size_t di = 0, si = 0, doff = 0, soff = 0, total = 0;                              \
		while (di < (c)->ndst && si < (c)->nsrc) {                                         \
			size_t dl = (c)->dst[di].iov_len - doff, sl = (c)->src[si].iov_len - soff; \
			size_t want = dl < sl ? dl : sl;                                           \
			char *d = (char *)(c)->dst[di].iov_base + doff;                            \
			const char *s = (const char *)(c)->src[si].iov_base + soff;                \
			size_t got = (copy_call);                                                  \
			total += got;                                                              \
			if (got < want)                                                            \
				break;                                                             \
			doff += got;                                                               \
			soff += got;                                                               \
			if (doff == (c)->dst[di].iov_len)                                          \
				di++, doff = 0;                                                    \
			if (soff == (c)->src[si].iov_len)                                          \
				si++, soff = 0;                                                    \
		}                                                                                  \
		BENCH_SINK(total);                                                                 \
	} while (0)

static void run_loop_safecopy(void *p, uint64_t iters)
{
	const struct copyv_ctx *c = p;
	for (uint64_t i = 0; i < iters; i++)
		PIECE_LOOP(c, safecopy_memcpy(d, s, want, NULL));
}

static void *(*volatile memcpy_fn)(void *, const void *, size_t) = memcpy;

static void run_loop_memcpy(void *p, uint64_t iters)
{
	const struct copyv_ctx *c = p;
	for (uint64_t i = 0; i < iters; i++)
		PIECE_LOOP(c, (memcpy_fn(d, s, want), want));
}

/* One run of the method on a cleared destination: every byte of the concatenations matches. */
static const char *check_with(const struct copyv_ctx *c, void (*run)(void *, uint64_t))
{
	for (size_t i = 0; i < c->ndst; i++)
		memset(c->dst[i].iov_base, 0, c->dst[i].iov_len);
	run((void *)c, 1);
	size_t di = 0, doff = 0;
	for (size_t si = 0; si < c->nsrc; si++)
		for (size_t k = 0; k < c->src[si].iov_len; k++) {
			if (((char *)c->dst[di].iov_base)[doff] != ((const char *)c->src[si].iov_base)[k])
				return "a destination byte differs from its source byte";
			if (++doff == c->dst[di].iov_len)
				di++, doff = 0;
		}
	return NULL;
}

static const char *check_copyv(void *p)
{
	const struct copyv_ctx *c = p;
	struct safecopy_fault f;
	if (safecopy_copyv(c->dst, c->ndst, c->src, c->nsrc, &f, NULL) != c->total || f.status != SAFECOPY_OK)
		return "safecopy_copyv returned a wrong total";
	return check_with(c, run_copyv);
}

#define COPYV_CHECK(name, run)             \
	static const char *name(void *p)   \
	{                                  \
		return check_with(p, run); \
	}
COPYV_CHECK(check_loop_safecopy, run_loop_safecopy)
COPYV_CHECK(check_loop_memcpy, run_loop_memcpy)

/* n elements of len bytes each, laid out in buf with a 64-byte gap (no two share a cache line). */
static size_t lay_out(struct iovec *iov, char *buf, size_t n, size_t len)
{
	for (size_t i = 0; i < n; i++)
		iov[i] = (struct iovec){buf + i * (len + 64), len};
	return n * len;
}

static void copyv_suite_run(struct bench_session *s)
{
	static const struct {
		const char *name;
		size_t nsrc, src_len, ndst, dst_len;
	} shapes[] = {
	    {"copyv/16x64B", 16, 64, 16, 64},
	    {"copyv/8x4KiB", 8, 4096, 8, 4096},
	    {"copyv/7x1000B_to_10x700B", 7, 1000, 10, 700},
	};
	bool any = false;
	for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
		struct copyv_ctx ctx;
		struct bench_group g;
		size_t bytes = shapes[k].nsrc * shapes[k].src_len;
		bench_group_init(&g, shapes[k].name, bytes, "loop_safecopy");
		struct bench_case *sc = bench_group_add(&g, "safecopy", run_copyv, &ctx);
		sc->check = check_copyv;
		sc->goal = (struct bench_goal){GOAL_AT_MOST, "loop_safecopy", 1.1};
		bench_group_add(&g, "loop_safecopy", run_loop_safecopy, &ctx)->check = check_loop_safecopy;
		bench_group_add(&g, "loop_memcpy", run_loop_memcpy, &ctx)->check = check_loop_memcpy;
		if (!bench_group_selected(s, &g))
			continue;
		any = true;
		size_t len = 16 * (4096 + 64) + 4096;
		char *src = bench_alloc(len), *dst = bench_alloc(len);
		for (size_t i = 0; i < len; i++)
			src[i] = (char)(i * 7 + 3);
		ctx.nsrc = shapes[k].nsrc;
		ctx.ndst = shapes[k].ndst;
		ctx.total = lay_out(ctx.src, src, ctx.nsrc, shapes[k].src_len);
		lay_out(ctx.dst, dst + 2048, ctx.ndst, shapes[k].dst_len);
		bench_group_run(s, &g);
		bench_free(src, len);
		bench_free(dst, len);
	}
	if (any)
		bench_note(s,
		           "copyv/*: loop_safecopy = the program's own loop over the overlaps calling"
		           " safecopy_memcpy; loop_memcpy = the same loop with glibc memcpy (no protection)");
}

const struct bench_suite copyv_suite = {"copyv", copyv_suite_run};
