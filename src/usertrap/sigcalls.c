/*
 * The system calls that give the kernel a signal mask, as usertrap_syscall() passes them through.
 *
 * SIGSYS, SIGILL, SIGSEGV and SIGBUS must stay deliverable while usertrap runs: with SIGSYS blocked an
 * intercepted call kills the process, with SIGILL blocked a thread caught on a guard byte dies, with
 * SIGSEGV or SIGBUS blocked a libsafecopy fault (the patcher reads sites through it) does. So every
 * mask the kernel is given loses those four (UT_KEEP_MASK), and the application is shown its own mask
 * when it asks:
 * - rt_sigprocmask: the thread's mask (from the SIGSYS handler: the mask in the signal frame).
 * - rt_sigaction: the handler's sa_mask, and the handled signal's own bit (SA_NODEFER is added for the
 *   four). dash, Debian's /bin/sh, installs its SIGCHLD handler with a full sa_mask: without this, the
 *   handler's first intercepted call (at the latest its rt_sigreturn) killed the shell.
 * - the temporary masks of calls that sleep: rt_sigsuspend, ppoll, pselect6, epoll_pwait(2),
 *   io_pgetevents, io_uring_enter.
 * rt_sigaction on SIGSYS, while capture is set up, is virtualised instead (see sigaction_sigsys).
 * Actions installed before capture was set up are filtered when it is (ut_actions_filter), and every
 * action changed is given back to the kernel as the application gave it at shutdown.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

#include "arch/x86_64.h"
#include "usertrap/internal.h"

#define UT_UNBLOCKABLE ((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)))
#define SIGSET_SIZE    8 /* the kernel's sigset_t on x86-64 */

/* ---- rt_sigprocmask ---- */

