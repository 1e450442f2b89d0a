/* Counters: relaxed atomics bumped on each path, read one by one. */
#include "usertrap/counters.h"

struct ut_counters ut_count;

/*
 * Trampoline calls are the fast path: a locked increment there would be a large share of its cost
 * (the bench rows of syscall/getppid). Each thread increments a cell of its own instead, claimed from a pool
 * on its first call and never given back, so only the owner ever writes it and a reader sums all
 * cells. Threads beyond the pool share an atomic counter. Exact either way.
 */
#define UT_COUNT_CELLS 1024
static struct {
	uint64_t n;
	char pad[56];
} count_cells[UT_COUNT_CELLS] __attribute__((aligned(64)));
static unsigned cells_claimed;
static uint64_t shared_trampoline_calls;
static __thread uint64_t *my_cell UT_TLS;

void ut_count_trampoline_call(void)
{
	uint64_t *c = my_cell;
	if (__builtin_expect(c == NULL, 0)) {
		unsigned i = __atomic_fetch_add(&cells_claimed, 1, __ATOMIC_RELAXED);
		if (i >= UT_COUNT_CELLS) {
			__atomic_fetch_add(&shared_trampoline_calls, 1, __ATOMIC_RELAXED);
			return;
		}
		c = my_cell = &count_cells[i].n;
	}
	/* Only this thread writes its cell, so no lock; one instruction, so a signal handler that counts a
	 * call of its own on this thread cannot land between a load and a store and be lost. */
	__asm__ volatile("incq %0" : "+m"(*c));
}

static uint64_t trampoline_calls(void)
{
	unsigned n = __atomic_load_n(&cells_claimed, __ATOMIC_RELAXED);
	if (n > UT_COUNT_CELLS)
		n = UT_COUNT_CELLS;
	uint64_t sum = __atomic_load_n(&shared_trampoline_calls, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < n; i++)
		sum += __atomic_load_n(&count_cells[i].n, __ATOMIC_RELAXED);
	return sum;
}

void ut_counters_after_fork_child(void)
{
	struct ut_counters state = {.sites_patched =
	                                __atomic_load_n(&ut_count.sites_patched, __ATOMIC_RELAXED),
	                            .slots_used = __atomic_load_n(&ut_count.slots_used, __ATOMIC_RELAXED)};
	ut_count = state;
	__atomic_store_n(&shared_trampoline_calls, 0, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < UT_COUNT_CELLS; i++)
		__atomic_store_n(&count_cells[i].n, 0, __ATOMIC_RELAXED);
}

#define LOAD(f) __atomic_load_n(&ut_count.f, __ATOMIC_RELAXED)

void usertrap_get_counters(struct usertrap_counters *out)
{
	if (!out)
		return;
	out->sites_patched = LOAD(sites_patched);
	out->patches = LOAD(patches);
	out->patch_failures = LOAD(patch_failures);
	out->slots_used = LOAD(slots_used);
	out->slots_free = USERTRAP_MAX_SITES - out->slots_used;
	out->trampoline_calls = trampoline_calls();
	out->sigsys_calls = LOAD(sigsys_calls);
	out->in_place_calls = LOAD(in_place_calls);
	out->capture_lost = LOAD(capture_lost);
	out->sigill_restarts = LOAD(sigill_restarts);
	out->restart_syscalls = LOAD(restart_syscalls);
	out->sigsys_native = LOAD(sigsys_native);
	out->sigill_calls = LOAD(sigill_calls);
}
