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
 * from /proc/self/maps: one PROCMAP_QUERY ioctl where the kernel has it (the mapping is then cached
 * if executable), else a read of the whole file, which refills the cache. Returns 0, or -errno (-ENOENT:
 * nothing is mapped there). Needs the patch lock (the only writer of the cache). Raw system calls and stack
 * buffers only: async-signal-safe. */
UT_HIDDEN int ut_find_mapping(uintptr_t addr, struct ut_mapping *m);

/* Drops the cached mappings that overlap [lo, hi): something mapped, unmapped or re-protected there.
 * Any thread, any time, no lock; async-signal-safe. */
UT_HIDDEN void ut_maps_forget(uintptr_t lo, uintptr_t hi);

/* True if [lo, hi) overlaps a mapping that the last read of /proc/self/maps listed (its first 512
 * ranges, adjacent mappings merged); false before any read. Where the kernel has PROCMAP_QUERY, the
 * ranges are those queries named instead, and a range none of them covers is asked about (one ioctl:
 * the first mapping at or above lo, kept). A hint for placing new pages, never forgotten: it may be
 * stale either way (see maps.c). Needs the patch lock. */
UT_HIDDEN bool ut_maps_taken(uintptr_t lo, uintptr_t hi);

/* A descriptor of a /proc/self file kept open while a pass of patches holds it, under the patch lock
 * (the fork handlers take the lock, so no child inherits it). Holds nest; the user opens the
 * descriptor at its first need and hands it to ut_held_keep; the outermost hold's end closes it. */
struct ut_held {
	int fd;         /* -1 while none is kept */
	unsigned holds; /* nesting depth */
};
#define UT_HELD_INIT  \
	{             \
		-1, 0 \
	}

/* on: one hold more; off: one fewer, and the end of the outermost closes the descriptor. */
UT_HIDDEN void ut_held_hold(struct ut_held *h, bool on);

/* fd (just opened, >= 0) is kept in h while a hold is on. Returns fd. */
UT_HIDDEN int ut_held_keep(struct ut_held *h, int fd);

/* on: every query until the matching ut_maps_hold(false) uses one descriptor of /proc/self/maps,
 * opened at the first; off: ends one hold, the outermost closes it. Holds nest. Patch lock (the fork
 * handlers take it, so no child inherits the descriptor). */
UT_HIDDEN void ut_maps_hold(bool on);

/* Tests only: how many times /proc/self/maps was read whole; how many PROCMAP_QUERY ioctls were
 * made; true makes every lookup read the file, as on a kernel before 6.11. */
UT_HIDDEN unsigned long ut_maps_reads(void);
UT_HIDDEN unsigned long ut_maps_queries(void);
UT_HIDDEN extern bool ut_test_no_maps_query;

#endif
