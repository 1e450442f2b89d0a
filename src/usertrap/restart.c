/*
 * SIGILL: a thread that ran the old `mov $nr,%eax` of a site and then met the 0x06 guard byte (an
 * invalid opcode) is restarted at the site, found in the registry (never by re-reading bytes that may be
 * mid-change). If RAX holds restart_syscall (219), the thread was resuming an interrupted call (the
 * kernel backs RIP up to the syscall instruction): that call is finished here with restart_syscall
 * itself (rt_sigreturn would cancel the kernel's restart block), and the thread continues after the
 * site. While a site is being restored, the guard also sits at +0 for a while: a thread that meets it
 * there runs +0 again. A site left half-written by a write that failed midway (its page unmapped or
 * re-protected under the patcher) would hold threads there forever; for those the handler makes the
 * call itself, through the hook, and continues after the site. Every other SIGILL is passed on.
 */
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>

#include "arch/x86_64.h"
#include "usertrap/internal.h"

#define UT_NR_RESTART_SYSCALL 219

/* A site left half-written by a failed patch: the thread meant to make the site's syscall. Make it here
 * (through the hook, as the trampoline would have) and continue after the site. */
static void serve_broken(int slot, uintptr_t site, void *uc)
{
	struct usertrap_call call = {.nr = (long)ut_data_slot((unsigned)slot)->nr,
	                             .site = (void *)(site + 5),
	                             .flags = USERTRAP_CALL_SIGSYS,
	                             .internal_ = uc};
	arch_syscall_args(uc, call.args);
	arch_set_rax(uc, (uint64_t)ut_run_hook(&call));
	arch_set_pc(uc, site + 7);
}

static void on_sigill(int sig, siginfo_t *info, void *uc)
{
	int saved_errno = errno;
	if (info->si_code > 0 && info->si_code == ILL_ILLOPN) {
		uintptr_t pc = arch_pc(uc);
		int slot = ut_registry_find(pc, UT_SLOT_PATCH);
		if (slot) {
			/* The guard at +0 while a site is being restored: run it again until it is done. */
			if (__atomic_load_n(&ut_site_broken[slot], __ATOMIC_ACQUIRE))
				serve_broken(slot, pc, uc);
			UT_COUNT(sigill_restarts);
			errno = saved_errno;
			return;
		}
		slot = ut_registry_find(pc - 5, UT_SLOT_PATCH);
		if (slot && __atomic_load_n(&ut_site_broken[slot], __ATOMIC_ACQUIRE) &&
		    arch_reg_rax(uc) != UT_NR_RESTART_SYSCALL) {
			serve_broken(slot, pc - 5, uc);
			UT_COUNT(sigill_restarts);
			errno = saved_errno;
			return;
		}
		if (slot) {
			uintptr_t site = pc - 5;
			UT_COUNT(sigill_restarts);
			if (arch_reg_rax(uc) == UT_NR_RESTART_SYSCALL) {
				UT_COUNT(restart_syscalls);
				arch_set_rax(uc, (uint64_t)UT_SYS0(UT_NR_RESTART_SYSCALL));
				arch_set_pc(uc, site + 7);
			} else {
				arch_set_pc(uc, site);
			}
			errno = saved_errno;
			return;
		}
	}
	ut_chain(sig, info, uc);
	errno = saved_errno;
}

int ut_restart_install(void)
{
	return ut_chain_install(SIGILL, on_sigill, SA_NODEFER | SA_RESTART | SA_ONSTACK);
}
