/*
 * Hook dispatch: the trampoline body (asm/usertrap_tramp.asm) calls ut_dispatch() with the call it
 * built on the caller's stack; the SIGSYS handler (capture.c) builds one from the signal context. Both
 * run the hook through ut_run_hook(), which keeps the per-thread nesting depth. usertrap_syscall() is
 * the pass-through, with the few system calls that need care handled here.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

#include "arch/x86_64.h"
#include "usertrap/internal.h"

#ifndef CLONE_VM
#define CLONE_VM 0x00000100
#endif

usertrap_hook_fn ut_hook;
void *ut_hook_arg;

static __thread unsigned hook_depth UT_TLS;

long ut_run_hook(struct usertrap_call *call)
{
	call->depth = hook_depth++;
	long r = ut_hook(call, ut_hook_arg);
	hook_depth--;
	return r;
}

/*
 * Counting trampoline calls without a locked instruction on the fast path (it cost 5-7 ns here): each
 * thread increments a cell of its own, claimed from a pool on its first call and never given back, so
 * only the owner ever writes it and a reader sums all cells. Threads beyond the pool share the atomic
 * counter. Exact either way.
 */
#define UT_COUNT_CELLS 1024
static struct {
	uint64_t n;
	char pad[56];
} count_cells[UT_COUNT_CELLS] __attribute__((aligned(64)));
static unsigned cells_claimed;
static __thread uint64_t *my_cell UT_TLS;

static void count_trampoline_call(void)
{
	uint64_t *c = my_cell;
	if (__builtin_expect(c == NULL, 0)) {
		unsigned i = __atomic_fetch_add(&cells_claimed, 1, __ATOMIC_RELAXED);
		if (i >= UT_COUNT_CELLS) {
			UT_COUNT(trampoline_calls);
			return;
		}
		c = my_cell = &count_cells[i].n;
	}
	/* Only this thread writes its cell, so no lock; one instruction, so a signal handler that counts a
	 * call of its own on this thread cannot land between a load and a store and be lost. */
	__asm__ volatile("incq %0" : "+m"(*c));
}

uint64_t ut_trampoline_calls(void)
{
	unsigned n = __atomic_load_n(&cells_claimed, __ATOMIC_RELAXED);
	if (n > UT_COUNT_CELLS)
		n = UT_COUNT_CELLS;
	uint64_t sum = __atomic_load_n(&ut_count.trampoline_calls, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < n; i++)
		sum += __atomic_load_n(&count_cells[i].n, __ATOMIC_RELAXED);
	return sum;
}

long ut_dispatch(struct usertrap_call *call)
{
	count_trampoline_call();
	return ut_run_hook(call);
}

/* Calls that can only run on the caller's own stack and registers. */
bool ut_in_place(long nr, const long *args)
{
	if (nr == SYS_rt_sigreturn || nr == SYS_vfork)
		return true;
	if (nr == SYS_clone)
		return (args[0] & CLONE_VM) || args[1] != 0;
	if (nr == SYS_clone3) {
		/* struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal, stack */
		uint64_t ca[6];
		if (safecopy_memcpy(ca, (const void *)args[0], sizeof ca, NULL) != sizeof ca)
			return true; /* let the kernel report the fault, natively */
		return (ca[0] & CLONE_VM) || ca[5] != 0;
	}
	return false;
}

/* Signals that must stay deliverable while usertrap runs: blocking them would turn an intercepted call
 * (SIGSYS), a guard-byte restart (SIGILL) or a libsafecopy fault (SIGSEGV, SIGBUS) into a kill. */
#define UT_KEEP_MASK \
	((1ULL << (SIGSYS - 1)) | (1ULL << (SIGILL - 1)) | (1ULL << (SIGSEGV - 1)) | (1ULL << (SIGBUS - 1)))
#define UT_UNBLOCKABLE ((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)))

