/*
 * Layer 2 (see src/usertrap/README.md). Arming threads other than the caller: the threads that exist (each is
 * sent a SIGSYS it answers by arming itself, see ut_arm_answer) and the threads pthread_create makes
 * later (its wrapper arms them from their start routine on, and starts every new thread with SIGILL,
 * SIGSEGV and SIGBUS unblocked, captured or not: a blocked one is a kill at a guard byte or a fault).
 */
#ifndef USERTRAP_ARM_H
#define USERTRAP_ARM_H

#include <signal.h>

#include "usertrap/defs.h"

/* Asks every other thread that does not block SIGSYS to arm itself; waits for the answers, or 1 s.
 * Returns 0 or -errno. Not async-signal-safe. */
UT_HIDDEN int ut_arm_others(void);
/* In the SIGSYS handler: true if the signal was such a request (then answered). */
UT_HIDDEN bool ut_arm_answer(const siginfo_t *info, void *uc);
/* Whether threads created from now on come up armed. */
UT_HIDDEN void ut_arm_new_threads(bool on);

#endif
