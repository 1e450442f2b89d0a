/*
 * Layer 3 (see src/usertrap/README.md). The patcher: checks a site, binds it to a trap-table slot and
 * rewrites it in four ordered writes, or in one when no other thread can run (see patcher.c); restores it
 * in four. Both need the patch lock and are async-signal-safe (the SIGSYS path patches from its handler).
 */
#ifndef USERTRAP_PATCHER_H
#define USERTRAP_PATCHER_H

#include "usertrap/defs.h"

/* usertrap_patch() under the lock: same results. */
UT_HIDDEN int ut_patch_locked(uintptr_t site, long nr, struct usertrap_error *err);
/* usertrap_unpatch() under the lock: same results. */
UT_HIDDEN int ut_unpatch_locked(uintptr_t site, struct usertrap_error *err);

/* Tests only: called after each of the first three ordered writes (step 1, 2, 3). */
UT_HIDDEN extern void (*ut_test_step_hook)(uintptr_t site, int step, void *arg);
UT_HIDDEN extern void *ut_test_step_arg;

#endif
