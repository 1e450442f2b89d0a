/* The own-fault test of safecopy's handler. Internal to libsafecopy. */
#ifndef SAFECOPY_OWN_FAULT_H
#define SAFECOPY_OWN_FAULT_H

#include <signal.h>
#include <stdbool.h>

#include "safecopy/routines.h"

/*
 * Where and how a routine resumes after its fault: RIP = landing, RAX = value, RDX = word; or, for an
 * inline access (pc_only), RIP = landing and nothing else changed.
 */
struct sc_resume {
	uintptr_t landing;
	uint64_t value;
	uint64_t word;
	bool pc_only;
};

/*
 * True if the signal is the synchronous fault of the access a routine declared at the interrupted PC
 * (see asm/safecopy.inc), or of an attached inline access there (inline_sites.c); *out then says how
 * to resume it. False for everything else. Reads only the routine table, the attached lists and the
 * signal; async-signal-safe.
 */
SC_HIDDEN bool sc_own_fault(int signo, const siginfo_t *info, const void *ucontext, struct sc_resume *out);

#endif
