/*
 * Where new stub pages go: a page the last read of /proc/self/maps saw taken is not tried. A punned
 * stub for code inside a big mapping (libc's read) once cost a hundred failed mmap calls.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#include "usertrap/util.h"

extern int ut_find_mapping(uintptr_t addr, void *m);
extern void ut_maps_forget(uintptr_t lo, uintptr_t hi);
extern bool ut_maps_taken(uintptr_t lo, uintptr_t hi);
extern uintptr_t ut_stub_reserve(uintptr_t lo, uintptr_t hi, size_t size, uintptr_t from, unsigned pun);
extern unsigned long ut_stub_mmaps(void);

#define PAGE     4096UL
#define MIB      ((uintptr_t)1 << 20)
#define GUARD    0x06
#define PUN_BYTE 2 /* the rel32 byte the test's stub must pun */

/* Forgets the cached mappings and reads /proc/self/maps again (the lookup of this code misses). */
static void reread_maps(void)
{
	struct {
		uintptr_t start, end;
		int prot;
		bool shared, vdso;
	} m;
	ut_maps_forget(0, UINTPTR_MAX);
	cr_assert_eq(ut_find_mapping((uintptr_t)&reread_maps, &m), 0);
}

extern bool ut_test_no_maps_query;

Test(stubpages, taken_hint_follows_the_last_read)
{
	ut_test_no_maps_query = true; /* the file read whole, as on a kernel before 6.11 */
	unsigned char *p = mmap(NULL, 3 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(p != MAP_FAILED);
	uintptr_t a = (uintptr_t)p;
	cr_assert_eq(munmap(p + PAGE, PAGE), 0);
	cr_assert_not(ut_maps_taken(a, a + PAGE), "nothing is known before a read");
	reread_maps();
	cr_assert(ut_maps_taken(a, a + PAGE));
	cr_assert_not(ut_maps_taken(a + PAGE, a + 2 * PAGE), "the hole");
	cr_assert(ut_maps_taken(a + 2 * PAGE, a + 3 * PAGE));
	cr_assert(ut_maps_taken(a + PAGE - 1, a + PAGE + 1), "a range across the hole's start");
	cr_assert(ut_maps_taken(a + 2 * PAGE - 1, a + 2 * PAGE + 1), "and across its end");
	cr_assert(ut_maps_taken((uintptr_t)&reread_maps, (uintptr_t)&reread_maps + 1), "this code");
	cr_assert_eq(munmap(p, PAGE), 0);
	cr_assert(ut_maps_taken(a, a + PAGE), "a hint: what changed since the read is not seen");
	reread_maps();
	cr_assert_not(ut_maps_taken(a, a + PAGE));
	cr_assert_eq(munmap(p + 2 * PAGE, PAGE), 0);
}

/*
 * A stub whose jump must pun byte 2 (0x06) for code in the middle of a 64 MiB mapping: every place
 * within 32 MiB is taken, the nearest free one that puns is below the mapping (rel32 0xfe06xxxx). One
 * mmap call places it; without the hint, each punning page inside the mapping was tried first.
 */
static void punned_page_skips_taken_places(void)
{
	size_t len = 64 * MIB;
	unsigned char *big = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(big != MAP_FAILED);
	uintptr_t lo = (uintptr_t)big + len / 2, hi = lo + 16, from = lo + 5;
	reread_maps();
	unsigned long before = ut_stub_mmaps();
	uintptr_t at = ut_stub_reserve(lo, hi, 32, from, 1u << PUN_BYTE);
	cr_assert_neq(at, 0);
	cr_assert_eq(ut_stub_mmaps() - before, 1, "mmap calls: %lu", ut_stub_mmaps() - before);
	cr_assert(at < (uintptr_t)big || at >= (uintptr_t)big + len, "outside the mapping: %#lx", at);
	uint32_t rel = (uint32_t)(at - from);
	cr_assert_eq((rel >> (8 * PUN_BYTE)) & 0xff, GUARD, "rel32 %#x", rel);
	cr_assert_eq(*(unsigned char *)at, 0xcc, "a fresh stub page is int3");
	munmap(big, len);
}

Test(stubpages, punned_page_skips_taken_places)
{
	punned_page_skips_taken_places();
}

Test(stubpages, punned_page_skips_taken_places_read_whole)
{
	ut_test_no_maps_query = true;
	punned_page_skips_taken_places();
}

/* A one-page hole a program punched in its own mapping, exactly where the next stub page would go
 * (1 MiB below the code's 1 MiB boundary), stays a hole: the stub page goes elsewhere. */
Test(stubpages, hole_between_foreign_pages_stays_unmapped)
{
	unsigned char *m = mmap(NULL, 4 * MIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(m != MAP_FAILED);
	uintptr_t hole = ((uintptr_t)m + 2 * MIB) & ~(MIB - 1);
	cr_assert_eq(munmap(m, hole - PAGE - (uintptr_t)m), 0);
	cr_assert_eq(munmap((void *)(hole + 2 * PAGE), (uintptr_t)m + 4 * MIB - hole - 2 * PAGE), 0);
	cr_assert_eq(munmap((void *)hole, PAGE),
	             0); /* mapped: [hole - PAGE, hole) and [hole + PAGE, +PAGE) */
	uintptr_t lo = hole + MIB + 64, hi = lo + 16;
	reread_maps();
	uintptr_t at = ut_stub_reserve(lo, hi, 32, lo + 5, 0);
	cr_assert_neq(at, 0);
	cr_assert_neq(at & ~(PAGE - 1), hole, "the stub page went into the program's hole");
	unsigned char v;
	cr_assert_eq(mincore((void *)hole, PAGE, &v), -1, "the hole is still unmapped");
	cr_assert_eq(errno, ENOMEM);
}
