/*
 * Layer 0 (see src/usertrap/README.md). The plan cache: what eager patching learns from the decoder
 * (the syscall instructions of a function, and the window planned for each site not patched in the
 * 7-byte form) depends only on the function's bytes, so it is kept in a file, keyed by the function's
 * length and a 64-bit hash of its bytes, offsets and addresses relative to the function's start. A
 * warm process then needs no decoder for its eager pass (and does not load Zydis, decode.h).
 *
 * Lazy first hits use it too: a window planned in a first hit is recorded, and a site whose plan is
 * missing while the decoder is not loaded is noted (ut_plancache_put_missing) for the process's end,
 * where usertrap_save_plan_cache plans it (loading the decoder) for the processes after it.
 *
 * The file (DIR/plans) is input, never trusted: read only if it is a regular file owned by the
 * effective user and writable by no one else, its checksum right and every field in bounds; a bad,
 * short or foreign file is ignored (everything misses). It is written whole to a temporary file and
 * renamed over. An entry is used only for a function whose bytes hash to its key now.
 *
 * Records in memory are only appended, lock-free: lookups and records are async-signal-safe (a first
 * hit makes them in the SIGSYS handler). ut_plancache_set_dir, _load and _save read or write files
 * and take a mutex: never in a signal handler.
 */
#ifndef USERTRAP_PLANCACHE_H
#define USERTRAP_PLANCACHE_H

#include "usertrap/decode.h"
#include "usertrap/defs.h"

#define UT_CACHE_SITES 8 /* syscall instructions kept per function */

struct ut_fn_key {
	uint32_t len;
	uint64_t hash;
};

/* What the cache knows of a function's sites. */
struct ut_fn_sites {
	int n;                        /* syscall instructions, in address order */
	uint32_t off[UT_CACHE_SITES]; /* from the function's start */
	uint32_t seven;               /* bit i: site i took the 7-byte form (needs no plan) */
};

/* The key of the code [lo, hi) (at most UT_FN_MAX_LEN bytes) as `view` (may be NULL) says it was before
 * any patch: false if a byte cannot be read. */
UT_HIDDEN bool ut_code_key(uintptr_t lo, uintptr_t hi, const struct ut_code_view *view,
                           struct ut_fn_key *key);

/* Uses the directory dir (NULL: no cache) from now on; forgets what was read and learnt. 0, or
 * USERTRAP_ERR_INVAL if the path is too long. Not while another thread may use the cache. */
UT_HIDDEN int ut_plancache_set_dir(const char *dir);
/* True if a directory is set. */
UT_HIDDEN bool ut_plancache_enabled(void);
/* Reads the file, once per directory set (a bad file: an empty cache). ut_plancache_save reads it
 * first if it was not: the file keeps what it held. */
UT_HIDDEN void ut_plancache_load(void);

/* The sites of the function keyed k: true and *out if known. */
UT_HIDDEN bool ut_plancache_sites(const struct ut_fn_key *k, struct ut_fn_sites *out);
UT_HIDDEN void ut_plancache_put_sites(const struct ut_fn_key *k, const struct ut_fn_sites *s);
/* The planner's result for the site insn_off of the function keyed k, at fn_lo: an enum
 * ut_plan_result (*p filled, rebased at fn_lo, for UT_PLAN_OK), or -1 if unknown. */
UT_HIDDEN int ut_plancache_plan(const struct ut_fn_key *k, uint32_t insn_off, uintptr_t fn_lo,
                                struct ut_plan *p);
/* Records the planner's result (UT_PLAN_OK, _MISALIGNED or _NO_WINDOW; p for UT_PLAN_OK). */
UT_HIDDEN void ut_plancache_put_plan(const struct ut_fn_key *k, uint32_t insn_off, uintptr_t fn_lo,
                                     int result, const struct ut_plan *p);
/* Notes the site at insn, in the function [fn_lo, fn_hi) keyed k, as missing its plan (at most 64). */
UT_HIDDEN void ut_plancache_put_missing(const struct ut_fn_key *k, uintptr_t insn, uintptr_t fn_lo,
                                        uintptr_t fn_hi);
/* The i-th site noted missing: false past the last. */
UT_HIDDEN bool ut_plancache_missing(unsigned i, struct ut_fn_key *k, uintptr_t *insn, uintptr_t *fn_lo,
                                    uintptr_t *fn_hi);
/* True if every site of the function keyed k that needs a plan has one. */
UT_HIDDEN bool ut_plancache_complete(const struct ut_fn_key *k);

/* Writes the file if entries were added since it was read: 0, or -1 (nothing written, the old file
 * kept; also when another thread is saving or loading). Creates the directory (0700) if needed. */
UT_HIDDEN int ut_plancache_save(void);

#endif
