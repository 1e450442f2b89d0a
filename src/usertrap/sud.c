/* Syscall User Dispatch: probing, arming threads, the shared selector byte. */
#include <errno.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

#include "usertrap/status.h"
#include "usertrap/sud.h"
#include "usertrap/table.h"

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_OFF          0
#define PR_SYS_DISPATCH_ON           1
#endif
#ifndef SYSCALL_DISPATCH_FILTER_ALLOW
#define SYSCALL_DISPATCH_FILTER_ALLOW 0
#define SYSCALL_DISPATCH_FILTER_BLOCK 1
#endif

static unsigned char selector = SYSCALL_DISPATCH_FILTER_ALLOW; /* any other value kills: only 0 or 1 */
static bool in_use;
static bool sealed; /* see ut_sud_seal */
static __thread bool armed UT_TLS;

/* Under valgrind the program's prctl reaches the kernel as valgrind's own: the kernel would then
 * dispatch valgrind's system calls (made outside the allowed range, to a SIGSYS it does not expect:
 * the process dies), not the program's, which valgrind runs itself. */
int ut_sud_probe(void)
{
	if (RUNNING_ON_VALGRIND)
		return ENOTSUP;
	long r = UT_SYS5(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
	return r == 0 ? 0 : (int)-r;
}

bool ut_sud_in_use(void)
{
	return __atomic_load_n(&in_use, __ATOMIC_ACQUIRE);
}

void ut_sud_set_in_use(bool on)
{
	__atomic_store_n(&in_use, on, __ATOMIC_RELEASE);
}

int ut_sud_arm(bool on)
{
	if (on && __atomic_load_n(&sealed, __ATOMIC_ACQUIRE))
		return 0; /* not even the prctl: a seccomp filter may forbid it */
	long r;
	if (on)
		r = UT_SYS5(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, ut_table(),
		            UT_DATA_DELTA, &selector);
	else
		r = UT_SYS5(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
	if (r == 0)
		armed = on;
	return (int)r;
}

bool ut_sud_armed(void)
{
	return armed;
}

void ut_sud_unblock_keep(void)
{
	uint64_t keep = UT_KEEP_MASK;
	UT_SYS4(SYS_rt_sigprocmask, SIG_UNBLOCK, &keep, NULL, UT_SIGSET_SIZE);
}

void ut_sud_select(bool intercept)
{
	if (intercept && __atomic_load_n(&sealed, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&selector, intercept ? SYSCALL_DISPATCH_FILTER_BLOCK : SYSCALL_DISPATCH_FILTER_ALLOW,
	                 __ATOMIC_SEQ_CST);
}

bool ut_sud_seal(void)
{
	bool intercepting = __atomic_load_n(&selector, __ATOMIC_SEQ_CST) == SYSCALL_DISPATCH_FILTER_BLOCK;
	__atomic_store_n(&sealed, true, __ATOMIC_SEQ_CST);
	__atomic_store_n(&selector, SYSCALL_DISPATCH_FILTER_ALLOW, __ATOMIC_SEQ_CST);
	return intercepting;
}

void ut_sud_unseal(bool intercept)
{
	__atomic_store_n(&sealed, false, __ATOMIC_SEQ_CST);
	ut_sud_select(intercept);
}

bool ut_sud_sealed(void)
{
	return __atomic_load_n(&sealed, __ATOMIC_ACQUIRE);
}

long ut_sud_program_prctl(const long a[5])
{
	if (!ut_sud_in_use())
		return UT_SYS5(SYS_prctl, a[0], a[1], a[2], a[3], a[4]);
	if (a[1] == PR_SYS_DISPATCH_OFF)
		return a[2] || a[3] || a[4] ? -EINVAL : 0; /* the kernel's checks of an OFF request */
	return -EBUSY;
}

void ut_sud_after_fork_child(void)
{
	if (armed && ut_running())
		ut_sud_arm(true);
	else
		armed = false;
}
