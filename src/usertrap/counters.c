/* Counters: relaxed atomics bumped on each path, read one by one. */
#include "usertrap/counters.h"

struct ut_counters ut_count;

struct ut_cells ut_trampoline_cells;
__thread uint64_t *ut_trampoline_cell UT_TLS;

void ut_counters_after_fork_child(void)
{
	struct ut_counters state = {.sites_patched =
	                                __atomic_load_n(&ut_count.sites_patched, __ATOMIC_RELAXED),
	                            .slots_used = __atomic_load_n(&ut_count.slots_used, __ATOMIC_RELAXED)};
	ut_count = state;
	ut_cells_zero(&ut_trampoline_cells);
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
	out->trampoline_calls = ut_cells_sum(&ut_trampoline_cells);
	out->sigsys_calls = LOAD(sigsys_calls);
	out->in_place_calls = LOAD(in_place_calls);
	out->capture_lost = LOAD(capture_lost);
	out->sigill_restarts = LOAD(sigill_restarts);
	out->restart_syscalls = LOAD(restart_syscalls);
	out->sigsys_native = LOAD(sigsys_native);
	out->sigill_calls = LOAD(sigill_calls);
}
