/*
 * Probe rows: "is this range readable?" on accessible memory (the common case: a crash reporter or
 * profiler validating a pointer before it follows it). safecopy_probe against the ways other
 * libraries ask the kernel: abseil's AddressIsReadable (rt_sigprocmask with the address as the new
 * mask, one 8-byte check per call: one call per page), compiler-rt's IsAccessibleMemoryRange (write
 * the range into a pipe, then drain it), and libunwind's mincore and msync(MS_ASYNC) checks (mapped
 * or not: neither sees PROT_NONE). Groups: one page (8 bytes), and 16 pages (64 KiB).
 */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "baselines.h"
#include "bench.h"
#include "safecopy.h"

#define PAGE 4096

struct probe_ctx {
	char *p;
	size_t n;
	char *scratch; /* where the pipe probe drains to */
};

static void run_safecopy(void *c_, uint64_t iters)
{
	const struct probe_ctx *c = c_;
	for (uint64_t i = 0; i < iters; i++)
		BENCH_SINK(safecopy_probe(c->p, c->n, SAFECOPY_PROBE_READ, NULL));
}

static void run_safecopy_write(void *c_, uint64_t iters)
{
	const struct probe_ctx *c = c_;
	for (uint64_t i = 0; i < iters; i++)
		BENCH_SINK(safecopy_probe(c->p, c->n, SAFECOPY_PROBE_WRITE, NULL));
}

/* abseil: rt_sigprocmask(~0, addr & ~7, NULL, 8) fails with EFAULT if the 8 bytes are unreadable,
 * EINVAL (the bad `how`) otherwise. One page per call. */
static size_t sigprocmask_probe(const char *p, size_t n)
{
	for (size_t off = 0; off < n; off += off == 0 ? PAGE - ((uintptr_t)p & (PAGE - 1)) : PAGE) {
		uintptr_t a = ((uintptr_t)p + off) & ~(uintptr_t)7;
		int saved = errno;
		long r = syscall(SYS_rt_sigprocmask, ~0, (void *)a, NULL, 8);
		bool fault = r == -1 && errno == EFAULT;
		errno = saved;
		if (fault)
			return off;
	}
	return n;
}

/* libunwind: mincore of the pages; ENOMEM means some page is not mapped. */
static size_t mincore_probe(const char *p, size_t n)
{
	unsigned char vec[64];
	uintptr_t first = (uintptr_t)p & ~(uintptr_t)(PAGE - 1);
	size_t len = (uintptr_t)p + n - first;
	return mincore((void *)first, len, vec) == 0 ? n : 0;
}

/* libunwind's other check: msync(MS_ASYNC) fails with ENOMEM on unmapped pages. */
static size_t msync_probe(const char *p, size_t n)
{
	uintptr_t first = (uintptr_t)p & ~(uintptr_t)(PAGE - 1);
	return msync((void *)first, (uintptr_t)p + n - first, MS_ASYNC) == 0 ? n : 0;
}

#define PROBE_RUNNER(name, expr)                     \
	static void name(void *c_, uint64_t iters)   \
	{                                            \
		const struct probe_ctx *c = c_;      \
		for (uint64_t i = 0; i < iters; i++) \
			BENCH_SINK(expr);            \
	}
PROBE_RUNNER(run_sigprocmask, sigprocmask_probe(c->p, c->n))
PROBE_RUNNER(run_pipe, bl_pipe_copy(c->scratch, c->p, c->n))
PROBE_RUNNER(run_mincore, mincore_probe(c->p, c->n))
PROBE_RUNNER(run_msync, msync_probe(c->p, c->n))

/* Each method says "all accessible" here and "not accessible" for an unmapped page. */
static char *unmapped;

static const char *check_method(const struct probe_ctx *c,
                                size_t (*probe)(const struct probe_ctx *, const char *))
{
	if (probe(c, c->p) != c->n)
		return "an accessible range reported inaccessible";
	if (probe(c, unmapped) != 0)
		return "an unmapped page reported accessible";
	return NULL;
}

static size_t via_safecopy(const struct probe_ctx *c, const char *p)
{
	return safecopy_probe(p, c->n, SAFECOPY_PROBE_READ, NULL);
}
static size_t via_safecopy_write(const struct probe_ctx *c, const char *p)
{
	return safecopy_probe(p, c->n, SAFECOPY_PROBE_WRITE, NULL);
}
static size_t via_sigprocmask(const struct probe_ctx *c, const char *p)
{
	return sigprocmask_probe(p, c->n);
}
static size_t via_pipe(const struct probe_ctx *c, const char *p)
{
	return bl_pipe_copy(c->scratch, p, c->n);
}
static size_t via_mincore(const struct probe_ctx *c, const char *p)
{
	return mincore_probe(p, c->n);
}
static size_t via_msync(const struct probe_ctx *c, const char *p)
{
	return msync_probe(p, c->n);
}

#define PROBE_CHECK(name, via)               \
	static const char *name(void *c)     \
	{                                    \
		return check_method(c, via); \
	}
PROBE_CHECK(check_safecopy, via_safecopy)
PROBE_CHECK(check_safecopy_write, via_safecopy_write)
PROBE_CHECK(check_sigprocmask, via_sigprocmask)
PROBE_CHECK(check_pipe, via_pipe)
PROBE_CHECK(check_mincore, via_mincore)
PROBE_CHECK(check_msync, via_msync)

static void probe_suite_run(struct bench_session *s)
{
	static const struct {
		const char *name;
		size_t n;
	} groups[] = {{"probe/1page", 8}, {"probe/16pages", 16 * PAGE}};
	bool any = false;
	for (size_t k = 0; k < sizeof groups / sizeof groups[0]; k++) {
		struct probe_ctx ctx = {.n = groups[k].n};
		struct bench_group g;
		bench_group_init(&g, groups[k].name, 0, "safecopy");
		bench_group_add(&g, "safecopy", run_safecopy, &ctx)->check = check_safecopy;
		bench_group_add(&g, "safecopy_write", run_safecopy_write, &ctx)->check = check_safecopy_write;
		/* The goal: safecopy at least 10x faster than each anchor on accessible pages. */
		static const struct bench_goal tenfold = {GOAL_REF_FASTER, "safecopy", 10};
		struct bench_case *c = bench_group_add(&g, "sigprocmask", run_sigprocmask, &ctx);
		c->check = check_sigprocmask;
		c->goal = tenfold;
		c = bench_group_add(&g, "pipe", run_pipe, &ctx);
		c->check = check_pipe;
		c->goal = tenfold;
		c = bench_group_add(&g, "mincore", run_mincore, &ctx);
		c->check = check_mincore;
		c->goal = tenfold;
		c = bench_group_add(&g, "msync", run_msync, &ctx);
		c->check = check_msync;
		c->goal = tenfold;
		if (!bench_group_selected(s, &g))
			continue;
		any = true;
		size_t len = 18 * PAGE;
		char *m = bench_alloc(len);
		munmap(m + 17 * PAGE, PAGE);
		unmapped = m + 17 * PAGE;
		ctx.p = m + 100;
		ctx.scratch = bench_alloc(len);
		bench_group_run(s, &g);
		bench_free(ctx.scratch, len);
		bench_free(m, 17 * PAGE);
	}
	if (any)
		bench_note(
		    s, "probe/*: readable ranges (p a little into its page); sigprocmask = abseil's"
		       " AddressIsReadable per page, pipe = compiler-rt's IsAccessibleMemoryRange, mincore"
		       " and msync = libunwind's checks (which cannot see PROT_NONE)");
}

const struct bench_suite probe_suite = {"probe", probe_suite_run};
