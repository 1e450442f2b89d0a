/*
 * The SIGSYS handler. It hands the call to the hook and sets RAX; if the site has the pattern it is
 * patched first (only when the patch lock is free: a handler never waits on its own thread). Calls that
 * can only run on the caller's stack (rt_sigreturn, vfork, clone with a stack or CLONE_VM) are resumed
 * at the gate of a trap-table slot bound to their syscall instruction: the call runs natively there, in
 * the caller's context, and continues after the original instruction. An i386 call (`int $0x80`,
 * si_arch AUDIT_ARCH_I386) goes to the hook marked USERTRAP_CALL_I386; its site is never patched.
 */
#include <errno.h>
#include <sys/syscall.h>

#include "arch/x86_64.h"
#include "usertrap/arm.h"
#include "usertrap/capture.h"
#include "usertrap/chain.h"
#include "usertrap/counters.h"
#include "usertrap/dispatch.h"
#include "usertrap/hits.h"
#include "usertrap/lock.h"
#include "usertrap/patcher.h"
#include "usertrap/refused.h"
#include "usertrap/registry.h"
#include "usertrap/status.h"
#include "usertrap/sud.h"
#include "usertrap/windows.h"

#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH 2 /* si_code of a SIGSYS from Syscall User Dispatch */
#endif

static bool lazy_patch_on;

/* The gate slot bound to the syscall instruction at insn, bound now if need be; 0 if none is free. */
static int gate_slot(uintptr_t insn, long nr)
{
	int slot = ut_registry_find(insn, UT_SLOT_GATE);
	if (slot)
		return slot;
	while (!ut_trylock()) {
		if (ut_lock_held_by_me())
			return 0;
		UT_SYS0(SYS_sched_yield);
	}
	slot = ut_registry_bind(insn, UT_SLOT_GATE, nr);
	ut_unlock();
	return slot;
}

/* i386: the call was `int $0x80` (same length as `syscall`), resumed at the slot's i386 gate. */
static void run_in_place(uintptr_t insn, long nr, bool i386, void *uc)
{
	UT_COUNT(in_place_calls);
	int slot = gate_slot(insn, nr);
	arch_set_rax(uc, (uint64_t)nr);
	if (slot) {
		arch_set_pc(uc, ut_code_slot((unsigned)slot) + (i386 ? UT_C_GATE_I386 : UT_C_GATE));
		return;
	}
	/* No slot: run it natively at its own site, which means this thread stops being captured. */
	UT_COUNT(capture_lost);
	ut_sud_arm(false);
	arch_set_pc(uc, insn);
}

void (*ut_test_first_hit_hook)(uintptr_t insn);

/*
 * Patches the site of the call at insn if it can; true if it did (or another thread already had).
 * The site is read only under the patch lock: between this thread's syscall and its handler another
 * thread may have patched the same site (seen with eight Python threads: the jump's bytes read as
 * "no pattern" sent it to the window planner, which refused the patched bytes as a failure).
 */
static bool lazy_patch(uintptr_t insn, long nr)
{
	uintptr_t site = insn - UT_SYSCALL_OFFSET;
	void (*test_hook)(uintptr_t) = ut_test_first_hit_hook;
	if (test_hook)
		test_hook(insn);
	if (ut_refused(site))
		return false;
	unsigned generation = ut_refused_generation();
	if (!ut_trylock())
		return false; /* another patcher, or this thread inside one: next time */
	/* The 7-byte form (or the site already holds it) while the table has room, else a relocated
	 * window (windows.h; an already patched window is kept). */
	int r = ut_patch_locked(site, nr, NULL);
	if (r == USERTRAP_ERR_PATTERN || r == USERTRAP_ERR_NR || r == USERTRAP_ERR_FAULT ||
	    r == USERTRAP_ERR_TABLE_FULL)
		r = ut_window_patch_locked(insn, 0, 0, NULL);
	ut_unlock();
	if (r == 0) {
		UT_COUNT(patches);
		return true;
	}
	UT_COUNT(patch_failures);
	if (r != USERTRAP_ERR_TABLE_FULL)
		ut_refuse(site, generation);
	return false;
}

/* The call the SIGSYS context describes: an x86-64 `syscall` or an i386 `int $0x80` (both 2 bytes). */
static struct usertrap_call call_of(long nr, bool i386, void *uc)
{
	struct usertrap_call call = {.nr = nr,
	                             .site = (void *)(arch_pc(uc) - UT_SYSCALL_LEN),
	                             .flags = USERTRAP_CALL_SIGSYS | (i386 ? USERTRAP_CALL_I386 : 0),
	                             .internal_ = uc};
	if (i386)
		arch_i386_syscall_args(uc, call.args);
	else
		arch_syscall_args(uc, call.args);
	return call;
}

