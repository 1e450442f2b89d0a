/*
 * The inline accesses of the header's loads and peeks, in the modules that use them (inline_sites.c).
 * Internal to libsafecopy.
 */
#ifndef SAFECOPY_INLINE_SITES_H
#define SAFECOPY_INLINE_SITES_H

#include <stdbool.h>
#include <stdint.h>

#include "safecopy/routines.h"

/* An attached inline access: a load of `width` bytes at RDI, to resume at `landing` after a fault. */
struct sc_inline_site {
	uintptr_t landing;
	unsigned width;
};

/*
 * True if pc is an inline access of an attached list; *out then describes it. Reads only the
 * attachments and their lists (never one that is being attached or detached); async-signal-safe.
 */
SC_HIDDEN bool sc_inline_site_at(uintptr_t pc, struct sc_inline_site *out);

/*
 * Closes every attached gate word: called by a thread that is about to run a previous handler with
 * SIGSEGV/SIGBUS blocked, after it has counted itself in sc_gate. Async-signal-safe.
 */
SC_HIDDEN void sc_inline_close_all(void);

/*
 * Called by the handler when it resumes an inline access at its landing: the access's address (RDI)
 * and the fault word, for the landing of a load to report without a second fault (inline_landing.c).
 * Async-signal-safe.
 */
SC_HIDDEN void sc_inline_note_fault(uintptr_t p, uint64_t word);

#endif
