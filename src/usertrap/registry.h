/*
 * Layer 2 (see src/usertrap/README.md). The registry of sites: trap-table slot i is bound to one site for
 * good (a thread may still be inside its trampoline after the site is restored), so entries are only ever
 * added, under the patch lock, and published with a release store of the slot count. Signal handlers
 * look sites up without a lock.
 */
#ifndef USERTRAP_REGISTRY_H
#define USERTRAP_REGISTRY_H

#include "usertrap/site.h"
#include "usertrap/table.h"

/* The slot bound to `site` as `kind`, or 0. Lock-free, async-signal-safe. */
UT_HIDDEN int ut_registry_find(uintptr_t site, enum ut_slot_kind kind);
/* Binds a slot to `site` (or finds the one bound); 0 if the table is full. Needs the patch lock. */
UT_HIDDEN int ut_registry_bind(uintptr_t site, enum ut_slot_kind kind, long nr);
/* Number of slots bound. */
UT_HIDDEN unsigned ut_registry_used(void);

/* Per slot, for patched sites: the original bytes, whether the jump is in place, and whether a write
 * failed midway and left the guard byte (see restart.c). Written under the patch lock. */
UT_HIDDEN extern unsigned char ut_site_orig[UT_SLOTS][UT_SITE_LEN];
UT_HIDDEN extern unsigned char ut_site_patched[UT_SLOTS];
UT_HIDDEN extern unsigned char ut_site_broken[UT_SLOTS];

#endif
