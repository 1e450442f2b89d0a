/*
 * Layer 2 (see src/usertrap/README.md). The patch lock: one patcher at a time, held across fork so that no
 * child inherits a half-written site. A futex word holding the owner's thread id, because signal handlers
 * (the SIGSYS path patches lazily) must be able to try it without ever waiting on their own thread.
 * While a thread holds it, that thread's asynchronous signals are blocked: no handler of the program can
 * run on the patcher between its ordered writes, so a site is never left half-written for longer than
 * the writes take, and threads that wait for it (restart.c) wait for the writes alone.
 */
#ifndef USERTRAP_LOCK_H
#define USERTRAP_LOCK_H

#include "usertrap/defs.h"

/* Takes the lock; sleeps (futex) while another thread holds it. Not from a thread that holds it. */
UT_HIDDEN void ut_lock(void);
/* For signal handlers: never waits (false if the lock is held, by any thread). */
UT_HIDDEN bool ut_trylock(void);
UT_HIDDEN void ut_unlock(void);
UT_HIDDEN bool ut_lock_held_by_me(void);
/* Sleeps (futex, no spinning) until no other thread holds the lock. True then; false at once if the
 * caller's own thread holds it (a handler that interrupted the patcher: waiting would never end).
 * Does not take the lock. Async-signal-safe. */
UT_HIDDEN bool ut_lock_wait_free(void);

/* The pthread_atfork handlers' part: the lock is held across fork. */
UT_HIDDEN void ut_lock_before_fork(void);
UT_HIDDEN void ut_lock_after_fork_parent(void);
UT_HIDDEN void ut_lock_after_fork_child(void);

#endif
