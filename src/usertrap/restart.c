/*
 * SIGILL. A thread that ran the old `mov $nr,%eax` of a site and then met the guard byte at +5 is
 * restarted at the site, found in the registry (never by re-reading bytes that may be mid-change). If
 * RAX holds restart_syscall, the thread was resuming an interrupted call (the kernel backs RIP up to the
 * syscall instruction): that call is finished here with restart_syscall itself (rt_sigreturn would
 * cancel the kernel's restart block), and the thread continues after the site. While a site is being
 * patched or restored, the guard also sits at +0 for a while (the second write of either): a thread
 * that meets it there runs +0 again. Either way the thread first sleeps until the patch lock is free
 * (a futex, not a SIGILL per retry), so it resumes at the finished site; if its own thread holds the
 * lock (a handler that interrupted the patcher, which blocks asynchronous signals while it writes, so
 * only a fault could), waiting would never end, and the call is served here instead, as for a broken
 * site. A site left half-written by a write that failed midway (its page
 * unmapped or re-protected under the patcher) would hold threads there forever; for those the handler
 * makes the call itself, through the hook, and continues after the site.
 */
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>

#include "arch/x86_64.h"
#include "usertrap/chain.h"
#include "usertrap/counters.h"
#include "usertrap/dispatch.h"
#include "usertrap/lock.h"
#include "usertrap/registry.h"
#include "usertrap/restart.h"
#include "usertrap/windows.h"

static bool is_broken(int slot)
{
	return __atomic_load_n(&ut_site_broken[slot], __ATOMIC_ACQUIRE) != 0;
}

/* A site left half-written by a failed patch: the thread meant to make the site's syscall. Make it here
 * (through the hook, as the trampoline would have) and continue after the site. */
static void serve_broken(int slot, uintptr_t site, void *uc)
{
	struct usertrap_call call = {.nr = (long)ut_data_slot((unsigned)slot)->nr,
	                             .site = (void *)(site + UT_SYSCALL_OFFSET),
	                             .flags = USERTRAP_CALL_SIGSYS,
	                             .internal_ = uc};
	arch_syscall_args(uc, call.args);
	UT_COUNT(sigill_calls);
	arch_set_rax(uc, (uint64_t)ut_run_hook(&call));
	arch_set_pc(uc, site + UT_SITE_LEN);
}

/* The guard at +5: the thread ran the site's `mov`. */
static void guard_after_mov(int slot, uintptr_t site, void *uc)
{
	if (arch_reg_rax(uc) == SYS_restart_syscall) {
		UT_COUNT(restart_syscalls);
		arch_set_rax(uc, (uint64_t)UT_SYS0(SYS_restart_syscall));
		arch_set_pc(uc, site + UT_SITE_LEN);
	} else if (is_broken(slot) || !ut_lock_wait_free()) {
		serve_broken(slot, site, uc);
	} else {
		arch_set_pc(uc, site);
	}
}

/* True if the SIGILL at pc was a guard byte of a site (the thread has been dealt with). */
static bool on_guard(uintptr_t pc, void *uc)
{
	int slot = ut_registry_find(pc, UT_SLOT_PATCH);
	if (slot) { /* the guard at +0: run it again once it is done, or serve a broken site */
		if (is_broken(slot) || !ut_lock_wait_free())
			serve_broken(slot, pc, uc);
		return true;
	}
	slot = ut_registry_find(pc - UT_SYSCALL_OFFSET, UT_SLOT_PATCH);
	if (!slot)
		return false;
	guard_after_mov(slot, pc - UT_SYSCALL_OFFSET, uc);
	return true;
}

static void on_sigill(int sig, siginfo_t *info, void *uc)
{
	int saved_errno = errno;
	if (info->si_code == ILL_ILLOPN &&
	    (on_guard(arch_pc(uc), uc) || ut_window_on_sigill(arch_pc(uc), uc)))
		UT_COUNT(sigill_restarts);
	else
		ut_chain(sig, info, uc);
	errno = saved_errno;
}

int ut_restart_install(void)
{
	return ut_chain_install(SIGILL, on_sigill, SA_NODEFER | SA_RESTART | SA_ONSTACK);
}

int ut_restart_uninstall(void)
{
	return ut_chain_restore(SIGILL);
}
