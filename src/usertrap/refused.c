/*
 * The refusal cache: an open-addressing set of site addresses, 8 probes at most. A forgotten entry
 * becomes a tombstone, which lookups probe past and inserts may take again. It is only a hint: an entry
 * lost to a race costs one more look at /proc/self/maps, nothing else.
 */
#include "usertrap/refused.h"
#include "usertrap/site.h"

#define CACHE_SIZE 512
#define PROBES     8
#define TOMBSTONE  ((uintptr_t)1) /* no site lies at address 1 */

static uintptr_t cache[CACHE_SIZE];
static unsigned generation;
static bool any; /* something was remembered since the last clear: forgetting must scan */

static unsigned first_probe(uintptr_t site)
{
	return (unsigned)(site >> 1) % CACHE_SIZE;
}

bool ut_refused(uintptr_t site)
{
	for (unsigned i = 0, h = first_probe(site); i < PROBES; i++, h = (h + 1) % CACHE_SIZE) {
		uintptr_t v = __atomic_load_n(&cache[h], __ATOMIC_RELAXED);
		if (v == site)
			return true;
		if (!v)
			return false;
	}
	return false;
}

unsigned ut_refused_generation(void)
{
	return __atomic_load_n(&generation, __ATOMIC_SEQ_CST);
}

/* Takes back an entry that a concurrent forget may have missed. */
static void take_back(unsigned h, uintptr_t site)
{
	__atomic_compare_exchange_n(&cache[h], &site, TOMBSTONE, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

void ut_refuse(uintptr_t site, unsigned gen)
{
	for (unsigned i = 0, h = first_probe(site); i < PROBES; i++, h = (h + 1) % CACHE_SIZE) {
		uintptr_t v = __atomic_load_n(&cache[h], __ATOMIC_SEQ_CST);
		if (v == site)
			return;
		if ((v == 0 || v == TOMBSTONE) &&
		    __atomic_compare_exchange_n(&cache[h], &v, site, false, __ATOMIC_SEQ_CST,
		                                __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&any, true, __ATOMIC_SEQ_CST);
			/* A forget that began before the insert either saw it, or is seen here. */
			if (ut_refused_generation() != gen)
				take_back(h, site);
			return;
		}
	}
}

void ut_refused_forget(uintptr_t lo, uintptr_t hi)
{
	__atomic_fetch_add(&generation, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&any, __ATOMIC_SEQ_CST))
		return; /* the common case: nothing refused, nothing to scan */
	for (unsigned h = 0; h < CACHE_SIZE; h++) {
		uintptr_t v = __atomic_load_n(&cache[h], __ATOMIC_SEQ_CST);
		if (v > TOMBSTONE && v + UT_SITE_LEN > lo && v < hi)
			take_back(h, v);
	}
}

void ut_refused_clear(void)
{
	__atomic_fetch_add(&generation, 1, __ATOMIC_SEQ_CST);
	/* Nothing refused since the last clear (every usertrap_init of a process that never refused): the
	 * 512 stores (a page of .bss touched, ~5 us of fenced stores at each process's start) are skipped. An
	 * insert racing with this takes itself back (ut_refuse sees the new generation), as for a forget. */
	if (!__atomic_load_n(&any, __ATOMIC_SEQ_CST))
		return;
	__atomic_store_n(&any, false, __ATOMIC_SEQ_CST);
	for (unsigned h = 0; h < CACHE_SIZE; h++)
		__atomic_store_n(&cache[h], 0, __ATOMIC_SEQ_CST);
}
