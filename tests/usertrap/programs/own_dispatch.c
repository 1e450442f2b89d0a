/*
 * Run plainly and under the preload tool: a program that uses Syscall User Dispatch itself (as Wine
 * does). Plainly it arms dispatch with a selector, catches its own getppid() in its SIGSYS handler and
 * answers it: "caught 1 nr 110 result 4242". Under lazy capture usertrap owns the thread's dispatch:
 * the program's request to arm fails with EBUSY ("arm: EBUSY", exit 3) and it must go on unharmed;
 * a request to disarm succeeds (0) either way.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_OFF          0
#define PR_SYS_DISPATCH_ON           1
#endif

static volatile char selector; /* 0 allow, 1 block */
static volatile int caught, caught_nr;

static void on_sigsys(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	selector = 0; /* before any system call of its own */
	caught++;
	caught_nr = si->si_syscall;
	((ucontext_t *)ucv)->uc_mcontext.gregs[REG_RAX] = 4242;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSYS, &sa, NULL) != 0)
		return 1;
	long off = prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
	printf("disarm %ld\n", off);
	/* No allowed range: every call is the selector's. */
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, 0, 0, &selector) != 0) {
		printf("arm: %s\n", errno == EBUSY ? "EBUSY" : strerror(errno));
		/* Still a working process: its calls go on. */
		printf("pid matches %d\n", (long)getpid() == syscall(SYS_getpid));
		return 3;
	}
	selector = 1;
	long r = syscall(SYS_getppid);
	selector = 0;
	prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
	printf("caught %d nr %d result %ld\n", caught, caught_nr, r);
	return 0;
}
