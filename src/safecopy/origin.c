/*
 * Telling faults from signals that only look like them. si_code > 0 means "from the kernel", not "a
 * fault": the codes of SIGSEGV and SIGBUS are reused by child exit signals (CLD_EXITED = 1 =
 * SEGV_MAPERR = BUS_ADRALN) and F_SETSIG (POLL_IN = 1 ...). A page fault is confirmed by the saved
 * context: the kernel records trap 14 and CR2 = the address exactly when it raises the signal for a
 * page fault, while any other signal finds the values of the thread's last fault there, whose CR2 would
 * have to equal this signal's si_addr (a pid, a band) by chance.
 */
#include "arch/x86_64.h"
#include "safecopy/origin.h"

#ifndef SEGV_PKUERR
#define SEGV_PKUERR 4
#endif
#ifndef BUS_MCEERR_AR
#define BUS_MCEERR_AR 4
#endif
#ifndef SEGV_CPERR
#define SEGV_CPERR 10
#endif
#ifndef SI_KERNEL
#define SI_KERNEL 0x80
#endif

static bool is_page_fault_code(int signo, int code)
{
	if (signo == SIGSEGV)
		return code == SEGV_MAPERR || code == SEGV_ACCERR || code == SEGV_PKUERR;
	return code == BUS_ADRERR || code == BUS_MCEERR_AR;
}

enum sc_origin sc_origin_of(int signo, const siginfo_t *info, const void *uc)
{
	int code = info->si_code;
	if (code <= 0)
		return SC_ORIGIN_SENT;
	if (is_page_fault_code(signo, code) && arch_trapno(uc) == ARCH_TRAP_PAGE_FAULT &&
	    arch_cr2(uc) == (uintptr_t)info->si_addr)
		return SC_ORIGIN_PAGE_FAULT;
	if (signo == SIGSEGV && code == SI_KERNEL)
		return SC_ORIGIN_FORCED; /* every SI_KERNEL SIGSEGV is forced (force_sig) */
	if (signo == SIGSEGV && code == SEGV_CPERR && arch_trapno(uc) == ARCH_TRAP_CP)
		return SC_ORIGIN_FORCED; /* shadow stack */
	if (signo == SIGBUS && code == BUS_ADRALN && info->si_addr == NULL && arch_trapno(uc) == ARCH_TRAP_AC)
		return SC_ORIGIN_FORCED;
	if (signo == SIGBUS && code == BUS_MCEERR_AR && arch_trapno(uc) == ARCH_TRAP_MC)
		return SC_ORIGIN_FORCED;
	return SC_ORIGIN_SENT;
}
