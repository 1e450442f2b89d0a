/*
 * The registry of sites: slot i of the trap table is bound to one site for good (a thread may still be
 * inside its trampoline after the site is restored), so entries are only ever added, under the patch
 * lock, and published with a release store of the slot count. Signal handlers look sites up without a
 * lock: they read the count (acquire) and scan at most 255 entries.
 */
#include "usertrap/internal.h"

unsigned char ut_site_orig[UT_SLOTS][8];
unsigned char ut_site_patched[UT_SLOTS];
unsigned char ut_site_broken[UT_SLOTS];

unsigned ut_registry_used(void)
{
	if (!ut_table)
		return 0;
	return (unsigned)__atomic_load_n(&ut_header()->next_free, __ATOMIC_ACQUIRE) - 1;
}

int ut_registry_find(uintptr_t site, enum ut_slot_kind kind)
{
	if (!ut_table)
		return 0;
	unsigned n = (unsigned)__atomic_load_n(&ut_header()->next_free, __ATOMIC_ACQUIRE);
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
	if (n >= UT_SLOTS)
		return 0;
	struct ut_data_slot *d = ut_data_slot((unsigned)n);
	d->site = site;
	d->nr = (uint64_t)nr;
	d->kind = kind;
	d->resume = kind == UT_SLOT_PATCH ? site + 7 : site + 2;
	d->common = ut_common_entry;
	__atomic_store_n(&h->next_free, n + 1, __ATOMIC_RELEASE);
	return (int)n;
}
