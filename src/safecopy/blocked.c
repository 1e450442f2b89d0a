/*
 * Previous handlers that run with SIGSEGV/SIGBUS blocked, and the safecopy calls made inside them (see
 * blocked.h). The state is per thread, in initial-exec TLS (no allocation, usable in handlers).
 *
 * A previous handler may leave by longjmp instead of returning. What it blocked is then either
 * restored by siglongjmp with the saved mask, and the thread's record is found stale at its next
 * safecopy call (nothing blocked that the record names) and dropped; or left blocked, as the kernel
 * would have left it, and the record stays true.
 */
#include <string.h>

#include "safecopy/blocked.h"
#include "safecopy/inline_sites.h"
#include "safecopy/sigsys.h"

/* Enough of a siginfo to send it again: the header and the fields of sent, child and poll signals. */
#define HELD_BYTES 48

struct thread_state {
	uint64_t blocked; /* fault signals that the running previous handler(s) have blocked */
	uint32_t windows; /* safecopy calls running with them unblocked (nested through handlers) */
	uint32_t held;    /* bit 0 SIGSEGV, bit 1 SIGBUS: sent during a window, to send again after it */
	unsigned char held_info[2][HELD_BYTES];
};

static __thread struct thread_state state __attribute__((tls_model("initial-exec")));

static int held_index(int sig)
{
	return sig == SIGBUS;
}

uint64_t sc_blocked_push(uint64_t blocked)
{
	uint64_t saved = state.blocked;
	if (blocked & ~saved) {
		if (saved == 0) {
			sc_gate_count_threads(1);
			sc_inline_close_all(); /* after the count: see inline_sites.c */
		}
		state.blocked = saved | blocked;
	}
	return saved;
}

void sc_blocked_pop(uint64_t saved)
{
	if (state.blocked != 0 && saved == 0)
		sc_gate_count_threads(-1);
	state.blocked = saved;
}

bool sc_blocked_intercept(int sig, const siginfo_t *info, enum sc_origin origin)
{
	if (state.windows == 0 || !(state.blocked & sc_sigbit(sig)))
		return false;
	if (origin == SC_ORIGIN_SENT) {
		state.held |= 1u << held_index(sig);
		memcpy(state.held_info[held_index(sig)], info, HELD_BYTES);
		return true;
	}
	/* A fault the kernel would have met blocked: it forces the default action. */
	sc_restore_default(sig);
	if (origin == SC_ORIGIN_FORCED)
		sc_resend(sig, info);
	return true; /* a page fault re-runs its instruction and ends the process */
}

static void resend_held_one(int sig)
{
	if (!(state.held & (1u << held_index(sig))))
		return;
	state.held &= ~(1u << held_index(sig));
	siginfo_t info;
	memset(&info, 0, sizeof info);
	memcpy(&info, state.held_info[held_index(sig)], HELD_BYTES);
	sc_resend(sig, &info);
}

void sc_window_enter(struct sc_window *w)
{
	if (sc_gate_is_new())
		sc_init_slow();
	w->open = false;
	uint64_t b = state.blocked;
	if (b == 0)
		return;
	state.windows++; /* first: a signal pending since before is delivered at the unblock, and held */
	uint64_t old = sc_set_mask(SIG_UNBLOCK, b);
	if ((old & b) == 0) {
		state.windows--;
		sc_blocked_pop(0); /* stale: its handler left by a jump that restored the mask */
		return;
	}
	w->saved_mask = old;
	w->open = true;
}

void sc_window_leave(struct sc_window *w)
{
	if (!w->open)
		return;
	sc_set_mask(SIG_SETMASK, w->saved_mask);
	if (--state.windows == 0 && state.held) {
		resend_held_one(
		    SIGSEGV); /* pending now, delivered when the handler that blocked them returns */
		resend_held_one(SIGBUS);
	}
}
