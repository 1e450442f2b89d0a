/*
 * Layer 3 (see src/usertrap/README.md). rt_sigprocmask and the calls that sleep with a temporary signal mask,
 * as usertrap_syscall() passes them through: none may block the UT_KEEP_MASK signals.
 */
#ifndef USERTRAP_SIGMASK_H
#define USERTRAP_SIGMASK_H

#include "usertrap/defs.h"

/* True (and *result set) if call->nr is one of them: it was run with filtered masks. */
UT_HIDDEN bool ut_mask_call(const struct usertrap_call *call, long *result);

/* The same for an i386 call (USERTRAP_CALL_I386): rt_sigprocmask, sigprocmask, rt_sigsuspend and
 * sigsuspend (sigmask.c says why only those). */
UT_HIDDEN bool ut_mask_call_i386(const struct usertrap_call *call, long *result);

#endif
