/*
 * Chaining. The previous action is called the way the kernel would have called it, as far as that
 * can be emulated from inside another handler: its sa_mask (and the signal itself unless SA_NODEFER)
 * is blocked while it runs, SA_RESETHAND resets it to SIG_DFL before the call. Its SA_ONSTACK cannot
 * be honoured: it runs on whatever stack safecopy's handler runs on.
 */
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "safecopy/chain.h"

static struct sigaction previous_action[2];

static struct sigaction *slot(int sig)
{
	return &previous_action[sig == SIGBUS];
}

void sc_chain_remember(int sig, const struct sigaction *previous)
{
	*slot(sig) = *previous;
}

static void restore_default(int sig)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
}

/*
 * A sent signal does not come back by itself when the handler returns: send it again, to this thread,
 * with its original siginfo (allowed when sending to oneself), now that the default action is back.
 */
static void resend(int sig, siginfo_t *info)
{
	pid_t pid = getpid();
	pid_t tid = (pid_t)syscall(SYS_gettid);
	if (syscall(SYS_rt_tgsigqueueinfo, pid, tid, sig, info) != 0)
		syscall(SYS_tgkill, pid, tid, sig);
}

static void call_previous(const struct sigaction *act, int sig, siginfo_t *info, void *ucontext)
{
	sigset_t block = act->sa_mask, saved;
	if (!(act->sa_flags & SA_NODEFER))
		sigaddset(&block, sig);
	pthread_sigmask(SIG_BLOCK, &block, &saved);
	if (act->sa_flags & SA_SIGINFO)
		act->sa_sigaction(sig, info, ucontext);
	else
		act->sa_handler(sig);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
}

void sc_chain(int sig, siginfo_t *info, void *ucontext)
{
	struct sigaction act = *slot(sig);
	bool sent = info->si_code <= 0;

	/* sa_handler and sa_sigaction share storage: SIG_DFL/SIG_IGN read the same through either. */
	if (act.sa_handler == SIG_DFL) {
		restore_default(sig);
		if (sent)
			resend(sig, info);
		return; /* a real fault re-executes and now kills with the original signal and address */
	}
	if (act.sa_handler == SIG_IGN) {
		/* The kernel drops an ignored sent signal, but forces the default action for a real fault. */
		if (!sent)
			restore_default(sig);
		return;
	}
	if (act.sa_flags & SA_RESETHAND) {
		slot(sig)->sa_handler = SIG_DFL;
		slot(sig)->sa_flags = 0;
	}
	call_previous(&act, sig, info, ucontext);
}
