/*
 * The own-fault test: a fault is safecopy's only if the kernel generated it (si_code > 0; kill()
 * gives SI_USER = 0, tgkill SI_TKILL = -6, sigqueue SI_QUEUE = -1) and the interrupted PC lies inside
 * one of the routines. The routine is then resumed at its landing with the fault in RAX:RDX.
 */
#include <errno.h>

#include "arch/x86_64.h"
#include "safecopy.h"
#include "safecopy/chain.h"
#include "safecopy/handler.h"

bool safecopy_handle_signal(int signo, void *info_arg, void *ucontext)
{
	const siginfo_t *info = info_arg;
	if ((signo != SIGSEGV && signo != SIGBUS) || info == NULL || ucontext == NULL)
		return false;
	if (info->si_code <= 0)
		return false;
	uintptr_t landing = sc_routine_landing(arch_pc(ucontext));
	if (!landing)
		return false;
	uint64_t word = sc_word_make(signo, info->si_code, arch_fault_is_page_fault(ucontext),
	                             arch_fault_is_write(ucontext));
	arch_set_return(ucontext, (uint64_t)(uintptr_t)info->si_addr, word);
	arch_set_pc(ucontext, landing);
	return true;
}

/* The installed handler: ours, or passed on exactly. errno is the interrupted code's, so keep it. */
void sc_signal_handler(int sig, siginfo_t *info, void *ucontext)
{
	int saved_errno = errno;
	if (!safecopy_handle_signal(sig, info, ucontext))
		sc_chain(sig, info, ucontext);
	errno = saved_errno;
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
