/* Passing foreign signals on to the actions safecopy replaced. Internal to libsafecopy. */
#ifndef SAFECOPY_CHAIN_H
#define SAFECOPY_CHAIN_H

#include <signal.h>

#include "safecopy/routines.h"

/* Remembers the action that was in place for sig (SIGSEGV or SIGBUS) before safecopy's. */
SC_HIDDEN void sc_chain_remember(int sig, const struct sigaction *previous);

/*
 * Delivers a signal that is not safecopy's own fault to the remembered action, as the kernel would
 * have delivered it had safecopy never been installed (see chain.c). Async-signal-safe; makes no libc
 * call.
 */
SC_HIDDEN void sc_chain(int sig, siginfo_t *info, void *ucontext);

#endif
