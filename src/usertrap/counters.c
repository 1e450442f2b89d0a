/* Counters: relaxed atomics bumped on each path, read one by one. */
#include "usertrap/internal.h"

struct ut_counters ut_count;

#define LOAD(f) __atomic_load_n(&ut_count.f, __ATOMIC_RELAXED)

void usertrap_get_counters(struct usertrap_counters *out)
{
	if (!out)
		return;
	out->sites_patched = LOAD(sites_patched);
	out->patches = LOAD(patches);
	out->patch_failures = LOAD(patch_failures);
	out->slots_used = ut_registry_used();
	out->slots_free = USERTRAP_MAX_SITES - out->slots_used;
	out->trampoline_calls = ut_trampoline_calls();
	out->sigsys_calls = LOAD(sigsys_calls);
	out->in_place_calls = LOAD(in_place_calls);
	out->capture_lost = LOAD(capture_lost);
	out->sigill_restarts = LOAD(sigill_restarts);
	out->restart_syscalls = LOAD(restart_syscalls);
}
