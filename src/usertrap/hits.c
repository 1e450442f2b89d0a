/*
 * Per-site SIGSYS counts in an open-addressed table: a slot is claimed by a CAS of its address from 0,
 * then its count is an atomic add. Slots are never freed, so a thread that found a site's slot keeps
 * finding it.
 */
#include "usertrap/hits.h"

struct hit_slot {
	uintptr_t at;   /* 0: free */
	unsigned count; /* SIGSYS calls at `at` */
};

static struct hit_slot slots[UT_HITS_SLOTS];
static unsigned threshold = 1;

void ut_hits_set_threshold(unsigned k)
{
	__atomic_store_n(&threshold, k ? k : 1, __ATOMIC_RELAXED);
}

unsigned ut_hits_threshold(void)
{
	return __atomic_load_n(&threshold, __ATOMIC_RELAXED);
}

/* The slot of `at`, claimed if `claim` and not yet there; NULL if absent (or the table is full). */
static struct hit_slot *slot_of(uintptr_t at, bool claim)
{
	/* Fibonacci hashing of the address: sites are a few bytes to pages apart. */
	unsigned h = (unsigned)((at * UINT64_C(0x9e3779b97f4a7c15)) >> 54) % UT_HITS_SLOTS;
	for (unsigned i = 0; i < UT_HITS_SLOTS; i++) {
		struct hit_slot *s = &slots[(h + i) % UT_HITS_SLOTS];
		uintptr_t cur = __atomic_load_n(&s->at, __ATOMIC_ACQUIRE);
		if (cur == at)
			return s;
		if (cur)
			continue;
		if (!claim)
			return NULL;
		uintptr_t expected = 0;
		if (__atomic_compare_exchange_n(&s->at, &expected, at, false, __ATOMIC_ACQ_REL,
		                                __ATOMIC_ACQUIRE) ||
		    expected == at)
			return s;
	}
	return NULL;
}

bool ut_hits_reached(uintptr_t at)
{
	unsigned k = ut_hits_threshold();
	if (k <= 1)
		return true; /* the first hit patches: nothing to count */
	struct hit_slot *s = slot_of(at, true);
	if (!s)
		return true;
	return __atomic_add_fetch(&s->count, 1, __ATOMIC_RELAXED) >= k;
}

unsigned ut_hits_of(uintptr_t at)
{
	struct hit_slot *s = slot_of(at, false);
	return s ? __atomic_load_n(&s->count, __ATOMIC_RELAXED) : 0;
}

void ut_hits_clear(void)
{
	for (unsigned i = 0; i < UT_HITS_SLOTS; i++) {
		__atomic_store_n(&slots[i].count, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&slots[i].at, 0, __ATOMIC_RELEASE);
	}
}
