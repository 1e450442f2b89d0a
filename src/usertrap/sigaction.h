/*
 * Layer 3 (see src/usertrap/README.md). rt_sigaction as usertrap_syscall() passes it through: no handler may
 * block the UT_KEEP_MASK signals; the application reads back its own action (see sigaction.c).
 */
#ifndef USERTRAP_SIGACTION_H
#define USERTRAP_SIGACTION_H

#include "usertrap/defs.h"

/* Runs call (an rt_sigaction) with a filtered action; returns the kernel's result. */
UT_HIDDEN long ut_sigaction_call(const struct usertrap_call *call);
/* Filters the actions installed so far (when capture is set up). */
UT_HIDDEN void ut_actions_filter(void);
/* Gives every filtered action back to the kernel as the application gave it (at shutdown). */
UT_HIDDEN void ut_actions_restore(void);

#endif
