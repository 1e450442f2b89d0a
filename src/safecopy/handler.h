/* safecopy's SIGSEGV/SIGBUS handler. Internal to libsafecopy. */
#ifndef SAFECOPY_HANDLER_H
#define SAFECOPY_HANDLER_H

#include <signal.h>

#include "safecopy/routines.h"

/* The action safecopy_init() installs: safecopy_handle_signal(), else sc_chain(). */
SC_HIDDEN void sc_signal_handler(int sig, siginfo_t *info, void *ucontext);

#endif
