/*
 * Layer 2 (see src/usertrap/README.md). The patch lock: one patcher at a time, held across fork so that no
 * child inherits a half-written site. A spin lock with the owner's thread id, because signal handlers
 * (the SIGSYS path patches lazily) must be able to try it without ever waiting on their own thread.
 */
#ifndef USERTRAP_LOCK_H
#define USERTRAP_LOCK_H

#include "usertrap/defs.h"

UT_HIDDEN void ut_lock(void);
/* For signal handlers: never waits (false if the lock is held, by any thread). */
UT_HIDDEN bool ut_trylock(void);
UT_HIDDEN void ut_unlock(void);
UT_HIDDEN bool ut_lock_held_by_me(void);

/* The pthread_atfork handlers' part: the lock is held across fork. */
UT_HIDDEN void ut_lock_before_fork(void);
UT_HIDDEN void ut_lock_after_fork_parent(void);
UT_HIDDEN void ut_lock_after_fork_child(void);

#endif
