/*
 * Layer 3 (see src/usertrap/README.md). usertrap's own SIGILL and SIGSYS handlers, and the actions they
 * replaced, to which every signal that is not usertrap's is passed on. Actions are kept in the kernel's
 * layout so that the SIGSYS virtualisation (sigcalls.c) can store the application's.
 */
#ifndef USERTRAP_CHAIN_H
#define USERTRAP_CHAIN_H

#include <signal.h>

#include "usertrap/defs.h"

/* The kernel's struct sigaction on x86-64 (rt_sigaction with an 8-byte sigset). */
struct ut_kact {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

/* Installs `handler` for sig (SIGILL or SIGSYS) with the raw rt_sigaction and usertrap's restorer,
 * remembering the previous action. Returns 0, 1 if `handler` was installed already (the action it
 * replaced stays the one remembered), or -errno. */
UT_HIDDEN int ut_chain_install(int sig, void (*handler)(int, siginfo_t *, void *), int flags);
/* Puts the remembered action back. Returns 0 or -errno. */
UT_HIDDEN int ut_chain_restore(int sig);
/* Installs usertrap's handler again after ut_chain_restore, as ut_chain_install last installed it
 * (nothing if it never did). Returns as ut_chain_install. */
UT_HIDDEN int ut_chain_reinstall(int sig);
/* Passes a signal that is not usertrap's to the remembered action (see chain.c). In a signal handler. */
UT_HIDDEN void ut_chain(int sig, siginfo_t *info, void *uc);
/* The remembered action (the application's, for a virtualised rt_sigaction on SIGSYS or SIGILL). */
UT_HIDDEN void ut_chain_set_previous(int sig, const struct ut_kact *act);
UT_HIDDEN void ut_chain_get_previous(int sig, struct ut_kact *act);

#endif
