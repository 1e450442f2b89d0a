/*
 * The few signal system calls of the handler's path, made raw (src/arch/x86_64_syscall.h): no libc
 * call, so no lazy binding and no errno. Internal to libsafecopy; async-signal-safe.
 */
#ifndef SAFECOPY_SIGSYS_H
#define SAFECOPY_SIGSYS_H

#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "arch/x86_64_syscall.h"

/* The action as the kernel takes it (the mask is the kernel's 64-bit set). */
struct sc_kernel_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

static inline void sc_restore_default(int sig)
{
	struct sc_kernel_sigaction dfl = {.handler = SIG_DFL};
	arch_syscall4(SYS_rt_sigaction, sig, (long)&dfl, 0, sizeof(uint64_t));
}

/*
 * A signal that does not come back by itself: sent again to this thread with its original siginfo
 * (allowed when a thread sends to itself), falling back to a plain tgkill.
 */
static inline void sc_resend(int sig, const siginfo_t *info)
{
	long pid = arch_syscall4(SYS_getpid, 0, 0, 0, 0);
	long tid = arch_syscall4(SYS_gettid, 0, 0, 0, 0);
	if (arch_syscall4(SYS_rt_tgsigqueueinfo, pid, tid, sig, (long)info) != 0)
		arch_syscall4(SYS_tgkill, pid, tid, sig, 0);
}

/* rt_sigprocmask(how, &mask); returns the mask before. */
static inline uint64_t sc_set_mask(int how, uint64_t mask)
{
	uint64_t old = 0;
	arch_syscall4(SYS_rt_sigprocmask, how, (long)&mask, (long)&old, sizeof(uint64_t));
	return old;
}

#endif
