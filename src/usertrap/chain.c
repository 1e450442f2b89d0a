/*
 * Passing on the signals that are not usertrap's, as libsafecopy does for foreign faults: the previous
 * handler is called under its own sa_mask (plus the signal unless SA_NODEFER), SA_RESETHAND is
 * emulated, SIG_DFL restores the default (a real fault then re-executes and kills with the right
 * signal; a sent signal, or any SIGSYS, which never re-executes, is sent again to this thread), SIG_IGN
 * drops a sent signal and restores the default for a real fault.
 *
 * usertrap installs its handlers with the raw rt_sigaction and its own restorer, which lies inside the
 * range Syscall User Dispatch allows: returning from them is never itself intercepted.
 */
#include <string.h>
#include <sys/syscall.h>

#include "usertrap/chain.h"
#include "usertrap/sud.h"
#include "usertrap/table.h"

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

enum { CHAIN_SIGILL, CHAIN_SIGSYS, CHAIN_COUNT };
static struct ut_kact previous[CHAIN_COUNT];
static bool saved[CHAIN_COUNT];
static void (*installed[CHAIN_COUNT])(int, siginfo_t *, void *); /* for ut_chain_reinstall */
static int installed_flags[CHAIN_COUNT];

static int index_of(int sig)
{
	return sig == SIGILL ? CHAIN_SIGILL : CHAIN_SIGSYS;
}

int ut_chain_install(int sig, void (*handler)(int, siginfo_t *, void *), int flags)
{
	int i = index_of(sig);
	installed[i] = handler;
	installed_flags[i] = flags;
	struct ut_kact ours = {
	    .handler = (uint64_t)(uintptr_t)handler,
	    .flags = (unsigned long)flags | SA_SIGINFO | SA_RESTORER,
	    .restorer = ut_restorer(),
	    .mask = 0,
	};
	struct ut_kact old;
	long r = UT_SYS4(SYS_rt_sigaction, sig, NULL, &old, UT_SIGSET_SIZE);
	if (r < 0)
		return (int)r;
	if (old.handler == ours.handler)
		return 1; /* already ours (a second init): keep the remembered previous action */
	r = UT_SYS4(SYS_rt_sigaction, sig, &ours, NULL, UT_SIGSET_SIZE);
	if (r == 0) {
		previous[i] = old;
		saved[i] = true;
	}
	return (int)r;
}

int ut_chain_restore(int sig)
{
	int i = index_of(sig);
	if (!saved[i])
		return 0;
	saved[i] = false;
	return (int)UT_SYS4(SYS_rt_sigaction, sig, &previous[i], NULL, UT_SIGSET_SIZE);
}

int ut_chain_reinstall(int sig)
{
	int i = index_of(sig);
	return installed[i] ? ut_chain_install(sig, installed[i], installed_flags[i]) : 0;
}

void ut_chain_set_previous(int sig, const struct ut_kact *act)
{
	previous[index_of(sig)] = *act;
}

void ut_chain_get_previous(int sig, struct ut_kact *act)
{
	*act = previous[index_of(sig)];
}

static void restore_default(int sig)
{
	struct ut_kact dfl = {.handler = (uint64_t)(uintptr_t)SIG_DFL};
	UT_SYS4(SYS_rt_sigaction, sig, &dfl, NULL, UT_SIGSET_SIZE);
}

static void resend(int sig, siginfo_t *info)
{
	long pid = UT_SYS0(SYS_getpid), tid = UT_SYS0(SYS_gettid);
	if (UT_SYS4(SYS_rt_tgsigqueueinfo, pid, tid, sig, info) != 0)
		UT_SYS3(SYS_tgkill, pid, tid, sig);
}

void ut_chain(int sig, siginfo_t *info, void *uc)
{
	struct ut_kact *slot = &previous[index_of(sig)];
	struct ut_kact act = *slot;
	bool sent = info->si_code <= 0 || sig == SIGSYS;
	if (act.handler == (uint64_t)(uintptr_t)SIG_DFL) {
		restore_default(sig);
		if (sent)
			resend(sig, info);
		return;
	}
	if (act.handler == (uint64_t)(uintptr_t)SIG_IGN) {
		if (!sent)
			restore_default(sig);
		return;
	}
	if (act.flags & SA_RESETHAND) {
		slot->handler = (uint64_t)(uintptr_t)SIG_DFL;
		slot->flags = 0;
	}
	uint64_t block = act.mask, old;
	if (!(act.flags & SA_NODEFER))
		block |= 1ULL << (sig - 1);
	/* Not the signals usertrap and libsafecopy need: the previous handler runs inside usertrap's, and
	 * its own intercepted calls, guard bytes and faults must still be served. */
	block &= ~UT_KEEP_MASK;
	UT_SYS4(SYS_rt_sigprocmask, SIG_BLOCK, &block, &old, UT_SIGSET_SIZE);
	if (act.flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))(uintptr_t)act.handler)(sig, info, uc);
	else
		((void (*)(int))(uintptr_t)act.handler)(sig);
	UT_SYS4(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, UT_SIGSET_SIZE);
}
