/*
 * usertrap rows: one getppid() through each path a sandbox could take, as ratios to the native call.
 *
 *   native         the site, never patched, no usertrap
 *   sud_only       Syscall User Dispatch on, patching off: SIGSYS, pass-through hook, sigreturn
 *   patched        patched site, pass-through hook (returns USERTRAP_RESULT_PASS: the trampoline makes
 *                  the call after the hook returned), the default vector save (USERTRAP_VECTOR_AUTO:
 *                  by XINUSE but on AMD CPUs, there plain register moves)
 *   patched_novec  the same with a hook flagged USERTRAP_HOOK_NO_VECTOR (general registers only)
 *   patched_xsavec the same with XSAVEC/XRSTOR of every enabled state component
 *   patched_call, patched_call_novec  as patched and patched_novec, the hook passing the call through
 *                  with usertrap_syscall() (the call made inside the hook's call chain)
 *   answer         patched site, the hook answers without a syscall (the trampoline's own cost)
 *   answer_novec   the same without vector save
 *   patched_regs   patched with USERTRAP_VECTOR_REGS (plain moves of every vector register: AUTO's
 *                  choice on AMD CPUs)
 *   patched_inuse, answer_inuse  patched and answer with USERTRAP_VECTOR_INUSE (only the state
 *                  components XINUSE reports in use), where the CPU has it
 *
 * usertrap's configuration (hook, vector save) is process-wide, so each method's enter() sets it up
 * (usertrap_init, then patch its own site or arm capture) and leave() takes it down again
 * (usertrap_shutdown restores the site), untimed, around every batch. Each method has its own copy of
 * the site, so the native one is never patched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"
#include "usertrap.h"
#include "usertrap_setup.h"

static long parent_pid; /* what getppid() must return */

static long answer(struct usertrap_call *call, void *arg)
{
	(void)arg;
	return call->nr == SYS_getppid ? parent_pid : usertrap_syscall(call);
}

enum path { NATIVE, SUD_ONLY, PATCHED };

struct method {
	const char *name;
	enum path path;
	usertrap_hook_fn hook;
	unsigned int flags;
	enum usertrap_vector_save vector_save;
	long (*site)(void); /* mov $SYS_getppid,%eax; syscall; ret on a page of its own */
	int status;         /* the last usertrap error met in enter(), 0 if none */
};

static struct method methods[] = {
    {"native", NATIVE, NULL, 0, 0, NULL, 0},
    {"sud_only", SUD_ONLY, bench_hook_pass, USERTRAP_LAZY | USERTRAP_LAZY_NO_PATCH, USERTRAP_VECTOR_AUTO,
     NULL, 0},
    {"patched", PATCHED, bench_hook_pass, 0, USERTRAP_VECTOR_AUTO, NULL, 0},
    {"patched_novec", PATCHED, bench_hook_pass, USERTRAP_HOOK_NO_VECTOR, USERTRAP_VECTOR_AUTO, NULL, 0},
    {"patched_xsavec", PATCHED, bench_hook_pass, 0, USERTRAP_VECTOR_XSAVEC, NULL, 0},
    {"patched_call", PATCHED, bench_hook_call, 0, USERTRAP_VECTOR_AUTO, NULL, 0},
    {"patched_call_novec", PATCHED, bench_hook_call, USERTRAP_HOOK_NO_VECTOR, USERTRAP_VECTOR_AUTO, NULL, 0},
    {"answer", PATCHED, answer, 0, USERTRAP_VECTOR_AUTO, NULL, 0},
    {"answer_novec", PATCHED, answer, USERTRAP_HOOK_NO_VECTOR, USERTRAP_VECTOR_AUTO, NULL, 0},
    {"patched_regs", PATCHED, bench_hook_pass, 0, USERTRAP_VECTOR_REGS, NULL, 0},
    /* last: left out where the CPU lacks XINUSE (inuse_available()) */
    {"patched_inuse", PATCHED, bench_hook_pass, 0, USERTRAP_VECTOR_INUSE, NULL, 0},
    {"answer_inuse", PATCHED, answer, 0, USERTRAP_VECTOR_INUSE, NULL, 0},
};
#define INUSE_METHODS 2

#define METHOD_COUNT (sizeof methods / sizeof methods[0])

