/*
 * Layer 0 (see src/usertrap/README.md). The patch policy of lazy capture: a site is patched at its k-th
 * SIGSYS call, not its first (ski rental). A patch costs several signal-path calls (a first hit is
 * ~5-15 us, a SIGSYS call ~1-3 us), so a site a short process calls once or twice (getcwd, getrandom,
 * the fstat of a config file) is cheaper left on the signal path; a site called k times is likely to be
 * called many more, and pays its patch then.
 */
#ifndef USERTRAP_HITS_H
#define USERTRAP_HITS_H

#include "usertrap/defs.h"

#define UT_HITS_SLOTS 1024 /* sites counted; past that, sites are patched at their first hit */

/* k (>= 1): a site is patched at its k-th SIGSYS call. 1 (the default) patches at the first. */
UT_HIDDEN void ut_hits_set_threshold(unsigned k);
UT_HIDDEN unsigned ut_hits_threshold(void);

/* Counts one SIGSYS call at the site `at`; true if that call is its k-th or later (patch it now), or
 * if the table is full. Lock-free (a CAS claims a slot), no allocation: async-signal-safe. */
UT_HIDDEN bool ut_hits_reached(uintptr_t at);

/* The calls counted at `at` so far (0 if none). For the tests and the report. */
UT_HIDDEN unsigned ut_hits_of(uintptr_t at);

/* Forgets every count (usertrap_init again after a shutdown). Not async-signal-safe. */
UT_HIDDEN void ut_hits_clear(void);

#endif
