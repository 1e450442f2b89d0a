/*
 * Layer 6 (see src/usertrap/README.md). Planning a whole module for the plan cache (plancache.h): the
 * window of every `syscall` of the module's code that lacks the 7-byte pattern, planned as if nothing
 * in its function were patched, recorded in the cache. Done once by a process that loaded the decoder
 * for its eager pass (a cold cache): the processes after it, which do without the decoder, then find
 * a plan for every first hit in that module (libc) instead of leaving the site on the SIGSYS path
 * until a process's end has planned it (on glibc 2.41 sort's hot site was one: 13% on the patched
 * path in its first warm run).
 */
#ifndef USERTRAP_MODPLAN_H
#define USERTRAP_MODPLAN_H

#include "usertrap/defs.h"

/* Plans the executable code of the object that holds addr into the plan cache. Takes the loader's
 * lock (dl_iterate_phdr), then the patch lock: never in a signal handler, nor under the patch lock.
 * Returns the number of windows recorded. */
UT_HIDDEN int ut_plan_module_of(uintptr_t addr);

#endif
