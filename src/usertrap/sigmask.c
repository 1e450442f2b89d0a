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
 * i386 calls (`int $0x80`, caught on the signal path): rt_sigprocmask and sigprocmask change the mask
 * in the signal frame as above (made from the handler, their change would be undone by its return);
 * rt_sigsuspend and sigsuspend run as the x86-64 rt_sigsuspend with a filtered copy, the same
 * operation. The other i386 calls with a mask pointer are made as given: the kernel reads their
 * pointers as 32-bit, and usertrap has no memory below 4 GiB to put a filtered copy in.
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

/* Where the thread's mask is after the call: the signal frame's when it came by SIGSYS (rt_sigreturn
 * restores that one), else NULL (the kernel's own). */
static uint64_t *frame_mask(const struct usertrap_call *call)
{
	void *uc = (call->flags & USERTRAP_CALL_SIGSYS) ? call->internal_ : NULL;
	return uc ? arch_uc_sigmask(uc) : NULL;
}

/* how applied to cur with the new set nset (set: there is one); width 4: an old sigprocmask's 32-bit
 * set, whose SIG_SETMASK leaves the signals above 32 as they are. */
static uint64_t apply_how(uint64_t cur, long how, uint64_t nset, size_t width)
{
	if (how == SIG_BLOCK)
		return cur | nset;
	if (how == SIG_UNBLOCK)
		return cur & ~nset;
	return width == 8 ? nset : (cur & ~(uint64_t)UINT32_MAX) | nset;
}

/*
 * A change of the thread's mask: rt_sigprocmask (width 8) or the i386 sigprocmask (width 4), sets at
 * set and oldset (0: none). Every check the kernel makes comes first; nothing is changed on an error.
 * A call made outside the SIGSYS handler is made as x86-64 rt_sigprocmask calls (the kernel's result).
 */
static long thread_mask_call(const struct usertrap_call *call, long how, uintptr_t set, uintptr_t oldset,
                             size_t width)
{
	uint64_t nset = 0;
	if (set && safecopy_memcpy(&nset, (const void *)set, width, NULL) != width)
		return -EFAULT;
	if (set && how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK)
		return -EINVAL;
	if (how != SIG_UNBLOCK)
		nset &= ~UT_KEEP_MASK;
	uint64_t *mask = frame_mask(call), cur;
	if (mask)
		cur = *mask;
	else if (width == 8 && !(call->flags & USERTRAP_CALL_I386))
		return ut_sys(SYS_rt_sigprocmask, how, set ? (long)&nset : 0, (long)oldset, UT_SIGSET_SIZE, 0,
		              0);
	else
		ut_sys(SYS_rt_sigprocmask, SIG_BLOCK, 0, (long)&cur, UT_SIGSET_SIZE, 0, 0);
	if (oldset && safecopy_memcpy((void *)oldset, &cur, width, NULL) != width)
		return -EFAULT;
	if (!set)
		return 0;
	uint64_t next = apply_how(cur, how, nset, width) & ~UT_UNBLOCKABLE;
	if (mask)
		*mask = next;
	else
		ut_sys(SYS_rt_sigprocmask, SIG_SETMASK, (long)&next, 0, UT_SIGSET_SIZE, 0, 0);
	return 0;
}

static long sigprocmask_call(const struct usertrap_call *call)
{
	if (call->args[3] != UT_SIGSET_SIZE)
		return -EINVAL;
	return thread_mask_call(call, call->args[0], (uintptr_t)call->args[1], (uintptr_t)call->args[2], 8);
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

/* i386 numbers (arch/x86/entry/syscalls/syscall_32.tbl). */
#define I386_SIGSUSPEND     72
#define I386_SIGPROCMASK    126
#define I386_RT_SIGPROCMASK 175
#define I386_RT_SIGSUSPEND  179

/* The i386 register an argument came in: the kernel reads 32 bits of it. */
static uintptr_t arg32(const struct usertrap_call *call, int i)
{
	return (uint32_t)call->args[i];
}

/* An i386 sigsuspend or rt_sigsuspend: the x86-64 rt_sigsuspend with mask, filtered. */
static long suspend_with(uint64_t mask)
{
	mask &= ~UT_KEEP_MASK;
	return ut_sys(SYS_rt_sigsuspend, (long)&mask, UT_SIGSET_SIZE, 0, 0, 0, 0);
}

bool ut_mask_call_i386(const struct usertrap_call *call, long *result)
{
	uint64_t mask = 0;
	switch (call->nr) {
	case I386_RT_SIGPROCMASK:
		*result =
		    arg32(call, 3) != UT_SIGSET_SIZE
		        ? -EINVAL
		        : thread_mask_call(call, (int32_t)arg32(call, 0), arg32(call, 1), arg32(call, 2), 8);
		return true;
	case I386_SIGPROCMASK:
		*result = thread_mask_call(call, (int32_t)arg32(call, 0), arg32(call, 1), arg32(call, 2), 4);
		return true;
	case I386_SIGSUSPEND: /* the third argument is the (32-bit) mask itself; the others are unused */
		*result = suspend_with(arg32(call, 2));
		return true;
	case I386_RT_SIGSUSPEND:
		if (arg32(call, 1) != UT_SIGSET_SIZE)
			*result = -EINVAL;
		else if (safecopy_memcpy(&mask, (const void *)arg32(call, 0), 8, NULL) != 8)
			*result = -EFAULT;
		else
			*result = suspend_with(mask);
		return true;
	default:
		return false;
	}
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
