/*
 * The traced program's own SIGSEGV and SIGBUS actions. The tracer reads the program's memory through
 * libsafecopy, whose handler must see every fault first; a program that installs its own handler
 * would replace it, and a bad pointer it passes to a call would then fault into the program's handler
 * instead of printing as an address. So rt_sigaction on those two signals is virtualised: the program's
 * action is kept here (and reported back as its old action), the kernel keeps the tracer's handler,
 * and that handler, after libsafecopy has declined a fault, does what the program's action says:
 * call its handler with its mask and flags, or end the process as SIG_DFL would (after the lines
 * gathered so far are written).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

#include "safecopy.h"
#include "sctrace/hook.h"
#include "sctrace/memread.h"
#include "sctrace/output.h"
#include "sctrace/rawsys.h"

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

/* The kernel's struct sigaction on x86-64. */
struct kact {
	unsigned long handler;
	unsigned long flags;
	unsigned long restorer;
	uint64_t mask;
};

/* Signals the program may never block while the tracer runs in it (usertrap keeps the same set). */
#define SCT_KEEP_MASK \
	((1ULL << (SIGSYS - 1)) | (1ULL << (SIGILL - 1)) | (1ULL << (SIGSEGV - 1)) | (1ULL << (SIGBUS - 1)))

static struct kact app_act[2]; /* [0] SIGSEGV, [1] SIGBUS: what the program asked for */
static bool virtualized;

static struct kact *app_action(int sig)
{
	return &app_act[sig == SIGBUS];
}

/* Back to the program's action being the kernel's, and the kernel's default for sig. */
static void set_kernel_default(int sig)
{
	struct kact dfl = {0};
	sct_raw4(SYS_rt_sigaction, sig, &dfl, NULL, 8);
}

static void on_fault(int sig, siginfo_t *info, void *uc)
{
	if (safecopy_handle_signal(sig, info, uc))
		return;
	int saved_errno = errno;
	struct kact a = *app_action(sig);
	if (a.handler == (unsigned long)SIG_DFL || a.handler == (unsigned long)SIG_IGN) {
		if (a.handler == (unsigned long)SIG_IGN && info->si_code <= 0) {
			errno = saved_errno;
			return; /* sent, and ignored */
		}
		/* the process ends as it would untraced: a real fault happens again with the default
		 * action, a sent signal is sent again; the lines gathered so far go out first */
		sct_out_flush();
		set_kernel_default(sig);
		if (info->si_code <= 0)
			sct_raw4(SYS_rt_tgsigqueueinfo, sct_raw0(SYS_getpid), sct_raw0(SYS_gettid), sig,
			         info);
		errno = saved_errno;
		return;
	}
	if (a.flags & SA_RESETHAND)
		*app_action(sig) = (struct kact){0};
	uint64_t block = a.mask | ((a.flags & SA_NODEFER) ? 0 : 1ULL << (sig - 1)), old;
	block &= ~SCT_KEEP_MASK;
	sct_raw4(SYS_rt_sigprocmask, SIG_BLOCK, &block, &old, 8);
	errno = saved_errno;
	if (a.flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))a.handler)(sig, info, uc);
	else
		((void (*)(int))a.handler)(sig);
	saved_errno = errno;
	sct_raw4(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8);
	errno = saved_errno;
}

void sct_faults_remember(void)
{
	sct_raw4(SYS_rt_sigaction, SIGSEGV, NULL, &app_act[0], 8);
	sct_raw4(SYS_rt_sigaction, SIGBUS, NULL, &app_act[1], 8);
}

void sct_faults_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
	if (sigaction(SIGSEGV, &sa, NULL) == 0 && sigaction(SIGBUS, &sa, NULL) == 0)
		virtualized = true;
}

bool sct_faults_owns(long nr, const long *args)
{
	return virtualized && nr == SYS_rt_sigaction && (args[0] == SIGSEGV || args[0] == SIGBUS);
}

long sct_faults_sigaction(const long *args)
{
	int sig = (int)args[0];
	uintptr_t act = (uintptr_t)args[1], oact = (uintptr_t)args[2];
	if (args[3] != 8)
		return -EINVAL;
	struct kact nw, old = *app_action(sig);
	if (act && !sct_peek(&nw, act, sizeof nw))
		return -EFAULT;
	if (oact && safecopy_memcpy((void *)oact, &old, sizeof old, NULL) != sizeof old)
		return -EFAULT;
	if (act)
		*app_action(sig) = nw;
	return 0;
}
