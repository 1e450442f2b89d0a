/*
 * safecopy's SIGSEGV/SIGBUS handler: a routine's own fault (own_fault.c) resumes the routine at its
 * landing; everything else goes on to the previous action (chain.c). Neither makes a libc call, so
 * the handler needs no lazy binding and leaves errno alone.
 */
#include "arch/x86_64.h"
#include "safecopy.h"
#include "safecopy/chain.h"
#include "safecopy/handler.h"
#include "safecopy/own_fault.h"

bool safecopy_handle_signal(int signo, void *info_arg, void *ucontext)
{
	const siginfo_t *info = info_arg;
	struct sc_resume resume;
	if (info == NULL || ucontext == NULL || !sc_own_fault(signo, info, ucontext, &resume))
		return false;
	arch_set_return(ucontext, resume.value, resume.word);
	arch_set_pc(ucontext, resume.landing);
	return true;
}

void sc_signal_handler(int sig, siginfo_t *info, void *ucontext)
{
	if (!safecopy_handle_signal(sig, info, ucontext))
		sc_chain(sig, info, ucontext);
}

static bool installed_for(int sig)
{
	struct sigaction current;
	if (sigaction(sig, NULL, &current) != 0)
		return false;
	return (current.sa_flags & SA_SIGINFO) && current.sa_sigaction == sc_signal_handler;
}

bool safecopy_handler_active(void)
{
	return installed_for(SIGSEGV) && installed_for(SIGBUS);
}
