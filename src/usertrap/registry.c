/* The registry of sites bound to trap-table slots. */
#include "usertrap/counters.h"
#include "usertrap/registry.h"

unsigned char ut_site_orig[UT_SLOTS][UT_SITE_LEN];
unsigned char ut_site_patched[UT_SLOTS];
unsigned char ut_site_broken[UT_SLOTS];

static unsigned next_free(void)
{
	if (!ut_table())
		return 1;
	return (unsigned)__atomic_load_n(&ut_header()->next_free, __ATOMIC_ACQUIRE);
}

unsigned ut_registry_used(void)
{
	return next_free() - 1;
}

int ut_registry_find(uintptr_t site, enum ut_slot_kind kind)
{
	unsigned n = next_free();
	for (unsigned i = 1; i < n && i < UT_SLOTS; i++) {
		struct ut_data_slot *d = ut_data_slot(i);
		if (d->site == site && d->kind == (uint64_t)kind)
			return (int)i;
	}
	return 0;
}

int ut_registry_bind(uintptr_t site, enum ut_slot_kind kind, long nr)
{
	int i = ut_registry_find(site, kind);
	if (i)
		return i;
	struct ut_table_header *h = ut_header();
	uint64_t n = h->next_free;
	if (n >= UT_SLOTS || !ut_table_slot_ready((unsigned)n))
		return 0;
	struct ut_data_slot *d = ut_data_slot((unsigned)n);
	d->site = site;
	d->nr = (uint64_t)nr;
	d->kind = kind;
	d->resume = kind == UT_SLOT_PATCH ? site + UT_SITE_LEN : site + UT_SYSCALL_LEN;
	__atomic_store_n(&h->next_free, n + 1, __ATOMIC_RELEASE);
	UT_COUNT(slots_used);
	return (int)n;
}
