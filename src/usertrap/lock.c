/* The patch lock. */
#include <sys/syscall.h>

#include "usertrap/lock.h"
#include "usertrap/table.h"

static int lock_owner; /* tid, 0 when free */

static int my_tid(void)
{
	return (int)UT_SYS0(SYS_gettid);
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
		UT_SYS0(SYS_sched_yield);
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

void ut_lock_before_fork(void)
{
	if (ut_lock_held_by_me())
		fork_reentered = true;
	else
		ut_lock();
}

void ut_lock_after_fork_parent(void)
{
	if (fork_reentered)
		fork_reentered = false;
	else
		ut_unlock();
}

void ut_lock_after_fork_child(void)
{
	if (fork_reentered) { /* the child's thread has a new tid */
		fork_reentered = false;
		__atomic_store_n(&lock_owner, my_tid(), __ATOMIC_RELEASE);
	} else {
		ut_unlock();
	}
}
