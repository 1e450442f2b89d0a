/* Leaving the handler without rt_sigreturn when that is the same (fast_exit.c). Internal to libsafecopy. */
#ifndef SAFECOPY_FAST_EXIT_H
#define SAFECOPY_FAST_EXIT_H

#include <signal.h>
#include <stdbool.h>

#include "safecopy/routines.h"

/*
 * Once safecopy's action is installed (safecopy_init()): gives it safecopy's own restorer, so that the
 * handler can recognise the frames the kernel builds for it, and detects what the check needs
 * (protection keys, a shadow stack). Leaves the action alone if it is not exactly the one safecopy
 * installed (an interceptor such as a sanitizer's wraps it). Not async-signal-safe; idempotent.
 */
SC_HIDDEN void sc_fast_exit_init(void);

/*
 * True if resuming ucontext (already redirected to a routine's landing) by sc_fast_exit is the same,
 * for the routine's caller, as returning through rt_sigreturn; frame is the handler's RSP at entry.
 * Async-signal-safe; reads only the frame, the ucontext and the CPU.
 */
SC_HIDDEN bool sc_fast_exit_allowed(const void *ucontext, const siginfo_t *info, const void *frame);

/* The restorer safecopy's action is installed with (asm/fast_exit.asm). */
SC_HIDDEN void sc_signal_restorer(void);

/* Tests (static build): 1 forces every fault through rt_sigreturn; the fast exits taken by this thread. */
SC_HIDDEN extern unsigned char sc_fast_exit_forced_off;
SC_HIDDEN extern __thread unsigned long sc_fast_exit_count;

#endif