static long sigprocmask_call(const struct usertrap_call *call)
{
	long how = call->args[0];
	const uint64_t *set = (const uint64_t *)call->args[1];
	uint64_t *oldset = (uint64_t *)call->args[2];
	if (call->args[3] != SIGSET_SIZE)
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

/* ---- rt_sigaction ---- */

/* The kernel's struct sigaction on x86-64. */
struct kact {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

/* rt_sigaction on SIGSYS while capture is set up: the application's action is remembered (it gets every
 * SIGSYS that is not from Syscall User Dispatch) and usertrap's handler stays installed. */
static long sigaction_sigsys(const struct usertrap_call *call)
{
	const void *act = (const void *)call->args[1];
	void *oact = (void *)call->args[2];
	if (call->args[3] != SIGSET_SIZE)
		return -EINVAL;
	struct kact old, nw;
	ut_chain_get_previous(SIGSYS, &old);
	if (act && safecopy_memcpy(&nw, act, sizeof nw, NULL) != sizeof nw)
		return -EFAULT;
	if (oact && safecopy_memcpy(oact, &old, sizeof old, NULL) != sizeof old)
		return -EFAULT;
	if (act)
		ut_chain_set_previous(SIGSYS, &nw);
	return 0;
}

/*
 * What the application gave for each signal that the kernel got changed: the handler (to recognise the
 * action when it is read back), which of the four signals its sa_mask held, and whether SA_NODEFER
 * was added. One word per signal, so that a signal handler reads it whole and without a lock:
 * handler << 8 | VIEW_VALID | VIEW_NODEFER_ADDED | the four bits (user addresses are below 2^56).
 */
#define VIEW_KEEP_BITS     0x0fu
#define VIEW_NODEFER_ADDED 0x10u
#define VIEW_VALID         0x20u
static uint64_t views[64];

static const int keep_signals[4] = {SIGILL, SIGBUS, SIGSEGV, SIGSYS};

static uint64_t sig_bit(int sig)
{
	return 1ULL << (sig - 1);
}

static unsigned keep_pack(uint64_t mask)
{
	unsigned bits = 0;
	for (unsigned i = 0; i < 4; i++)
		if (mask & sig_bit(keep_signals[i]))
			bits |= 1u << i;
	return bits;
}

static uint64_t keep_unpack(unsigned bits)
{
	uint64_t mask = 0;
	for (unsigned i = 0; i < 4; i++)
		if (bits & (1u << i))
			mask |= sig_bit(keep_signals[i]);
	return mask;
}

/* The action the kernel is given for the application's `app`; *view says how to undo it (0: no
 * change). */
static struct kact filtered_action(int sig, const struct kact *app, uint64_t *view)
{
	struct kact given = *app;
	given.mask &= ~UT_KEEP_MASK;
	bool add_nodefer = (UT_KEEP_MASK & sig_bit(sig)) && !(app->flags & SA_NODEFER);
	if (add_nodefer)
		given.flags |= SA_NODEFER;
	*view = 0;
	if (given.mask != app->mask || add_nodefer)
		*view = app->handler << 8 | VIEW_VALID | (add_nodefer ? VIEW_NODEFER_ADDED : 0) |
		        keep_pack(app->mask);
	return given;
}

/* The kernel's action as the application gave it, if `view` recorded the change made to it (else false:
 * the kernel's action is the truth). */
static bool application_view(struct kact *k, uint64_t view)
{
	if (!(view & VIEW_VALID) || view >> 8 != k->handler || (k->mask & UT_KEEP_MASK))
		return false;
	if (view & VIEW_NODEFER_ADDED) {
		if (!(k->flags & SA_NODEFER))
			return false;
		k->flags &= ~(uint64_t)SA_NODEFER;
	}
	k->mask |= keep_unpack((unsigned)(view & VIEW_KEEP_BITS));
	return true;
}

static long sigaction_call(const struct usertrap_call *call)
{
	int sig = (int)call->args[0];
	const void *act = (const void *)call->args[1];
	void *oact = (void *)call->args[2];
	if (sig == SIGSYS && ut_lazy && __atomic_load_n(&ut_state, __ATOMIC_ACQUIRE) == 1)
		return sigaction_sigsys(call);
	if (sig < 1 || sig > 64 || call->args[3] != SIGSET_SIZE)
		return ut_sys(SYS_rt_sigaction, sig, (long)act, (long)oact, call->args[3], 0, 0);
	struct kact app, given, old;
	uint64_t view = 0;
	if (act) {
		if (safecopy_memcpy(&app, act, sizeof app, NULL) != sizeof app)
			return -EFAULT;
		given = filtered_action(sig, &app, &view);
	}
	uint64_t old_view = __atomic_load_n(&views[sig - 1], __ATOMIC_ACQUIRE);
	long r =
	    ut_sys(SYS_rt_sigaction, sig, act ? (long)&given : 0, oact ? (long)&old : 0, SIGSET_SIZE, 0, 0);
	if (r)
		return r;
	if (act)
		__atomic_store_n(&views[sig - 1], view, __ATOMIC_RELEASE);
	if (oact) {
		application_view(&old, old_view);
		if (safecopy_memcpy(oact, &old, sizeof old, NULL) != sizeof old)
			return -EFAULT; /* as the kernel: the new action is set all the same */
	}
	return 0;
}

/* Whose action is usertrap's own or virtualised: never filtered here. */
static bool own_action(int sig)
{
	return sig == SIGKILL || sig == SIGSTOP || sig == SIGILL || sig == SIGSYS;
}

void ut_actions_filter(void)
{
	for (int sig = 1; sig <= 64; sig++) {
		struct kact app, given;
		uint64_t view;
		if (own_action(sig) || ut_sys(SYS_rt_sigaction, sig, 0, (long)&app, SIGSET_SIZE, 0, 0))
			continue;
		given = filtered_action(sig, &app, &view);
		if (view && ut_sys(SYS_rt_sigaction, sig, (long)&given, 0, SIGSET_SIZE, 0, 0) == 0)
			__atomic_store_n(&views[sig - 1], view, __ATOMIC_RELEASE);
	}
}

void ut_actions_restore(void)
{
	for (int sig = 1; sig <= 64; sig++) {
		uint64_t view = __atomic_exchange_n(&views[sig - 1], 0, __ATOMIC_ACQ_REL);
		struct kact k;
		if (!view || ut_sys(SYS_rt_sigaction, sig, 0, (long)&k, SIGSET_SIZE, 0, 0))
			continue;
		if (application_view(&k, view))
			ut_sys(SYS_rt_sigaction, sig, (long)&k, 0, SIGSET_SIZE, 0, 0);
	}
}

/* ---- calls that sleep with a temporary mask ---- */

/* While a temporary mask is in force a signal handler may run and make intercepted calls: the mask
 * must not block SIGSYS (or the others) either. Each call runs with a filtered copy; a mask that cannot
 * be read is left to the kernel to report. */
static bool filtered_copy(uint64_t user_mask, uint64_t size, uint64_t *copy)
{
	if (!user_mask || size != SIGSET_SIZE || safecopy_memcpy(copy, (const void *)user_mask, 8, NULL) != 8)
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
	case SYS_rt_sigaction:
		*result = sigaction_call(call);
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
