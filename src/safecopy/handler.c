/*
 * safecopy's SIGSEGV/SIGBUS handler: a routine's own fault (own_fault.c) resumes the routine at its
 * landing, by a jump when fast_exit.c proves that the same as rt_sigreturn; a fault at an inline
 * access of the header's loads and peeks (inline_sites.c) resumes its landing through rt_sigreturn;
 * everything else goes on to the previous action (chain.c). Neither makes a libc call, so the
 * handler needs no lazy binding and leaves errno alone. The action's entry is asm/fast_exit.asm's
 * sc_signal_handler, which calls sc_signal_dispatch.
 */
#include "arch/x86_64.h"
#include "safecopy.h"
#include "safecopy/chain.h"
#include "safecopy/fast_exit.h"
#include "safecopy/handler.h"
#include "safecopy/inline_sites.h"
#include "safecopy/own_fault.h"

/* If the signal is a routine's own fault, redirects ucontext to its landing (*resume says how). */
static bool redirect_own_fault(int signo, const siginfo_t *info, void *ucontext, struct sc_resume *resume)
{
	if (info == NULL || ucontext == NULL || !sc_own_fault(signo, info, ucontext, resume))
		return false;
	if (resume->pc_only)
		sc_inline_note_fault(arch_reg(ucontext, ARCH_REG_RDI), resume->word);
	else
		arch_set_return(ucontext, resume->value, resume->word);
	arch_set_pc(ucontext, resume->landing);
	return true;
}

bool safecopy_handle_signal(int signo, void *info_arg, void *ucontext)
{
	struct sc_resume resume;
	return redirect_own_fault(signo, info_arg, ucontext, &resume);
}

/*
 * An inline access never leaves by the fast exit: its caller's registers are all live, vector and
 * caller-saved ones included, and only rt_sigreturn gives every one of them back.
 */
void *sc_signal_dispatch(int sig, siginfo_t *info, void *ucontext, const void *frame)
{
	struct sc_resume resume;
	if (!redirect_own_fault(sig, info, ucontext, &resume)) {
		sc_chain(sig, info, ucontext);
		return NULL;
	}
	return !resume.pc_only && sc_fast_exit_allowed(ucontext, info, frame) ? ucontext : NULL;
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
