/*
 * Layer 0 (see src/usertrap/README.md). The trampoline bodies of asm/usertrap_tramp.asm: which one a
 * vector-save mode uses, and the record they build on the stack for ut_dispatch().
 */
#ifndef USERTRAP_TRAMP_H
#define USERTRAP_TRAMP_H

#include <stddef.h>

#include "usertrap/defs.h"

/* asm/usertrap_tramp.asm builds struct usertrap_call at these offsets (CALL_* there), sets flags to
 * USERTRAP_CALL_PATCHED, and keeps the result in the nr field across XRSTOR. */
_Static_assert(offsetof(struct usertrap_call, nr) == 0 && offsetof(struct usertrap_call, args) == 8 &&
                   offsetof(struct usertrap_call, site) == 56 &&
                   offsetof(struct usertrap_call, flags) == 64 &&
                   offsetof(struct usertrap_call, depth) == 68 &&
                   offsetof(struct usertrap_call, internal_) == 72 && sizeof(struct usertrap_call) == 80,
               "asm/usertrap_tramp.asm: CALL_* offsets of struct usertrap_call");
_Static_assert(USERTRAP_CALL_PATCHED == 1, "asm/usertrap_tramp.asm: CALL_PATCHED");

/* What a vector-save mode needs: the body, and for the XSAVE modes the area's size and mask. */
struct ut_tramp_mode {
	uintptr_t body;
	uint64_t xsave_size; /* a multiple of 64 */
	uint64_t xsave_mask;
};

/* The body for `mode` on this CPU. Returns 0, or USERTRAP_ERR_CPU (the CPU or OS lacks what the mode
 * needs, or the CPU has no SAHF in 64-bit mode, which every body uses). Changes nothing. */
UT_HIDDEN int ut_tramp_choose(enum usertrap_vector_save mode, struct ut_tramp_mode *out);

/* Makes `mode` the one the XSAVE bodies use (their size and mask). */
UT_HIDDEN void ut_tramp_use(const struct ut_tramp_mode *mode);

/* The body every trap-table slot of usertrap's own code lies in (to exclude that code from patching). */
UT_HIDDEN uintptr_t ut_tramp_any_body(void);

#endif
