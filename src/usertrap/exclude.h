/*
 * Layer 3 (see src/usertrap/README.md). Code that must never be patched: usertrap's and libsafecopy's own,
 * and the sanitizer runtimes that instrument them. They run while a site is half-written, so a site there
 * could trap the patcher in its own guard byte.
 */
#ifndef USERTRAP_EXCLUDE_H
#define USERTRAP_EXCLUDE_H

#include "usertrap/defs.h"

/* Finds the executable segments of those objects among the loaded ones (dl_iterate_phdr). */
UT_HIDDEN void ut_exclusions_setup(void);
/* True if [lo, hi) overlaps one of them. Async-signal-safe. */
UT_HIDDEN bool ut_excluded(uintptr_t lo, uintptr_t hi);

#endif
