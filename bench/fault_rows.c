/*
 * The fault path: one failed 8-byte read of a PROT_NONE page per operation. The base row is the bare
 * round trip (fault, a handler that only moves RIP past the load, rt_sigreturn), the reference of
 * safecopy's goal for the fault path (README.md, Performance). It is not quite the floor: leaving the handler
 * by a jump instead of rt_sigreturn skips the restore of the whole register state, and bare_no_sigreturn
 * shows what that saves (sigsetjmp and libsigsegv profit from it too). safecopy leaves its handler by
 * such a jump when it can (src/safecopy/fast_exit.c); safecopy_sigreturn is the same call with that
 * fast exit switched off, through rt_sigreturn.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "baselines.h"
#include "bench.h"
#include "safecopy.h"

/* The library's switch (hidden, reachable from the static library the harness links). */
extern unsigned char sc_fast_exit_forced_off;

struct fault_ctx {
	void *dst;
	const void *bad;      /* first byte of a PROT_NONE page */
	const void *unmapped; /* first byte of a page with no mapping */
};

static void run_safecopy(void *p, uint64_t iters)
{
	const struct fault_ctx *c = p;
	for (uint64_t i = 0; i < iters; i++)
		BENCH_SINK(safecopy_memcpy(c->dst, c->bad, 8, NULL));
}

static void run_bare(void *p, uint64_t iters)
{
	const struct fault_ctx *c = p;
	for (uint64_t i = 0; i < iters; i++)
		BENCH_SINK(bl_probe_load(c->bad));
}

#define FAULT_RUNNER(name, fn)                             \
	static void name(void *p, uint64_t iters)          \
	{                                                  \
		const struct fault_ctx *c = p;             \
		for (uint64_t i = 0; i < iters; i++)       \
			BENCH_SINK(fn(c->dst, c->bad, 8)); \
	}
FAULT_RUNNER(run_sigsetjmp, bl_sigsetjmp_copy)
FAULT_RUNNER(run_libsigsegv, bl_libsigsegv_copy)
FAULT_RUNNER(run_pvr, bl_pvr_copy)
FAULT_RUNNER(run_pipe, bl_pipe_copy)

static void run_procmem_unmapped(void *p, uint64_t iters)
{
	const struct fault_ctx *c = p;
	for (uint64_t i = 0; i < iters; i++)
		BENCH_SINK(bl_procmem_copy(c->dst, c->unmapped, 8));
}

static const char *check_safecopy(void *p)
{
	const struct fault_ctx *c = p;
	struct safecopy_fault f;
	size_t got = safecopy_memcpy(c->dst, c->bad, 8, &f);
	if (got != 0 || f.status != SAFECOPY_SEGV || f.addr != c->bad || f.signo != SIGSEGV) {
		static char msg[192];
		snprintf(msg, sizeof msg,
		         "safecopy_memcpy from PROT_NONE returned %zu, status %s, addr %p (want 0, segv, %p)",
		         got, safecopy_status_name(f.status), f.addr, c->bad);
		return msg;
	}
	/* And the exact count of a copy that runs into the bad page: the bytes before it. */
	got = safecopy_memcpy(c->dst, (const char *)c->bad - 24, 64, &f);
	if (got != 24 || f.status != SAFECOPY_SEGV || f.addr != c->bad) {
		static char msg[192];
		snprintf(msg, sizeof msg,
		         "safecopy_memcpy of 64 bytes, 24 before a PROT_NONE page, returned %zu, status %s,"
		         " addr %p (want 24, segv, %p)",
		         got, safecopy_status_name(f.status), f.addr, c->bad);
		return msg;
	}
	return NULL;
}

static void force_sigreturn(void *ctx)
{
	(void)ctx;
	sc_fast_exit_forced_off = 1;
}

static void allow_fast_exit(void *ctx)
{
	(void)ctx;
	sc_fast_exit_forced_off = 0;
}

static const char *check_bare(void *p)
{
	unsigned long before = bl_bare_resumed();
	run_bare(p, 1);
	return bl_bare_resumed() == before + 1 ? NULL : "the bare handler did not run";
}

/* The method reports the fault as 0 bytes copied. */
#define FAULT_CHECK(name, fn)                                                              \
	static const char *name(void *p)                                                   \
	{                                                                                  \
		const struct fault_ctx *c = p;                                             \
		return fn(c->dst, c->bad, 8) == 0 ? NULL : "copied from a PROT_NONE page"; \
	}
