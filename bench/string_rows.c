/*
 * String rows: reading a valid NUL-terminated string of n bytes (the NUL after them) with a limit of
 * 4 KiB + 1 into a buffer, as a tracer reads a path. safecopy_strncpy against glibc's strnlen + memcpy
 * (the limit: what a program that trusts the pointer does) and against process_vm_readv the way
 * strace reads strings (chunks that end at page boundaries, memchr for the NUL). Plus safecopy_strnlen
 * against glibc's strnlen. The string starts at a cache-line-aligned address a little into its page.
 */
#include <stdio.h>
#include <string.h>

#include "baselines.h"
#include "bench.h"
#include "safecopy.h"

#define LIMIT     4097
#define SRC_SHIFT 64
#define DST_SHIFT 2048 /* no 4 KiB aliasing between the loads and the stores (see copy_rows.c) */

struct str_ctx {
	char *dst;
	const char *src;
	size_t n;
};

/* Through volatile pointers: no inlining, no builtin expansion; safecopy is called the same way. */
static size_t (*volatile strnlen_fn)(const char *, size_t) = strnlen;
static void *(*volatile memcpy_fn)(void *, const void *, size_t) = memcpy;
static size_t (*volatile strncpy_fn)(char *, const char *, size_t,
                                     struct safecopy_fault *) = safecopy_strncpy;
static size_t (*volatile sc_strnlen_fn)(const char *, size_t, struct safecopy_fault *) = safecopy_strnlen;

static void run_safecopy(void *p, uint64_t iters)
{
	const struct str_ctx *c = p;
	for (uint64_t i = 0; i < iters; i++)
		BENCH_SINK(strncpy_fn(c->dst, c->src, LIMIT, NULL));
}

/* What a program that may read the string directly does: find the NUL, copy up to and with it. */
static void run_glibc(void *p, uint64_t iters)
{
	const struct str_ctx *c = p;
	for (uint64_t i = 0; i < iters; i++) {
		size_t len = strnlen_fn(c->src, LIMIT);
		memcpy_fn(c->dst, c->src, len < LIMIT ? len + 1 : len);
		BENCH_SINK(len);
	}
}

/* strace's umovestr: process_vm_readv of chunks up to the next page boundary until one holds a NUL. */
static size_t pvr_string(char *dst, const char *src, size_t limit)
{
	size_t done = 0;
	while (done < limit) {
		uintptr_t a = (uintptr_t)src + done;
		size_t chunk = 4096 - (a & 4095);
		if (chunk > limit - done)
			chunk = limit - done;
		if (bl_pvr_copy(dst + done, src + done, chunk) != chunk)
			return done;
		const char *nul = memchr(dst + done, '\0', chunk);
		if (nul)
			return (size_t)(nul - dst);
		done += chunk;
	}
	return done;
}

static void run_pvr(void *p, uint64_t iters)
{
	const struct str_ctx *c = p;
	for (uint64_t i = 0; i < iters; i++)
		BENCH_SINK(pvr_string(c->dst, c->src, LIMIT));
}

static void run_sc_strnlen(void *p, uint64_t iters)
{
	const struct str_ctx *c = p;
	for (uint64_t i = 0; i < iters; i++)
		BENCH_SINK(sc_strnlen_fn(c->src, LIMIT, NULL));
}

static void run_strnlen(void *p, uint64_t iters)
{
	const struct str_ctx *c = p;
	for (uint64_t i = 0; i < iters; i++)
		BENCH_SINK(strnlen_fn(c->src, LIMIT));
}

/* Runs the method once on a cleared dst and checks the string arrived with its NUL. */
static const char *check_copy(const struct str_ctx *c, void (*run)(void *, uint64_t))
{
	memset(c->dst, 0x55, c->n + 1);
	run((void *)c, 1);
	if (memcmp(c->dst, c->src, c->n + 1) != 0)
		return "the string (with its NUL) did not arrive";
	return NULL;
}

static const char *check_safecopy(void *p)
{
	const struct str_ctx *c = p;
	struct safecopy_fault f;
	size_t len = safecopy_strncpy(c->dst, c->src, LIMIT, &f);
	if (len != c->n || f.status != SAFECOPY_OK)
		return "safecopy_strncpy returned a wrong length";
	return check_copy(c, run_safecopy);
}

#define STR_CHECK(name, run)               \
	static const char *name(void *p)   \
	{                                  \
		return check_copy(p, run); \
	}
STR_CHECK(check_glibc, run_glibc)
STR_CHECK(check_pvr, run_pvr)

static const char *check_lengths(void *p)
{
	const struct str_ctx *c = p;
	struct safecopy_fault f;
	if (safecopy_strnlen(c->src, LIMIT, &f) != c->n || f.status != SAFECOPY_OK ||
	    strnlen(c->src, LIMIT) != c->n)
		return "a wrong string length";
	return NULL;
}

static const struct bench_size sizes[] = {
    {"16B", 16, true}, {"64B", 64, true}, {"256B", 256, true}, {"1KiB", 1024, true}, {"4KiB", 4096, true}};

static void string_suite_run(struct bench_session *s)
{
	bool any = false;
	char *src_page = NULL, *dst_page = NULL;
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		size_t n = sizes[k].n;
		struct str_ctx ctx = {.n = n};
		struct bench_group copy, len;
		char name[32];
		snprintf(name, sizeof name, "strncpy/%s", sizes[k].label);
		bench_group_init(&copy, name, n, "strnlen+memcpy");
		struct bench_case *sc = bench_group_add(&copy, "safecopy", run_safecopy, &ctx);
		sc->check = check_safecopy;
		sc->goal = (struct bench_goal){GOAL_AT_MOST, "strnlen+memcpy", 1.3};
		bench_group_add(&copy, "strnlen+memcpy", run_glibc, &ctx)->check = check_glibc;
		bench_group_add(&copy, "process_vm_readv", run_pvr, &ctx)->check = check_pvr;
		snprintf(name, sizeof name, "strnlen/%s", sizes[k].label);
		bench_group_init(&len, name, n, "strnlen");
		bench_group_add(&len, "safecopy", run_sc_strnlen, &ctx)->check = check_lengths;
		bench_group_add(&len, "strnlen", run_strnlen, &ctx)->check = check_lengths;
		bool want_copy = bench_group_selected(s, &copy), want_len = bench_group_selected(s, &len);
		if (!want_copy && !want_len)
			continue;
		if (!src_page) {
			src_page = bench_alloc(2 * 4096);
			dst_page = bench_alloc(3 * 4096);
		}
		any = true;
		char *src = src_page + SRC_SHIFT;
		memset(src, 'p', n);
		src[n] = '\0';
		ctx.src = src;
		ctx.dst = dst_page + DST_SHIFT;
		if (want_copy)
			bench_group_run(s, &copy);
		if (want_len)
			bench_group_run(s, &len);
	}
	if (src_page) {
		bench_free(src_page, 2 * 4096);
		bench_free(dst_page, 3 * 4096);
	}
	if (any)
		bench_note(
		    s,
		    "strncpy/*, strnlen/*: a valid string of the size named (its NUL after it), limit %d;"
		    " process_vm_readv reads chunks up to the next page boundary as strace does",
		    LIMIT);
}

const struct bench_suite string_suite = {"string", string_suite_run};
