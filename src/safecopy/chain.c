/*
 * Chaining: a signal that is not safecopy's own fault reaches the action safecopy replaced, the way
 * the kernel would have delivered it had safecopy never been installed.
 *
 * - A handler is called under the mask the kernel would have given it (its sa_mask, and the signal
 *   itself unless SA_NODEFER); SA_RESETHAND resets it after the first call; SA_SIGINFO decides the
 *   arguments. SA_ONSTACK cannot be honoured: it runs on the stack safecopy's handler runs on.
 *   With SIGSEGV/SIGBUS blocked, a foreign fault inside it ends the process as the kernel ends it,
 *   and a signal sent meanwhile waits until it returns; safecopy calls made inside it still catch
 *   their own faults (blocked.c).
 * - SIG_DFL and SIG_IGN: a page fault gets the default action back and re-runs its instruction,
 *   which faults again and ends the process with the original signal and address (and core dump).
 *   Anything else cannot come back by itself: it is re-sent to the thread with its siginfo once the
 *   default action is back, or dropped where the kernel drops it (ignored and not forced).
 *
 * Only raw system calls: no libc call (no lazy binding, no errno) on a path that runs in signal
 * handlers, often on small alternate stacks.
 */
#include <stdint.h>

#include "safecopy/blocked.h"
#include "safecopy/chain.h"
#include "safecopy/origin.h"
#include "safecopy/sigsys.h"

/* The action safecopy replaced, in the kernel's terms (the mask as the kernel's 64-bit set). */
struct previous_action {
	union {
		void (*plain)(int);
		void (*info)(int, siginfo_t *, void *);
	} handler;
	int flags;
	uint64_t mask;
};

static struct previous_action previous[2];

static struct previous_action *slot(int sig)
{
	return &previous[sig == SIGBUS];
}

void sc_chain_remember(int sig, const struct sigaction *act)
{
	struct previous_action *p = slot(sig);
	p->handler.plain = act->sa_handler;
	p->flags = act->sa_flags;
	p->mask = 0;
	for (int s = 1; s <= 64; s++)
		if (sigismember(&act->sa_mask, s) == 1)
			p->mask |= sc_sigbit(s);
}

static void call_previous(const struct previous_action *act, int sig, siginfo_t *info, void *ucontext)
{
	uint64_t mask = act->mask | ((act->flags & SA_NODEFER) ? 0 : sc_sigbit(sig));
	uint64_t saved_blocked = sc_blocked_push(mask & SC_FAULT_SIGNALS);
	uint64_t saved = sc_set_mask(SIG_BLOCK, mask);
	if (act->flags & SA_SIGINFO)
		act->handler.info(sig, info, ucontext);
	else
		act->handler.plain(sig);
	sc_set_mask(SIG_SETMASK, saved);
	sc_blocked_pop(saved_blocked);
}

void sc_chain(int sig, siginfo_t *info, void *ucontext)
{
	enum sc_origin origin = sc_origin_of(sig, info, ucontext);
	if (sc_blocked_intercept(sig, info, origin))
		return;
	struct previous_action act = *slot(sig);
	if (act.handler.plain == SIG_DFL || act.handler.plain == SIG_IGN) {
		/* The kernel drops an ignored signal unless it forces it (a fault). */
		if (act.handler.plain == SIG_IGN && origin == SC_ORIGIN_SENT)
			return;
		sc_restore_default(sig);
		if (origin != SC_ORIGIN_PAGE_FAULT)
			sc_resend(sig, info);
		return; /* a page fault re-runs its instruction and now ends the process */
	}
	if (act.flags & SA_RESETHAND) {
		slot(sig)->handler.plain = SIG_DFL;
		slot(sig)->flags = 0;
	}
	call_previous(&act, sig, info, ucontext);
}
