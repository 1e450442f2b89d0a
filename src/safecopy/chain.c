/*
 * Chaining: a signal that is not safecopy's own fault reaches the action safecopy replaced, the way
 * the kernel would have delivered it had safecopy never been installed.
 *
 * - A handler is called with its flags honoured as far as a handler can emulate them: its sa_mask is
 *   blocked while it runs, SA_RESETHAND resets it after the first call, SA_SIGINFO decides the
 *   arguments. SA_ONSTACK cannot be honoured: it runs on the stack safecopy's handler runs on.
 * - SIGSEGV and SIGBUS themselves are never really blocked while it runs, even where the kernel would
 *   block them (no SA_NODEFER, or in sa_mask): a crash reporter's handler must be able to read memory
 *   with safecopy, and a fault with the signal blocked kills. Instead the blocking is emulated for
 *   everything that is not safecopy's own fault: a foreign fault ends the process with the default
 *   action, as the kernel does for a fault while its signal is blocked, and a sent signal is held
 *   and delivered after the handler returns.
 * - SIG_DFL and SIG_IGN: a page fault gets the default action back and re-runs its instruction,
 *   which faults again and ends the process with the original signal and address (and core dump).
 *   Anything else cannot come back by itself: it is re-sent to the thread with its siginfo once the
 *   default action is back, or dropped where the kernel drops it (ignored and not forced).
 *
 * Only raw system calls: no libc call (no lazy binding, no errno) on a path that runs in signal
 * handlers, often on small alternate stacks.
 */
#include <stdint.h>
#include <sys/syscall.h>

#include "arch/x86_64.h"
#include "arch/x86_64_syscall.h"
#include "safecopy/chain.h"
#include "safecopy/origin.h"

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

static uint64_t bit(int sig)
{
	return (uint64_t)1 << (sig - 1);
}

void sc_chain_remember(int sig, const struct sigaction *act)
{
	struct previous_action *p = slot(sig);
	p->handler.plain = act->sa_handler;
	p->flags = act->sa_flags;
	p->mask = 0;
	for (int s = 1; s <= 64; s++)
		if (sigismember(&act->sa_mask, s) == 1)
			p->mask |= bit(s);
}

/* ---- the system calls the chain makes ---------------------------------------------------------- */

struct kernel_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

static void restore_default(int sig)
{
	struct kernel_sigaction dfl = {.handler = SIG_DFL};
	arch_syscall4(SYS_rt_sigaction, sig, (long)&dfl, 0, sizeof(uint64_t));
}

/*
 * A signal that does not come back by itself: sent again to this thread with its original siginfo
 * (allowed when a thread sends to itself), falling back to a plain tgkill.
 */
static void resend(int sig, const siginfo_t *info)
{
	long pid = arch_syscall4(SYS_getpid, 0, 0, 0, 0);
	long tid = arch_syscall4(SYS_gettid, 0, 0, 0, 0);
	if (arch_syscall4(SYS_rt_tgsigqueueinfo, pid, tid, sig, (long)info) != 0)
		arch_syscall4(SYS_tgkill, pid, tid, sig, 0);
}

static uint64_t set_mask(int how, uint64_t mask)
{
	uint64_t old = 0;
	arch_syscall4(SYS_rt_sigprocmask, how, (long)&mask, (long)&old, sizeof(uint64_t));
	return old;
}

/* ---- emulated blocking while a previous handler runs ------------------------------------------ */

/*
 * Lives in sc_chain's frame while a previous handler runs; the thread finds it through `blocking`.
 * A handler that leaves by longjmp abandons it: a later signal treats it as live only if the signal
 * frame lies below it on the same stack and it still holds its cookie (see live_blocking()).
 */
struct blocking {
	uintptr_t cookie;
	uint64_t blocked; /* SIGSEGV/SIGBUS bits the kernel would have blocked */
	uint64_t held;    /* of those, signals held back, to deliver when the handler returns */
	siginfo_t held_info[2];
};

static __thread struct blocking *blocking __attribute__((tls_model("initial-exec")));

#define COOKIE_SALT ((uintptr_t)0x5afec0b7c0a1e5ceULL)

static struct blocking *live_blocking(const void *ucontext)
{
	struct blocking *b = blocking;
	if (b && (uintptr_t)ucontext < (uintptr_t)b && b->cookie == ((uintptr_t)b ^ COOKIE_SALT))
		return b;
	return NULL;
}

/*
 * What the kernel does with a signal that arrives while it is blocked: a fault it forces (the default
 * action, at once); a sent signal stays pending (held here, one instance per signal as for any
 * standard signal).
 */
static void arrive_blocked(struct blocking *b, int sig, siginfo_t *info, enum sc_origin origin)
{
	if (origin == SC_ORIGIN_SENT) {
		b->held |= bit(sig);
		b->held_info[sig == SIGBUS] = *info; /* [0] SIGSEGV, [1] SIGBUS */
		return;
	}
	restore_default(sig);
	if (origin == SC_ORIGIN_FORCED)
		resend(sig, info);
}

static void call_previous(const struct previous_action *act, int sig, siginfo_t *info, void *ucontext)
{
	uint64_t mask = act->mask | ((act->flags & SA_NODEFER) ? 0 : bit(sig));
	uint64_t never = bit(SIGSEGV) | bit(SIGBUS);
	struct blocking b = {.cookie = 0, .blocked = mask & never};
	b.cookie = (uintptr_t)&b ^ COOKIE_SALT;
	struct blocking *outer = blocking;
	blocking = &b;
	uint64_t saved = set_mask(SIG_BLOCK, mask & ~never);
	if (act->flags & SA_SIGINFO)
		act->handler.info(sig, info, ucontext);
	else
		act->handler.plain(sig);
	set_mask(SIG_SETMASK, saved);
	b.cookie = 0;
	blocking = outer;
	if (b.held & bit(SIGSEGV))
		resend(SIGSEGV, &b.held_info[0]);
	if (b.held & bit(SIGBUS))
		resend(SIGBUS, &b.held_info[1]);
}

void sc_chain(int sig, siginfo_t *info, void *ucontext)
{
	enum sc_origin origin = sc_origin_of(sig, info, ucontext);
	struct blocking *b = live_blocking(ucontext);
	if (b && (b->blocked & bit(sig))) {
		arrive_blocked(b, sig, info, origin);
		return;
	}
	struct previous_action act = *slot(sig);
	if (act.handler.plain == SIG_DFL || act.handler.plain == SIG_IGN) {
		/* The kernel drops an ignored signal unless it forces it (a fault). */
		if (act.handler.plain == SIG_IGN && origin == SC_ORIGIN_SENT)
			return;
		restore_default(sig);
		if (origin != SC_ORIGIN_PAGE_FAULT)
			resend(sig, info);
		return; /* a page fault re-runs its instruction and now ends the process */
	}
	if (act.flags & SA_RESETHAND) {
		slot(sig)->handler.plain = SIG_DFL;
		slot(sig)->flags = 0;
	}
	call_previous(&act, sig, info, ucontext);
}