/* The call as made, nothing filtered: `int $0x80` for an i386 call, else `syscall`. */
static long raw_call(const struct usertrap_call *call)
{
	const long *a = call->args;
	if (call->flags & USERTRAP_CALL_I386)
		return ut_sys_i386(call->nr, a);
	return ut_sys(call->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* An intercepted call: to the hook, or run in place. The x86-64 special cases (rt_sigreturn,
 * exit_group, the lazy patch) never apply to an i386 number, which only shares their values. */
static void intercepted(long nr, bool i386, void *uc)
{
	struct usertrap_call call = call_of(nr, i386, uc);
	uintptr_t insn = (uintptr_t)call.site;
	bool in_place = i386 ? ut_in_place_i386(nr, call.args) : ut_in_place(nr, call.args);
	bool sigreturn = !i386 && nr == SYS_rt_sigreturn, running = ut_running();
	if (sigreturn || !running)
		UT_COUNT(sigsys_native); /* the two cases the hook never sees */
	else
		UT_COUNT(sigsys_calls);
	if (sigreturn) { /* not the hook's business: it returns from some signal handler */
		run_in_place(insn, nr, false, uc);
	} else if (!running) { /* intercepted just as usertrap shut down: the call, without the hook */
		if (in_place)
			run_in_place(insn, nr, i386, uc);
		else
			arch_set_rax(uc, (uint64_t)raw_call(&call));
	} else if (in_place) {
		call.flags |= USERTRAP_CALL_IN_PLACE;
		long r = ut_run_hook(&call);
		if (r == USERTRAP_RESULT_IN_PLACE)
			run_in_place(insn, nr, i386, uc);
		else
			arch_set_rax(uc, (uint64_t)r);
	} else {
		/* exit_group never returns and ends every thread: a patch of its site would never run (a
		 * child forked earlier has the parent's code as it was then). It was the last first hit of
		 * every process, tens of microseconds at exit. An `int $0x80` site is never patched (no
		 * pattern or window makes an i386 call), so none is tried, counted or refused. */
		bool patched = !i386 && __atomic_load_n(&lazy_patch_on, __ATOMIC_ACQUIRE) &&
		               !ut_sud_sealed() && nr != SYS_exit_group && ut_hits_reached(insn) &&
		               lazy_patch(insn, nr);
		arch_set_rax(uc, (uint64_t)ut_run_hook(&call));
		/* A window just patched over this call has a guard byte where the thread returns (after the
		 * syscall, when more instructions were moved): resume at that point of the stub. Returning
		 * onto the guard would cost a SIGILL, and the program may have taken SIGILL for itself (GNU
		 * as does: it died of exactly that). */
		if (patched)
			ut_window_on_sigill(arch_pc(uc), uc);
	}
}

static void on_sigsys(int sig, siginfo_t *info, void *uc)
{
	int saved_errno = errno;
	if (info->si_code == SYS_USER_DISPATCH)
		intercepted(info->si_syscall, info->si_arch == ARCH_AUDIT_I386, uc);
	else if (!ut_arm_answer(info, uc))
		ut_chain(sig, info, uc);
	errno = saved_errno;
}

int ut_capture_install(bool patch)
{
	__atomic_store_n(&lazy_patch_on, patch, __ATOMIC_RELEASE);
	/* SA_NODEFER: the hook may make calls that are intercepted in turn. No SA_ONSTACK: calls like
	 * sigaltstack look at the stack pointer, which must stay the caller's stack. */
	return ut_chain_install(SIGSYS, on_sigsys, SA_NODEFER | SA_RESTART);
}

int ut_capture_uninstall(void)
{
	ut_sud_select(false);
	ut_arm_new_threads(false);
	if (ut_sud_armed())
		ut_sud_arm(false);
	__atomic_store_n(&lazy_patch_on, false, __ATOMIC_RELEASE);
	return ut_chain_restore(SIGSYS);
}

void usertrap_set_patch_hits(unsigned k)
{
	ut_hits_set_threshold(k);
}

int usertrap_capture_thread(bool on, struct usertrap_error *err)
{
	if (!ut_running() || !ut_sud_in_use() || ut_sud_sealed()) /* sealed: seccomp.h */
		return ut_fail(err, USERTRAP_ERR_STATE, 0);
	if (on)
		ut_sud_unblock_keep();
	int r = ut_sud_arm(on);
	return r ? ut_fail(err, USERTRAP_ERR_SYS, -r) : ut_ok(err);
}

int usertrap_capture_all(bool on, struct usertrap_error *err)
{
	if (!ut_running() || !ut_sud_in_use() || ut_sud_sealed()) /* sealed: seccomp.h */
		return ut_fail(err, USERTRAP_ERR_STATE, 0);
	ut_sud_select(on);
	ut_arm_new_threads(on);
	if (!on)
		return ut_ok(err);
	ut_sud_unblock_keep();
	int r = ut_sud_arm(true);
	if (!r)
		r = ut_arm_others();
	return r ? ut_fail(err, USERTRAP_ERR_SYS, -r) : ut_ok(err);
}
