/* safecopy's SIGSEGV/SIGBUS handler. Internal to libsafecopy. */
#ifndef SAFECOPY_HANDLER_H
#define SAFECOPY_HANDLER_H

#include <signal.h>

#include "safecopy/routines.h"

/*
 * The action safecopy_init() installs (asm/fast_exit.asm): calls sc_signal_dispatch with its entry
 * RSP, then leaves by sc_fast_exit or by returning to the restorer.
 */
SC_HIDDEN void sc_signal_handler(int sig, siginfo_t *info, void *ucontext);

/*
 * safecopy_handle_signal(), else sc_chain(). Returns ucontext when the handler may leave by a fast
 * exit to it (fast_exit.h), NULL when it must return. frame: the handler's RSP at entry.
 */
SC_HIDDEN void *sc_signal_dispatch(int sig, siginfo_t *info, void *ucontext, const void *frame);

#endif
