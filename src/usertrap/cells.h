/*
 * Layer 0 (see src/usertrap/README.md). Exact counts without a locked instruction, for counters bumped
 * on every call through a patched site (a locked add there also waits for the trampoline's vector-save
 * stores to drain). Each thread increments a cell of its own, claimed from a static pool on its first
 * count and never given back, so only its owner ever writes a cell, a cell outlives its thread, and a
 * reader sums all of them; threads beyond the pool share one atomic counter. Header only, on nothing
 * of the library: the LD_PRELOAD tool (preload.c) counts its hook's calls with it too.
 */
#ifndef USERTRAP_CELLS_H
#define USERTRAP_CELLS_H

#include <stddef.h>
#include <stdint.h>

#define UT_CELLS 1024

struct ut_cells {
	struct {
		uint64_t n;
		char pad[56]; /* one cache line per cell: no false sharing between threads */
	} cell[UT_CELLS] __attribute__((aligned(64)));
	unsigned claimed;
	uint64_t shared; /* the threads beyond the pool */
};

/* How many cells threads have claimed (at most all). */
static inline unsigned claimed_cells(struct ut_cells *cells)
{
	unsigned n = __atomic_load_n(&cells->claimed, __ATOMIC_RELAXED);
	return n < UT_CELLS ? n : UT_CELLS;
}

/* Adds 1 for the calling thread, whose cell pointer (a __thread variable, NULL before its first count)
 * is *mine. Async-signal-safe and exact: a handler that counts on the same thread while the thread
 * claims its cell claims one of its own (left behind, still summed), and the increment is one
 * instruction, so a handler's count never lands between a load and a store. */
static inline void ut_cells_add(struct ut_cells *cells, uint64_t **mine)
{
	uint64_t *c = *mine;
	if (__builtin_expect(c == NULL, 0)) {
		unsigned i = __atomic_fetch_add(&cells->claimed, 1, __ATOMIC_RELAXED);
		if (i >= UT_CELLS) {
			__atomic_fetch_add(&cells->shared, 1, __ATOMIC_RELAXED);
			return;
		}
		c = *mine = &cells->cell[i].n;
	}
	__asm__ volatile("incq %0" : "+m"(*c));
}

/* The sum of every count so far (each cell read atomically; counts made meanwhile may be missed). */
static inline uint64_t ut_cells_sum(struct ut_cells *cells)
{
	unsigned n = claimed_cells(cells);
	uint64_t sum = __atomic_load_n(&cells->shared, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < n; i++)
		sum += __atomic_load_n(&cells->cell[i].n, __ATOMIC_RELAXED);
	return sum;
}

/* Every count back to zero, the cells staying claimed (for a forked child, whose one thread keeps
 * its cell). Only the claimed cells are written: the others are still zero, and their pages need not
 * be faulted in. */
static inline void ut_cells_zero(struct ut_cells *cells)
{
	unsigned n = claimed_cells(cells);
	__atomic_store_n(&cells->shared, 0, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < n; i++)
		__atomic_store_n(&cells->cell[i].n, 0, __ATOMIC_RELAXED);
}

#endif
