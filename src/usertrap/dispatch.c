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

long usertrap_syscall(const struct usertrap_call *call)
{
	const long *a = call->args;
	if (call->flags & USERTRAP_CALL_IN_PLACE)
		return USERTRAP_RESULT_IN_PLACE;
	long r;
	if (ut_mask_call(call, &r))
		return r;
	r = ut_sys(call->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (r == 0 && (call->nr == SYS_fork || call->nr == SYS_clone || call->nr == SYS_clone3))
		ut_after_fork_child(); /* a copy of this thread: Syscall User Dispatch is not inherited */
	return r;
}
