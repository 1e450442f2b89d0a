/*
 * Layer 3 (see src/usertrap/README.md). Sites the lazy patcher found unpatchable, remembered so that each
 * later hit does not re-read /proc/self/maps. Forgotten when what made them unpatchable may have changed: at
 * init and shutdown, and when the mapping under them changes (a reused address must be patchable
 * again). Lock-free: read and written in the SIGSYS handler.
 */
#ifndef USERTRAP_REFUSED_H
#define USERTRAP_REFUSED_H

#include "usertrap/defs.h"

UT_HIDDEN bool ut_refused(uintptr_t site);
/* The number of times mappings were forgotten: read it before looking at a site's mapping, and pass it
 * to ut_refuse, which then remembers nothing if a mapping changed meanwhile. */
UT_HIDDEN unsigned ut_refused_generation(void);
UT_HIDDEN void ut_refuse(uintptr_t site, unsigned generation);
/* Forgets the sites whose bytes overlap [lo, hi). */
UT_HIDDEN void ut_refused_forget(uintptr_t lo, uintptr_t hi);
UT_HIDDEN void ut_refused_clear(void);

#endif
