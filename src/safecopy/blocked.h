/*
 * Previous handlers that run with SIGSEGV or SIGBUS blocked, and safecopy calls made inside them.
 * Internal to libsafecopy.
 *
 * The chain runs a previous handler under the mask the kernel would have given it, SIGSEGV/SIGBUS
 * included: a foreign fault inside it then ends the process as the kernel ends it, and a signal sent
 * meanwhile stays pending until it returns. A safecopy call made inside it (a crash reporter reading
 * memory) unblocks them just for its routine, where its own faults must be caught; a signal sent
 * during that short window is held and re-sent once the window closes, so it is still pending
 * until the handler returns.
 */
#ifndef SAFECOPY_BLOCKED_H
#define SAFECOPY_BLOCKED_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "safecopy/origin.h"
#include "safecopy/routines.h"

/* The kernel's 64-bit signal set bit of sig. */
static inline uint64_t sc_sigbit(int sig)
{
	return (uint64_t)1 << (sig - 1);
}

#define SC_FAULT_SIGNALS (sc_sigbit(SIGSEGV) | sc_sigbit(SIGBUS))

/*
 * Around a previous handler that runs with `blocked` (a subset of SC_FAULT_SIGNALS) blocked: push
 * returns what pop must restore. Marks the library so that wrappers take their slow path.
 * Async-signal-safe.
 */
SC_HIDDEN uint64_t sc_blocked_push(uint64_t blocked);
SC_HIDDEN void sc_blocked_pop(uint64_t saved);

/*
 * A signal that is not safecopy's own fault, arriving in the calling thread. True if it arrived in a
 * window where it should have been blocked; it has then been dealt with as the kernel deals with a
 * blocked signal (a sent one held for later; a fault ends the process). Async-signal-safe.
 */
SC_HIDDEN bool sc_blocked_intercept(int sig, const siginfo_t *info, enum sc_origin origin);

/* The slow path around a routine call: installs the handler on first use, opens the window if needed. */
struct sc_window {
	uint64_t saved_mask;
	bool open;
};
SC_HIDDEN void sc_window_enter(struct sc_window *w);
SC_HIDDEN void sc_window_leave(struct sc_window *w);

#endif
