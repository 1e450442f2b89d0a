/*
 * Layer 3 (see src/usertrap/README.md). The mapping that holds an address, from /proc/self/maps, with a
 * cache of the executable mappings (see maps.c).
 */
#ifndef USERTRAP_MAPS_H
#define USERTRAP_MAPS_H

#include "usertrap/defs.h"

struct ut_mapping {
	uintptr_t start, end;
	int prot; /* PROT_* */
	bool shared, vdso;
};

/* Fills *m with the mapping that holds addr: from the cache, or (when addr is in no cached mapping)
 * from /proc/self/maps, which then refills the cache. Returns 0, or -errno (-ENOENT: nothing is
 * mapped there). Needs the patch lock (the only writer of the cache). Raw system calls and stack
 * buffers only: async-signal-safe. */
UT_HIDDEN int ut_find_mapping(uintptr_t addr, struct ut_mapping *m);

/* Drops the cached mappings that overlap [lo, hi): something mapped, unmapped or re-protected there.
 * Any thread, any time, no lock; async-signal-safe. */
UT_HIDDEN void ut_maps_forget(uintptr_t lo, uintptr_t hi);

/* True if [lo, hi) overlaps a mapping that the last read of /proc/self/maps listed (its first 512
 * ranges, adjacent mappings merged); false before any read. A hint for placing new pages, never
 * forgotten: it may be stale either way (see maps.c). Needs the patch lock. */
UT_HIDDEN bool ut_maps_taken(uintptr_t lo, uintptr_t hi);

/* Tests only: how many times /proc/self/maps was read. */
UT_HIDDEN unsigned long ut_maps_reads(void);

#endif
