/*
 * The system calls that give the kernel a mask of blocked signals, as usertrap_syscall() passes them
 * through. None may block the UT_KEEP_MASK signals, which must stay deliverable while usertrap runs:
 * with SIGSYS blocked an intercepted call kills the process, with SIGILL blocked a thread caught on a
 * guard byte dies, with SIGSEGV or SIGBUS blocked a libsafecopy fault (the patcher reads sites through
 * it) does.
 * - rt_sigprocmask: the thread's mask (from the SIGSYS handler: the mask in the signal frame).
 * - the temporary masks of calls that sleep: rt_sigsuspend, ppoll, pselect6, epoll_pwait(2),
 *   io_pgetevents, io_uring_enter. While one is in force a signal handler may run and make intercepted
 *   calls. Each call runs with a filtered copy; a mask that cannot be read is left to the kernel to
 *   report.
 * (rt_sigaction: sigaction.c.)
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

#include "arch/x86_64.h"
#include "usertrap/sigmask.h"
#include "usertrap/sud.h"
#include "usertrap/table.h"

#define UT_UNBLOCKABLE ((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)))

static long sigprocmask_call(const struct usertrap_call *call)
{
	long how = call->args[0];
	const uint64_t *set = (const uint64_t *)call->args[1];
	uint64_t *oldset = (uint64_t *)call->args[2];
	if (call->args[3] != UT_SIGSET_SIZE)
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
		return ut_sys(SYS_rt_sigprocmask, how, set ? (long)&nset : 0, (long)oldset, UT_SIGSET_SIZE, 0,
		              0);
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

static bool filtered_copy(uint64_t user_mask, uint64_t size, uint64_t *copy)
{
	if (!user_mask || size != UT_SIGSET_SIZE ||
	    safecopy_memcpy(copy, (const void *)user_mask, 8, NULL) != 8)
		return false;
	*copy &= ~UT_KEEP_MASK;
	return true;
}

static long call_with(const struct usertrap_call *call, const long a[6])
{
	return ut_sys(call->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* The mask and its size are arguments mask_arg and size_arg. */
static long temporary_mask_call(const struct usertrap_call *call, int mask_arg, int size_arg)
{
	long a[6];
	memcpy(a, call->args, sizeof a);
	uint64_t copy;
	if (filtered_copy((uint64_t)a[mask_arg], (uint64_t)a[size_arg], &copy))
		a[mask_arg] = (long)&copy;
	return call_with(call, a);
}

/* pselect6 and io_pgetevents: the sixth argument points to {const sigset_t *mask; size_t size}. */
static long mask_pair_call(const struct usertrap_call *call)
{
	long a[6];
	memcpy(a, call->args, sizeof a);
	uint64_t pair[2], copy;
	if (a[5] && safecopy_memcpy(pair, (const void *)a[5], sizeof pair, NULL) == sizeof pair &&
	    filtered_copy(pair[0], pair[1], &copy)) {
		pair[0] = (uint64_t)(uintptr_t)&copy;
		a[5] = (long)pair;
	}
	return call_with(call, a);
}

#define IORING_ENTER_EXT_ARG_    (1u << 3)
#define IORING_ENTER_EXT_ARG_REG (1u << 6)

/* io_uring_enter: the mask is the fifth argument (its size the sixth), or with IORING_ENTER_EXT_ARG
 * the first field of a struct io_uring_getevents_arg {u64 sigmask; u32 sigmask_sz; u32; u64 ts} there.
 * A registered wait region (IORING_ENTER_EXT_ARG_REG) is not looked into. */
static long io_uring_enter_call(const struct usertrap_call *call)
{
	unsigned flags = (unsigned)call->args[3];
	if (flags & IORING_ENTER_EXT_ARG_REG)
		return call_with(call, call->args);
	if (!(flags & IORING_ENTER_EXT_ARG_))
		return temporary_mask_call(call, 4, 5);
	long a[6];
	memcpy(a, call->args, sizeof a);
	uint64_t ga[3], copy;
	if (a[4] && a[5] == sizeof ga &&
	    safecopy_memcpy(ga, (const void *)a[4], sizeof ga, NULL) == sizeof ga &&
	    filtered_copy(ga[0], (uint32_t)ga[1], &copy)) {
		ga[0] = (uint64_t)(uintptr_t)&copy;
		a[4] = (long)ga;
	}
	return call_with(call, a);
}

bool ut_mask_call(const struct usertrap_call *call, long *result)
{
	switch (call->nr) {
	case SYS_rt_sigprocmask:
		*result = sigprocmask_call(call);
		return true;
	case SYS_rt_sigsuspend:
		*result = temporary_mask_call(call, 0, 1);
		return true;
	case SYS_ppoll:
		*result = temporary_mask_call(call, 3, 4);
		return true;
	case SYS_epoll_pwait:
	case SYS_epoll_pwait2:
		*result = temporary_mask_call(call, 4, 5);
		return true;
	case SYS_pselect6:
	case SYS_io_pgetevents:
		*result = mask_pair_call(call);
		return true;
	case SYS_io_uring_enter:
		*result = io_uring_enter_call(call);
		return true;
	default:
		return false;
	}
}
