/*
 * Layer 2 (see src/usertrap/README.md). Syscall User Dispatch (prctl PR_SET_SYSCALL_USER_DISPATCH, kernel
 * >= 5.11), the kernel side of lazy capture. A thread is "armed" when it has made the prctl for itself:
 * dispatch is per thread and is not inherited by fork, clone or exec. All armed threads share one
 * selector byte, so capture is paused or resumed in every thread at once. The allowed range is the
 * trap table's code: the gate and the restorer of usertrap's handlers lie there, so usertrap's own
 * calls and its rt_sigreturn are never intercepted.
 */
#ifndef USERTRAP_SUD_H
#define USERTRAP_SUD_H

#include <signal.h>

#include "usertrap/defs.h"

/* Signals that must stay deliverable while usertrap runs: blocking them would turn an intercepted call
 * (SIGSYS), a guard-byte restart (SIGILL) or a libsafecopy fault (SIGSEGV, SIGBUS) into a kill. */
#define UT_KEEP_MASK \
	((1ULL << (SIGSYS - 1)) | (1ULL << (SIGILL - 1)) | (1ULL << (SIGSEGV - 1)) | (1ULL << (SIGBUS - 1)))

/* The kernel's sigset_t on x86-64: the size rt_sigaction and rt_sigprocmask take. */
#define UT_SIGSET_SIZE 8

/* 0 if Syscall User Dispatch can be used, else why not, as an errno: the kernel's answer (EINVAL
 * without it), or ENOTSUP under valgrind (see sud.c). */
UT_HIDDEN int ut_sud_probe(void);

/* Whether lazy capture is set up (usertrap_init with USERTRAP_LAZY, until shutdown). */
UT_HIDDEN bool ut_sud_in_use(void);
UT_HIDDEN void ut_sud_set_in_use(bool on);

/* Arms (on) or disarms the calling thread. Returns 0 or -errno. Async-signal-safe. */
UT_HIDDEN int ut_sud_arm(bool on);
UT_HIDDEN bool ut_sud_armed(void);
/* Unblocks the UT_KEEP_MASK signals in the calling thread (an armed thread must never block them). */
UT_HIDDEN void ut_sud_unblock_keep(void);
/* Intercept (true) or allow (false) the calls of every armed thread. */
UT_HIDDEN void ut_sud_select(bool intercept);

/*
 * The program's own prctl(PR_SET_SYSCALL_USER_DISPATCH, a[1..4]) (a[0] is the option) while lazy
 * capture is set up: the kernel has one dispatch per thread, and usertrap's own system calls, handlers
 * and restorer would all be dispatched to the program under its range and selector (its SIGSYS handler
 * cannot even be called without a system call). So arming is refused with -EBUSY, and disarming
 * answers 0 (the program's dispatch is off, as it asked) without touching usertrap's. Without lazy
 * capture the call is the kernel's.
 */
#define UT_PR_SET_SYSCALL_USER_DISPATCH 59
UT_HIDDEN long ut_sud_program_prctl(const long a[5]);

/*
 * Sealed: the program is installing, or has installed, a seccomp filter, which may forbid any system
 * call usertrap would make of its own (seccomp.h). ut_sud_seal pauses interception in every thread
 * (the selector: no SIGSYS, hence no handler and no rt_sigreturn, comes from dispatch any more), and
 * from then on arming a thread and resuming interception do nothing. It returns whether interception
 * was on; ut_sud_unseal(that) undoes it (the filter was refused). A child of fork stays sealed (the filter
 * is inherited).
 */
UT_HIDDEN bool ut_sud_seal(void);
UT_HIDDEN void ut_sud_unseal(bool intercept);
UT_HIDDEN bool ut_sud_sealed(void);

/* In a child of fork: re-arms the thread if its parent was armed and usertrap runs. */
UT_HIDDEN void ut_sud_after_fork_child(void);

#endif
