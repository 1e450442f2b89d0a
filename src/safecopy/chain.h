/* Passing foreign signals on to the actions safecopy replaced. Internal to libsafecopy. */
#ifndef SAFECOPY_CHAIN_H
#define SAFECOPY_CHAIN_H

#include <signal.h>

#include "safecopy/routines.h"

/* Remembers the action that was in place for sig (SIGSEGV or SIGBUS) before safecopy's. */
SC_HIDDEN void sc_chain_remember(int sig, const struct sigaction *previous);

/*
 * Delivers a signal that is not safecopy's to the remembered action, as the kernel would have:
 * a handler is called under its own mask and flags; SIG_DFL and SIG_IGN end the process with the
 * signal for a real fault, and a sent signal is re-sent (SIG_DFL) or dropped (SIG_IGN).
 * Async-signal-safe.
 */
SC_HIDDEN void sc_chain(int sig, siginfo_t *info, void *ucontext);

#endif