static long (*make_site(void))(void)
{
	unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		perror("bench: mmap");
		exit(1);
	}
	const unsigned char code[] = {0xb8, SYS_getppid, 0, 0, 0, 0x0f, 0x05, 0xc3};
	memcpy(page, code, sizeof code);
	if (mprotect(page, 4096, PROT_READ | PROT_EXEC) != 0) {
		perror("bench: mprotect");
		exit(1);
	}
	return (long (*)(void))(void *)page;
}

static void enter(void *ctx)
{
	struct method *m = ctx;
	if (m->path == NATIVE)
		return;
	struct usertrap_config cfg = {.hook = m->hook, .flags = m->flags, .vector_save = m->vector_save};
	m->status = usertrap_init(&cfg, NULL);
	if (m->status == 0 && m->path == PATCHED)
		m->status = usertrap_patch((void *)m->site, SYS_getppid, NULL);
	if (m->status == 0 && m->path == SUD_ONLY)
		m->status = usertrap_capture_thread(true, NULL);
}

static void leave(void *ctx)
{
	struct method *m = ctx;
	if (m->path == NATIVE)
		return;
	if (m->path == SUD_ONLY)
		usertrap_capture_thread(false, NULL);
	usertrap_shutdown(NULL);
}

static void run(void *ctx, uint64_t iters)
{
	long (*site)(void) = ((struct method *)ctx)->site;
	for (uint64_t i = 0; i < iters; i++)
		BENCH_SINK(site());
}

/* The call must give getppid's answer, and a patched or captured one must have gone through usertrap. */
static const char *check(void *ctx)
{
	struct method *m = ctx;
	if (m->status != 0)
		return usertrap_setup_failure(m->status);
	struct usertrap_counters before, after;
	usertrap_get_counters(&before);
	if (m->site() != parent_pid)
		return "the site returned something else than getppid()";
	usertrap_get_counters(&after);
	uint64_t patched = after.trampoline_calls - before.trampoline_calls;
	uint64_t captured = after.sigsys_calls - before.sigsys_calls;
	if (m->path == PATCHED && patched != 1)
		return "the call did not come through the trampoline";
	if (m->path == SUD_ONLY && captured < 1)
		return "the call was not captured by Syscall User Dispatch";
	if (m->path == NATIVE && patched + captured != 0)
		return "the native call went through usertrap";
	return NULL;
}

/* True if usertrap accepts USERTRAP_VECTOR_INUSE on this CPU (AVX-512 and XINUSE). */
static bool inuse_available(void)
{
	struct usertrap_config cfg = {.hook = bench_hook_pass, .vector_save = USERTRAP_VECTOR_INUSE};
	if (usertrap_init(&cfg, NULL) != 0)
		return false;
	usertrap_shutdown(NULL);
	return true;
}

static void usertrap_suite_run(struct bench_session *s)
{
	struct bench_group g;
	bench_group_init(&g, "syscall/getppid", 0, "native");
	size_t count = inuse_available() ? METHOD_COUNT : METHOD_COUNT - INUSE_METHODS;
	for (size_t i = 0; i < count; i++) {
		bench_group_add_handled(&g, methods[i].name, run, &methods[i], enter, leave, check);
	}
	/* The goals (README.md, Performance): patched pass-through <= 1.3x native, >= 10x faster than SUD
	 * alone. */
	g.cases[2].goal = (struct bench_goal){GOAL_AT_MOST, "native", 1.3};
	g.cases[3].goal = (struct bench_goal){GOAL_AT_MOST, "native", 1.3};
	g.cases[1].goal = (struct bench_goal){GOAL_REF_FASTER, "patched", 10};
	if (!bench_group_selected(s, &g))
		return;
	parent_pid = getppid();
	for (size_t i = 0; i < count; i++)
		if (!methods[i].site)
			methods[i].site = make_site();
	bench_group_run(s, &g);
	bench_note(
	    s, "syscall/getppid: usertrap's paths for one getppid(); patched = pass-through hook"
	       " (USERTRAP_RESULT_PASS) with the default vector save (only what XINUSE reports in use, but"
	       " on AMD CPUs plain moves of zmm/ymm/xmm, k, MXCSR), patched_call = the hook returns"
	       " usertrap_syscall(call), _novec = hook flagged USERTRAP_HOOK_NO_VECTOR, _xsavec ="
	       " XSAVEC/XRSTOR, _regs = plain moves, _inuse = only what XINUSE reports in use, answer = hook"
	       " returns without a syscall");
}

const struct bench_suite usertrap_suite = {"usertrap", usertrap_suite_run};
