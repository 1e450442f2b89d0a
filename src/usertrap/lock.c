/*
 * The patch lock: a futex word, 0 when free, else the owner's thread id with WAITERS set once some
 * thread sleeps on it (the unlock then wakes them all: they are few, and each re-checks).
 */
#include <linux/futex.h>
#include <signal.h>
#include <sys/syscall.h>

#include "usertrap/lock.h"
#include "usertrap/table.h"

#define WAITERS  0x40000000 /* above every thread id (FUTEX_TID_MASK is 0x3fffffff) */
#define TID_MASK 0x3fffffff

static int lock_word;
static uint64_t saved_mask; /* the owner's signal mask before it took the lock */

/* Signals that can stay deliverable while the lock is held: the ones an instruction raises (the
 * patcher's reads through libsafecopy take SIGSEGV/SIGBUS), which are never asynchronous. */
#define SYNC_SIGNALS                                                                                  \
	(1ULL << (SIGSEGV - 1) | 1ULL << (SIGBUS - 1) | 1ULL << (SIGILL - 1) | 1ULL << (SIGFPE - 1) | \
	 1ULL << (SIGTRAP - 1) | 1ULL << (SIGSYS - 1))

static int my_tid(void)
{
	return (int)UT_SYS0(SYS_gettid);
}

static void block_async_signals(void)
{
	uint64_t all = ~SYNC_SIGNALS;
	UT_SYS4(SYS_rt_sigprocmask, SIG_BLOCK, &all, &saved_mask, sizeof all);
}

static void restore_signals(void)
{
	uint64_t mask = saved_mask;
	UT_SYS4(SYS_rt_sigprocmask, SIG_SETMASK, &mask, 0, sizeof mask);
}

static bool try_take(int tid)
{
	int expected = 0;
	return __atomic_compare_exchange_n(&lock_word, &expected, tid, false, __ATOMIC_ACQUIRE,
	                                   __ATOMIC_RELAXED);
}

/* Sleeps until the word is no longer `seen` (an owner's tid): marks it WAITERS first. */
static void sleep_on(int seen)
{
	if (!(seen & WAITERS) && !__atomic_compare_exchange_n(&lock_word, &seen, seen | WAITERS, false,
	                                                      __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return; /* it changed: look again */
	/* EAGAIN (it changed meanwhile) and EINTR (a signal ran) just mean: look again. */
	UT_SYS4(SYS_futex, &lock_word, FUTEX_WAIT_PRIVATE, seen | WAITERS, 0);
}

bool ut_trylock(void)
{
	if (!try_take(my_tid()))
		return false;
	block_async_signals();
	return true;
}

void ut_lock(void)
{
	int tid = my_tid();
	int seen;
	while (!try_take(tid))
		if ((seen = __atomic_load_n(&lock_word, __ATOMIC_RELAXED)) != 0)
			sleep_on(seen);
	block_async_signals();
}

void ut_unlock(void)
{
	restore_signals();
	if (__atomic_exchange_n(&lock_word, 0, __ATOMIC_RELEASE) & WAITERS)
		UT_SYS3(SYS_futex, &lock_word, FUTEX_WAKE_PRIVATE, TID_MASK);
}

bool ut_lock_held_by_me(void)
{
	return (__atomic_load_n(&lock_word, __ATOMIC_ACQUIRE) & TID_MASK) == my_tid();
}

bool ut_lock_wait_free(void)
{
	int tid = my_tid(), seen;
	while ((seen = __atomic_load_n(&lock_word, __ATOMIC_ACQUIRE)) != 0) {
		if ((seen & TID_MASK) == tid)
			return false;
		sleep_on(seen);
	}
	return true;
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
	if (fork_reentered) { /* the child's thread has a new tid, and nobody waits in the child */
		fork_reentered = false;
		__atomic_store_n(&lock_word, my_tid(), __ATOMIC_RELEASE);
	} else {
		__atomic_store_n(&lock_word, 0, __ATOMIC_RELEASE); /* the waiters stayed in the parent */
		restore_signals();
	}
}