static long sigprocmask_call(const struct usertrap_call *call)
{
	long how = call->args[0];
	const uint64_t *set = (const uint64_t *)call->args[1];
	uint64_t *oldset = (uint64_t *)call->args[2];
	if (call->args[3] != 8)
		return -EINVAL;
	uint64_t nset = 0;
	if (set && safecopy_memcpy(&nset, set, 8, NULL) != 8)
		return -EFAULT;
	if (set && how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK)
		return -EINVAL;
	if (how != SIG_UNBLOCK)
		nset &= ~UT_KEEP_MASK;
	void *uc = (call->flags & USERTRAP_CALL_SIGSYS) ? call->internal_ : NULL;
	if (!uc)
		return ut_sys(SYS_rt_sigprocmask, how, set ? (long)&nset : 0, (long)oldset, 8, 0, 0);
	/* From the SIGSYS handler: the mask the thread runs with afterwards is the one in the signal
	 * frame, which rt_sigreturn restores; change that one. */
	uint64_t *mask = arch_uc_sigmask(uc);
	uint64_t cur = *mask;
	if (oldset && safecopy_memcpy(oldset, &cur, 8, NULL) != 8)
		return -EFAULT;
	if (set) {
		if (how == SIG_BLOCK)
			cur |= nset;
		else if (how == SIG_UNBLOCK)
			cur &= ~nset;
		else
			cur = nset;
		*mask = cur & ~UT_UNBLOCKABLE;
	}
	return 0;
}

/* rt_sigaction on SIGSYS while capture is set up: the application's action is remembered (it gets every
 * SIGSYS that is not from Syscall User Dispatch) and usertrap's handler stays installed. */
static long sigaction_sigsys(const struct usertrap_call *call)
{
	const void *act = (const void *)call->args[1];
	void *oact = (void *)call->args[2];
	if (call->args[3] != 8)
		return -EINVAL;
	unsigned char old[32], nw[32];
	ut_chain_get_previous(SIGSYS, old);
	if (act && safecopy_memcpy(nw, act, sizeof nw, NULL) != sizeof nw)
		return -EFAULT;
	if (oact && safecopy_memcpy(oact, old, sizeof old, NULL) != sizeof old)
		return -EFAULT;
	if (act)
		ut_chain_set_previous(SIGSYS, nw);
	return 0;
}

/* Calls that sleep with a temporary signal mask: while it is in force, a signal handler may run and
 * make intercepted calls, so it must not block SIGSYS (or the others) either. Runs the call with a
 * filtered copy of the mask; a mask that cannot be read is left to the kernel to report. */
static long with_filtered_mask(const struct usertrap_call *call, int mask_arg, int size_arg)
{
	long a[6];
	memcpy(a, call->args, sizeof a);
	const uint64_t *user = (const uint64_t *)a[mask_arg];
	uint64_t copy;
	if (user && a[size_arg] == 8 && safecopy_memcpy(&copy, user, 8, NULL) == 8) {
		copy &= ~UT_KEEP_MASK;
		a[mask_arg] = (long)&copy;
	}
	return ut_sys(call->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* pselect6 passes its mask through a {const sigset_t *ss; size_t ss_len} in the sixth argument. */
static long pselect6_call(const struct usertrap_call *call)
{
	long a[6];
	memcpy(a, call->args, sizeof a);
	uint64_t data[2], copy;
	if (a[5] && safecopy_memcpy(data, (const void *)a[5], sizeof data, NULL) == sizeof data && data[0] &&
	    data[1] == 8 && safecopy_memcpy(&copy, (const void *)data[0], 8, NULL) == 8) {
		copy &= ~UT_KEEP_MASK;
		data[0] = (uint64_t)(uintptr_t)&copy;
		a[5] = (long)data;
	}
	return ut_sys(call->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

long usertrap_syscall(const struct usertrap_call *call)
{
	const long *a = call->args;
	if (call->flags & USERTRAP_CALL_IN_PLACE)
		return USERTRAP_RESULT_IN_PLACE;
	switch (call->nr) {
	case SYS_rt_sigsuspend:
		return with_filtered_mask(call, 0, 1);
	case SYS_ppoll:
		return with_filtered_mask(call, 3, 4);
	case SYS_epoll_pwait:
	case SYS_epoll_pwait2:
		return with_filtered_mask(call, 4, 5);
	case SYS_pselect6:
		return pselect6_call(call);
	case SYS_rt_sigprocmask:
		return sigprocmask_call(call);
	case SYS_rt_sigaction:
		if (a[0] == SIGSYS && ut_lazy && ut_state == 1)
			return sigaction_sigsys(call);
		break;
	case SYS_fork:
	case SYS_clone:
	case SYS_clone3: {
		long r = ut_sys(call->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		if (r == 0)
			ut_after_fork_child(); /* a copy of this thread: Syscall User Dispatch is not
			                          inherited */
		return r;
	}
	default:
		break;
	}
	return ut_sys(call->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
