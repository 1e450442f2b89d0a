/*
 * rt_sigaction as usertrap_syscall() passes it through. The kernel is given the handler's sa_mask
 * without the UT_KEEP_MASK signals, and SA_NODEFER when the handled signal is one of them: a handler
 * that blocked SIGSYS would die at its first intercepted call (dash, Debian's /bin/sh, installs its
 * SIGCHLD handler with a full sa_mask, and the handler's rt_sigreturn is intercepted too). The
 * application reads back the action as it gave it. Actions installed before capture was set up are
 * filtered when it is (ut_actions_filter), and every changed action is given back to the kernel as the
 * application gave it at shutdown. rt_sigaction on SIGSYS, while capture is set up, is virtualised
 * instead (but once a seccomp filter sealed usertrap, SIGSYS is the program's again: seccomp.h).
 */
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>

#include "usertrap/chain.h"
#include "usertrap/sigaction.h"
#include "usertrap/status.h"
#include "usertrap/sud.h"
#include "usertrap/table.h"

/* rt_sigaction on a signal usertrap's handler must keep (SIGSYS while capture is set up, SIGILL while
 * usertrap runs): the application's action is remembered (it gets every such signal that is not
 * usertrap's: a SIGSYS not from Syscall User Dispatch, a SIGILL not at a guard byte) and usertrap's
 * handler stays installed. Crash reporters and GNU as install SIGILL handlers; without this, a thread
 * that meets a guard byte would reach theirs. */
static long sigaction_owned(int sig, const struct usertrap_call *call)
{
	const void *act = (const void *)call->args[1];
	void *oact = (void *)call->args[2];
	if (call->args[3] != UT_SIGSET_SIZE)
		return -EINVAL;
	struct ut_kact old, nw;
	ut_chain_get_previous(sig, &old);
	if (act && safecopy_memcpy(&nw, act, sizeof nw, NULL) != sizeof nw)
		return -EFAULT;
	if (oact && safecopy_memcpy(oact, &old, sizeof old, NULL) != sizeof old)
		return -EFAULT;
	if (act)
		ut_chain_set_previous(sig, &nw);
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
static struct ut_kact filtered_action(int sig, const struct ut_kact *app, uint64_t *view)
{
	struct ut_kact given = *app;
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
static bool application_view(struct ut_kact *k, uint64_t view)
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

long ut_sigaction_call(const struct usertrap_call *call)
{
	int sig = (int)call->args[0];
	const void *act = (const void *)call->args[1];
	void *oact = (void *)call->args[2];
	if (sig == SIGSYS && ut_sud_sealed()) /* given back to the program at the seal (seccomp.h) */
		return ut_sys(SYS_rt_sigaction, sig, (long)act, (long)oact, call->args[3], 0, 0);
	if (((sig == SIGSYS && ut_sud_in_use()) || sig == SIGILL) && ut_running())
		return sigaction_owned(sig, call);
	if (sig < 1 || sig > 64 || call->args[3] != UT_SIGSET_SIZE)
		return ut_sys(SYS_rt_sigaction, sig, (long)act, (long)oact, call->args[3], 0, 0);
	struct ut_kact app, given, old;
	uint64_t view = 0;
	if (act) {
		if (safecopy_memcpy(&app, act, sizeof app, NULL) != sizeof app)
			return -EFAULT;
		given = filtered_action(sig, &app, &view);
	}
	uint64_t old_view = __atomic_load_n(&views[sig - 1], __ATOMIC_ACQUIRE);
	long r = ut_sys(SYS_rt_sigaction, sig, act ? (long)&given : 0, oact ? (long)&old : 0, UT_SIGSET_SIZE,
	                0, 0);
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
		struct ut_kact app, given;
		uint64_t view;
		if (own_action(sig) || ut_sys(SYS_rt_sigaction, sig, 0, (long)&app, UT_SIGSET_SIZE, 0, 0))
			continue;
		given = filtered_action(sig, &app, &view);
		if (view && ut_sys(SYS_rt_sigaction, sig, (long)&given, 0, UT_SIGSET_SIZE, 0, 0) == 0)
			__atomic_store_n(&views[sig - 1], view, __ATOMIC_RELEASE);
	}
}

void ut_actions_restore(void)
{
	for (int sig = 1; sig <= 64; sig++) {
		uint64_t view = __atomic_exchange_n(&views[sig - 1], 0, __ATOMIC_ACQ_REL);
		struct ut_kact k;
		if (!view || ut_sys(SYS_rt_sigaction, sig, 0, (long)&k, UT_SIGSET_SIZE, 0, 0))
			continue;
		if (application_view(&k, view))
			ut_sys(SYS_rt_sigaction, sig, (long)&k, 0, UT_SIGSET_SIZE, 0, 0);
	}
}
