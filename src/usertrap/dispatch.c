/*
 * Hook dispatch, and usertrap_syscall(): the real call, with what a plain call could not do taken care
 * of (masks that would block usertrap's signals, the SIGSYS action, re-arming a forked child, the
 * refusal cache when mappings change).
 */
#include <sched.h>
#include <sys/syscall.h>

#include "usertrap/counters.h"
#include "usertrap/dispatch.h"
#include "usertrap/maps.h"
#include "usertrap/ownmem.h"
#include "usertrap/pagewrite.h"
#include "usertrap/refused.h"
#include "usertrap/seccomp.h"
#include "usertrap/sigaction.h"
#include "usertrap/sigmask.h"
#include "usertrap/site.h"
#include "usertrap/sud.h"
#include "usertrap/table.h"

#ifndef CLONE_VM
#define CLONE_VM 0x00000100
#endif

static usertrap_hook_fn hook;
static void *hook_arg;
static __thread unsigned hook_depth UT_TLS;

void ut_dispatch_set_hook(usertrap_hook_fn fn, void *arg)
{
	hook = fn;
	hook_arg = arg;
}

static long call_hook(struct usertrap_call *call)
{
	call->depth = hook_depth++;
	long r = hook(call, hook_arg);
	hook_depth--;
	return r;
}

long ut_run_hook(struct usertrap_call *call)
{
	long r = call_hook(call);
	return r == USERTRAP_RESULT_PASS ? usertrap_syscall(call) : r;
}

/* True if usertrap_syscall() does more for a call of this number than make it: the calls whose masks it
 * filters (sigmask.h), rt_sigaction, the fork-like and in-place calls, the calls after which it
 * forgets what it knew of the mappings (and madvise: ownmem.h), prctl (the program's own Syscall User
 * Dispatch: sud.h) and the calls that install a seccomp filter (seccomp.h). usertrap_syscall() makes every
 * other call straight away, so the trampoline's pass-through (USERTRAP_RESULT_PASS) and usertrap_syscall()
 * agree by construction. Inline, as the counter and the table check (counters.h, table.h): a call and a
 * return each on every trampoline call's way cost more than these few compares. */
static inline __attribute__((always_inline)) bool needs_usertrap(long nr)
{
	switch (nr) {
	case SYS_rt_sigprocmask:
	case SYS_rt_sigsuspend:
	case SYS_ppoll:
	case SYS_epoll_pwait:
	case SYS_epoll_pwait2:
	case SYS_pselect6:
	case SYS_io_pgetevents:
	case SYS_io_uring_enter:
	case SYS_rt_sigaction:
	case SYS_rt_sigreturn:
	case SYS_fork:
	case SYS_vfork:
	case SYS_clone:
	case SYS_clone3:
	case SYS_mmap:
	case SYS_munmap:
	case SYS_mremap:
	case SYS_mprotect:
	case SYS_pkey_mprotect:
	case SYS_shmat:
	case SYS_shmdt:
	case SYS_prctl:
	case SYS_seccomp:
	case SYS_madvise:
		return true;
	default:
		return false;
	}
}

struct ut_dispatched ut_dispatch(struct usertrap_call *call)
{
	ut_count_trampoline_call();
	/* From a window's stub (windows.h): internal_ is the record it built on the stack, whose first word
	 * is the site (the body reports the stub's resume address). Else it is the site's data slot. */
	bool window = !ut_table_contains((uintptr_t)call->internal_, 1);
	if (window)
		call->site = *(void *const *)call->internal_;
	/* The number the kernel runs is EAX sign-extended (entry_64.S: movslq %eax); a window's RAX may come
	 * from anywhere (mov 0x10(%rsp),%rax) with junk above. The hook sees what will run, as the SIGSYS
	 * path's si_syscall (an int) already is: a filter on call->nr cannot be passed by setting RAX's
	 * upper half. */
	call->nr = (long)(int)call->nr;
	long r = call_hook(call);
	if (r != USERTRAP_RESULT_PASS)
		return (struct ut_dispatched){r, 0};
	if (needs_usertrap(call->nr))
		return (struct ut_dispatched){usertrap_syscall(call), 0};
	uintptr_t gate =
	    window ? ut_table() + UT_H_WINDOW_GATE : (uintptr_t)call->internal_ - UT_DATA_DELTA + UT_C_GATE;
	return (struct ut_dispatched){call->nr, gate};
}

