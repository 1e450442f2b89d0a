/*
 * Layer 0 (see src/usertrap/README.md). Where the function holding an address starts and ends, from the
 * .eh_frame_hdr search table of the object that holds it (found with _dl_find_object, which glibc
 * documents as async-signal-safe and lock-free). The relocated windows (decode.c) never cross these
 * bounds and decode from the start.
 */
#ifndef USERTRAP_FDE_H
#define USERTRAP_FDE_H

#include "usertrap/defs.h"

/* Fills [*lo, *hi) with the range of the FDE covering pc. Returns false (nothing written) if no
 * loaded object holds pc, it has no search table in the usual encodings (version 1, a sorted table of
 * datarel sdata4 pairs), or no FDE covers pc. Reads through libsafecopy only: async-signal-safe. */
UT_HIDDEN bool ut_function_of(uintptr_t pc, uintptr_t *lo, uintptr_t *hi);

#endif
