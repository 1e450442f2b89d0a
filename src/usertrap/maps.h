/* Layer 3 (see src/usertrap/README.md). The mapping that holds an address, from /proc/self/maps. */
#ifndef USERTRAP_MAPS_H
#define USERTRAP_MAPS_H

#include "usertrap/defs.h"

struct ut_mapping {
	uintptr_t start, end;
	int prot; /* PROT_* */
	bool shared, vdso;
};

/* Fills *m with the mapping that holds addr. Returns 0, or -errno (-ENOENT: nothing is mapped there).
 * Raw system calls and stack buffers only: async-signal-safe. */
UT_HIDDEN int ut_find_mapping(uintptr_t addr, struct ut_mapping *m);

#endif
