/* The fork handlers: the patch lock is held across fork, and Syscall User Dispatch re-armed in the child. */
#include <pthread.h>

#include "usertrap/fork.h"
#include "usertrap/lock.h"
#include "usertrap/status.h"
#include "usertrap/sud.h"

static bool lock_held_for_fork;

static void before_fork(void)
{
	lock_held_for_fork = ut_running();
	if (lock_held_for_fork)
		ut_lock_before_fork();
}

static void after_fork_parent(void)
{
	if (lock_held_for_fork)
		ut_lock_after_fork_parent();
}

static void after_fork_child(void)
{
	if (lock_held_for_fork)
		ut_lock_after_fork_child();
	ut_sud_after_fork_child();
}

/* Registered once, never undone (pthread_atfork cannot be): each handler does nothing unless usertrap
 * ran when the fork began. */
int ut_fork_handlers_register(void)
{
	static bool done;
	if (done)
		return 0;
	int r = pthread_atfork(before_fork, after_fork_parent, after_fork_child);
	done = r == 0;
	return -r;
}
