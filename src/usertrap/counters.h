/* Layer 0 (see src/usertrap/README.md). The counters behind usertrap_get_counters(). */
#ifndef USERTRAP_COUNTERS_H
#define USERTRAP_COUNTERS_H

#include "usertrap/cells.h"
#include "usertrap/defs.h"

/* Every counter but the trampoline calls: relaxed atomics, bumped on each path. */
struct ut_counters {
	uint64_t patches, patch_failures, sigsys_calls, in_place_calls, capture_lost, sigill_restarts,
	    restart_syscalls, sigsys_native, sigill_calls; /* events */
	uint64_t sites_patched, slots_used;                /* state */
};
UT_HIDDEN extern struct ut_counters ut_count;
#define UT_COUNT(field)   __atomic_fetch_add(&ut_count.field, 1, __ATOMIC_RELAXED)
#define UT_UNCOUNT(field) __atomic_fetch_sub(&ut_count.field, 1, __ATOMIC_RELAXED)

/* Trampoline calls are the fast path: counted in per-thread cells, without a locked instruction. */
UT_HIDDEN extern struct ut_cells ut_trampoline_cells;
UT_HIDDEN extern __thread uint64_t *ut_trampoline_cell UT_TLS;

/* Counts one call through a patched site. Inline: it is on every trampoline call's way (ut_dispatch).
 * Async-signal-safe. */
static inline void ut_count_trampoline_call(void)
{
	ut_cells_add(&ut_trampoline_cells, &ut_trampoline_cell);
}

/* In a child made by fork, its only thread: every count of events back to zero (the state counts,
 * sites_patched and slots_used, describe memory the child shares a copy of, and stay). */
UT_HIDDEN void ut_counters_after_fork_child(void);

#endif
