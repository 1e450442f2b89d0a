/*
 * Layer 2 (see src/usertrap/README.md). Across fork: the patch lock is held (no child inherits a
 * half-written site) and a thread that was armed is armed again in the child (Syscall User Dispatch
 * is not inherited).
 */
#ifndef USERTRAP_FORK_H
#define USERTRAP_FORK_H

#include "usertrap/defs.h"

/* Registers the pthread_atfork handlers once; they act only while usertrap runs. Returns 0 or -errno. */
UT_HIDDEN int ut_fork_handlers_register(void);

#endif