FAULT_CHECK(check_sigsetjmp, bl_sigsetjmp_copy)
FAULT_CHECK(check_libsigsegv, bl_libsigsegv_copy)
FAULT_CHECK(check_pvr, bl_pvr_copy)
FAULT_CHECK(check_pipe, bl_pipe_copy)

static const char *check_procmem_unmapped(void *p)
{
	const struct fault_ctx *c = p;
	return bl_procmem_copy(c->dst, c->unmapped, 8) == 0 ? NULL : "copied from an unmapped page";
}

static void fault_suite_run(struct bench_session *s)
{
	struct fault_ctx ctx;
	struct bench_group g;
	bench_group_init(&g, "fault/8B", 0, "bare_signal");
	struct bench_case *c = bench_group_add(&g, "safecopy", run_safecopy, &ctx);
	c->check = check_safecopy;
	c->goal = (struct bench_goal){GOAL_AT_MOST, "bare_signal", 0.8};
	bench_group_add_handled(&g, "safecopy_sigreturn", run_safecopy, &ctx, force_sigreturn,
	                        allow_fast_exit, check_safecopy);
	/* The same call with the program's own handler passing faults to safecopy_handle_signal(). */
	bench_group_add_handled(&g, "safecopy_embedded", run_safecopy, &ctx, bl_embedded_enter, bl_leave,
	                        check_safecopy);
	bench_group_add_handled(&g, "bare_signal", run_bare, &ctx, bl_bare_enter, bl_leave, check_bare);
	bench_group_add_handled(&g, "bare_no_sigreturn", run_bare, &ctx, bl_bare_nosigreturn_enter, bl_leave,
	                        check_bare);
	bench_group_add_handled(&g, "sigsetjmp", run_sigsetjmp, &ctx, bl_sigsetjmp_enter, bl_leave,
	                        check_sigsetjmp);
	bench_group_add_handled(&g, "libsigsegv", run_libsigsegv, &ctx, bl_libsigsegv_enter,
	                        bl_libsigsegv_leave, check_libsigsegv);
	bench_group_add(&g, "process_vm_readv", run_pvr, &ctx)->check = check_pvr;
	/* /proc/self/mem reads PROT_NONE pages (the kernel forces access, as for a debugger): it cannot
	 * detect them at all. Its row reads an unmapped page instead, where it does fail (EIO). */
	bench_group_add(&g, "proc_self_mem_unmapped", run_procmem_unmapped, &ctx)->check =
	    check_procmem_unmapped;
	bench_group_add(&g, "pipe", run_pipe, &ctx)->check = check_pipe;
	if (!bench_group_selected(s, &g))
		return;
	char *pages = bench_alloc(3 * 4096);
	mprotect(pages + 4096, 4096, PROT_NONE);
	munmap(pages + 2 * 4096, 4096);
	ctx.dst = pages;
	ctx.bad = pages + 4096;
	ctx.unmapped = pages + 2 * 4096;
	/* Tell the reader, and prove it: a PROT_NONE read through /proc/self/mem succeeds. */
	if (bl_procmem_copy(ctx.dst, ctx.bad, 8) == 8)
		bench_note(s,
		           "pread(/proc/self/mem) reads PROT_NONE pages (forced access, as a debugger's):"
		           " it cannot detect them; fault/8B/proc_self_mem_unmapped reads an unmapped page");
	bench_group_run(s, &g);
	bench_note(
	    s,
	    "fault/8B: one failed 8-byte read of a PROT_NONE page per op. bare_signal returns from its "
	    "handler"
	    " through rt_sigreturn, which restores the whole register state (%s on this CPU); sigsetjmp,"
	    " libsigsegv, bare_no_sigreturn and safecopy jump out of the handler and skip that;"
	    " safecopy_sigreturn: the same call with that fast exit switched off. safecopy_embedded: the"
	    " program's own handler passes the fault to safecopy_handle_signal() (and returns)",
	    __builtin_cpu_supports("avx512f") ? "with AVX-512"
	    : __builtin_cpu_supports("avx")   ? "with AVX"
	                                      : "SSE");
	bench_free(pages, 3 * 4096);
}

const struct bench_suite fault_suite = {"fault", fault_suite_run};