bool ut_in_place(long nr, const long args[6])
{
	if (ut_seccomp_installs(nr, args)) /* returning from a SIGSYS handler after it needs rt_sigreturn */
		return true;
	if (!ut_in_place_nr(nr))
		return false;
	if (nr == SYS_clone) {
		if (args[0] & CLONE_VM)
			ut_window_note_thread();
		return (args[0] & CLONE_VM) || args[1] != 0;
	}
	if (nr == SYS_clone3) {
		/* struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal, stack */
		uint64_t ca[6];
		if (safecopy_memcpy(ca, (const void *)args[0], sizeof ca, NULL) != sizeof ca)
			return true; /* let the kernel report the fault, natively */
		if (ca[0] & CLONE_VM)
			ut_window_note_thread();
		return (ca[0] & CLONE_VM) || ca[5] != 0;
	}
	return true;
}

bool ut_in_place_i386(long nr, const long args[6])
{
	if (ut_seccomp_installs_i386(nr, args)) /* as ut_in_place's x86-64 ones */
		return true;
	/* A thread may come out of an i386 clone or clone3 (their flags are not read here): the process
	 * is never taken for single-threaded again, the safe side (as for a CLONE_VM clone above). */
	if (nr == UT_I386_CLONE || nr == UT_I386_CLONE3)
		ut_window_note_thread();
	return ut_in_place_i386_nr(nr);
}

/* [lo, hi) was mapped, unmapped or re-protected: what was cached about it is stale. */
static void mapping_changed(uintptr_t lo, uintptr_t hi)
{
	ut_refused_forget(lo, hi);
	ut_maps_forget(lo, hi);
}

/* A site refused because of its mapping may be patchable once the mapping changed, and a cached
 * mapping may no longer be there. */
static void forget_changed_mappings(const struct usertrap_call *call, long r)
{
	const long *a = call->args;
	if (r < 0 && r > -4096)
		return;
	switch (call->nr) {
	case SYS_munmap:
	case SYS_mprotect:
	case SYS_pkey_mprotect:
		mapping_changed((uintptr_t)a[0], (uintptr_t)a[0] + (uintptr_t)a[1]);
		break;
	case SYS_mmap:
		mapping_changed((uintptr_t)r, (uintptr_t)r + (uintptr_t)a[1]);
		break;
	case SYS_mremap:
		mapping_changed((uintptr_t)a[0], (uintptr_t)a[0] + (uintptr_t)a[1]);
		mapping_changed((uintptr_t)r, (uintptr_t)r + (uintptr_t)a[2]);
		break;
	case SYS_shmat:
	case SYS_shmdt: /* sizes the call does not give */
		mapping_changed(0, UINTPTR_MAX);
		break;
	default:
		break;
	}
}

long usertrap_syscall(const struct usertrap_call *call)
{
	const long *a = call->args;
	if (call->flags & USERTRAP_CALL_IN_PLACE) {
		/* A filter this call installs takes effect after the SIGSYS handler's rt_sigreturn, when the
		 * call runs in place: usertrap is sealed now, whatever the kernel will answer (seccomp.h). */
		if ((call->flags & USERTRAP_CALL_I386) ? ut_seccomp_installs_i386(call->nr, a)
		                                       : ut_seccomp_installs(call->nr, a))
			ut_seccomp_seal();
		return USERTRAP_RESULT_IN_PLACE;
	}
	long r;
	if (call->flags & USERTRAP_CALL_I386) { /* its numbers are not the ones needs_usertrap knows */
		if (ut_mask_call_i386(call, &r) || (r = ut_own_memory_error(call)) != 0)
			return r;
		return ut_sys_i386(call->nr, a);
	}
	if (!needs_usertrap(call->nr))
		return ut_sys(call->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (call->nr == SYS_rt_sigaction)
		return ut_sigaction_call(call);
	if (call->nr == SYS_prctl && a[0] == UT_PR_SET_SYSCALL_USER_DISPATCH)
		return ut_sud_program_prctl(a);
	if (ut_seccomp_installs(call->nr, a))
		return ut_seccomp_install(call->nr, a);
	if ((r = ut_own_memory_error(call)) != 0)
		return r;
	if (ut_mask_call(call, &r))
		return r;
	r = ut_sys(call->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (r == 0 && (call->nr == SYS_fork || call->nr == SYS_clone || call->nr == SYS_clone3)) {
		/* A child with memory of its own (CLONE_VM calls run in place and never get here), and
		 * a copy of this thread: Syscall User Dispatch is not inherited, and the parent's counts
		 * are not the child's. */
		ut_sud_after_fork_child();
		ut_counters_after_fork_child();
	}
	forget_changed_mappings(call, r);
	return r;
}
