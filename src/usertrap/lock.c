/*
 * The patch lock: one patcher at a time, and held across fork (pthread_atfork) so that no child
 * inherits a half-written site. A spin lock with the owner's thread id, because signal handlers (the
 * SIGSYS path patches lazily) must be able to try it without ever waiting on their own thread.
 */
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "usertrap/internal.h"

static int lock_owner; /* tid, 0 when free */

static int my_tid(void)
{
	return (int)ut_sys(SYS_gettid, 0, 0, 0, 0, 0, 0);
}

bool ut_trylock(void)
{
	int expected = 0;
	return __atomic_compare_exchange_n(&lock_owner, &expected, my_tid(), false, __ATOMIC_ACQUIRE,
	                                   __ATOMIC_RELAXED);
}

void ut_lock(void)
{
	while (!ut_trylock())
		ut_sys(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
}

void ut_unlock(void)
{
	__atomic_store_n(&lock_owner, 0, __ATOMIC_RELEASE);
}

bool ut_lock_held_by_me(void)
{
	return __atomic_load_n(&lock_owner, __ATOMIC_ACQUIRE) == my_tid();
}

/* A fork from the patching thread itself (a signal handler, or a step hook in the tests) finds the lock
 * already held by its own thread: the child is then a copy of that patcher and finishes the patch. */
static bool fork_reentered;

static void atfork_prepare(void)
{
	if (ut_lock_held_by_me())
		fork_reentered = true;
	else
		ut_lock();
}

static void atfork_parent(void)
{
	if (fork_reentered)
		fork_reentered = false;
	else
		ut_unlock();
}

static void atfork_child(void)
{
	/* The child's thread has a new tid. */
	if (fork_reentered) {
		fork_reentered = false;
		__atomic_store_n(&lock_owner, my_tid(), __ATOMIC_RELEASE);
	} else {
		ut_unlock();
	}
	ut_after_fork_child(); /* Syscall User Dispatch is not inherited: re-arm */
}

int ut_lock_setup(void)
{
	static int done;
	if (done)
		return 0;
	int r = pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	if (r == 0)
		done = 1;
	return -r;
}
