/* Stub pages near the code (see stubs.h). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "usertrap/maps.h"
#include "usertrap/pagewrite.h"
#include "usertrap/site.h"
#include "usertrap/stubs.h"
#include "usertrap/table.h"

#define REACH      ((uintptr_t)1 << 31) /* a rel32 reaches [next - 2 GiB, next + 2 GiB) */
#define STEP       ((uintptr_t)1 << 20) /* candidate places of a new page, 1 MiB apart */
#define TRIES      64                   /* on each side */
#define PUN_TRIES  4096 /* places a punned stub may go are sparse (1-2 pages per 64 KiB for byte 1) */
#define STUB_ALIGN 16
#define INT3       0xcc

static struct {
	uintptr_t page;
	uint32_t used;
} pages[UT_STUB_PAGES];
static unsigned n_pages;    /* written under the patch lock only */
static unsigned long mmaps; /* the tests' count of the mmap calls made for new pages */

static uintptr_t distance(uintptr_t a, uintptr_t b)
{
	return a > b ? a - b : b - a;
}

/* Every byte of the page and every byte of [lo, hi) reach each other by a rel32. */
static bool reaches(uintptr_t page, uintptr_t lo, uintptr_t hi)
{
	uintptr_t limit = REACH - 2 * UT_PAGE;
	return distance(page, lo) < limit && distance(page, hi) < limit &&
	       distance(page + UT_PAGE, lo) < limit && distance(page + UT_PAGE, hi) < limit;
}

/* True if the page at p is mapped and not one of ours (mincore fails with ENOMEM on an unmapped page). */
static bool foreign_page(uintptr_t p)
{
	for (unsigned i = 0; i < n_pages; i++)
		if (pages[i].page == p)
			return false;
	unsigned char v;
	return UT_SYS3(SYS_mincore, p, UT_PAGE, &v) == 0;
}

/* A new read-execute page of int3 exactly at `at`, or 0. A page the last read of the mappings saw
 * taken is not tried: inside a library, most places near its code are (hundreds of failed mmaps
 * for a punned stub of libc's read). Nor is a hole between someone else's pages: a program that
 * unmapped a page inside its own mapping counts on it staying unmapped (the sctrace suite's program
 * expected EFAULT there and got a stub page about once in 200 runs). */
static uintptr_t map_page(uintptr_t at)
{
	if (ut_maps_taken(at, at + UT_PAGE) || foreign_page(at - UT_PAGE) || foreign_page(at + UT_PAGE))
		return 0;
	mmaps++;
	long p = ut_sys(SYS_mmap, (long)at, (long)UT_PAGE, PROT_READ | PROT_WRITE,
	                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p < 0 && p > -4096)
		return 0;
	if ((uintptr_t)p != at) { /* a kernel without MAP_FIXED_NOREPLACE took it as a hint */
		UT_SYS2(SYS_munmap, p, UT_PAGE);
		return 0;
	}
	memset((void *)p, INT3, UT_PAGE);
	if (UT_SYS3(SYS_mprotect, p, UT_PAGE, PROT_READ | PROT_EXEC) != 0) {
		UT_SYS2(SYS_munmap, p, UT_PAGE);
		return 0;
	}
	return (uintptr_t)p;
}

/* A new page in reach of [lo, hi): right after the last page first, then 1 MiB steps each way. */
static uintptr_t new_page(uintptr_t lo, uintptr_t hi)
{
	if (n_pages) {
		uintptr_t next = pages[n_pages - 1].page + UT_PAGE;
		uintptr_t p = reaches(next, lo, hi) ? map_page(next) : 0;
		if (p)
			return p;
	}
	uintptr_t base = lo & ~(STEP - 1);
	for (uintptr_t k = 1; k <= TRIES; k++) {
		uintptr_t below = base - k * STEP, above = base + k * STEP;
		uintptr_t p = below < base && reaches(below, lo, hi) ? map_page(below) : 0;
		if (!p && above > base && reaches(above, lo, hi))
			p = map_page(above);
		if (p)
			return p;
	}
	return 0;
}

/* The jump from `from` (the end of the jump) to a: its rel32 has UT_GUARD in every byte `pun` names. */
static bool puns(uintptr_t a, uintptr_t from, unsigned pun)
{
	uint32_t rel = (uint32_t)(a - from);
	for (unsigned k = 0; k < 4; k++)
		if ((pun & (1u << k)) && ((rel >> (8 * k)) & 0xff) != UT_GUARD)
			return false;
	return true;
}

/* The first offset from `used` on at which `size` bytes fit in the page and the jump puns; UT_PAGE if
 * none. Not a scan of every offset (that cost ~350 us per patch once a process had a few stub pages):
 * while some named byte of the rel32 is not UT_GUARD, the highest such byte is advanced to the next
 * rel32 where it is, with the bytes below it zero; each step moves the offset forward. */
static uintptr_t fit(uintptr_t page, uintptr_t used, size_t size, uintptr_t from, unsigned pun)
{
	uintptr_t off = used;
	while (off + size <= UT_PAGE) {
		uint32_t rel = (uint32_t)(page + off - from);
		int k = 3;
		while (k >= 0 && !((pun & (1u << k)) && ((rel >> (8 * k)) & 0xff) != UT_GUARD))
			k--;
		if (k < 0)
			return off;
		uint64_t unit = (uint64_t)1 << (8 * k), cur = (rel >> (8 * k)) & 0xff;
		uint64_t next = ((uint64_t)(rel >> (8 * k)) + ((UT_GUARD - cur) & 0xff)) * unit;
		off += (uintptr_t)(next - rel);
	}
	return UT_PAGE;
}

/* A new page where a stub punning as `pun` asks fits (*off: where), nearest first: the rel32 values
 * whose high half h is 0, -1, 1, -2... and whose bytes 2 and 3 pun, each h's 64 KiB tried page by page. */
static uintptr_t new_punned_page(uintptr_t lo, uintptr_t hi, size_t size, uintptr_t from, unsigned pun,
                                 uintptr_t *off)
{
	unsigned maps = 0;
	for (int32_t i = 0; i < 2 * INT16_MAX && maps < PUN_TRIES; i++) {
		int32_t h = (i & 1) ? -(i + 1) / 2 : i / 2;
		uintptr_t region = from + (uintptr_t)(intptr_t)(h * 65536);
		if (!puns(region, from, pun & 0xc))
			continue;
		for (uintptr_t pg = region & ~(UT_PAGE - 1); pg < region + 65536 && maps < PUN_TRIES;
		     pg += UT_PAGE) {
			uintptr_t o = fit(pg, 0, size, from, pun);
			if (o == UT_PAGE || !reaches(pg, lo, hi))
				continue;
			maps++;
			if (map_page(pg)) {
				*off = o;
				return pg;
			}
		}
	}
	return 0;
}

uintptr_t ut_stub_reserve(uintptr_t lo, uintptr_t hi, size_t size, uintptr_t from, unsigned pun)
{
	if (size > UT_PAGE)
		return 0;
	for (unsigned i = n_pages; i-- > 0;) {
		if (!reaches(pages[i].page, lo, hi))
			continue;
		uintptr_t off = fit(pages[i].page, pages[i].used, size, from, pun);
		if (off < UT_PAGE) {
			pages[i].used =
			    (uint32_t)((off + size + STUB_ALIGN - 1) & ~(uintptr_t)(STUB_ALIGN - 1));
			return pages[i].page + off;
		}
	}
	if (n_pages == UT_STUB_PAGES)
		return 0;
	uintptr_t off = 0;
	uintptr_t p = pun ? new_punned_page(lo, hi, size, from, pun, &off) : new_page(lo, hi);
	if (!p)
		return 0;
	pages[n_pages].page = p;
	pages[n_pages].used = (uint32_t)((off + size + STUB_ALIGN - 1) & ~(uintptr_t)(STUB_ALIGN - 1));
	__atomic_store_n(&n_pages, n_pages + 1, __ATOMIC_RELEASE); /* ut_stub_pages_overlap reads it */
	return p + off;
}

bool ut_stub_pages_overlap(uintptr_t lo, uintptr_t hi)
{
	unsigned n = __atomic_load_n(&n_pages, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < n; i++)
		if (lo < pages[i].page + UT_PAGE && hi > pages[i].page)
			return true;
	return false;
}

unsigned long ut_stub_mmaps(void)
{
	return mmaps;
}

int ut_stub_write(uintptr_t at, const unsigned char *b, size_t n, struct usertrap_error *err)
{
	/* No thread runs the stub's bytes before a jump to it is written, after this: it need not appear at
	 * once, and a held /proc/self/mem writes it in one pwrite instead of a page swap (three calls). */
	struct ut_window w;
	ut_window_of_own(at & ~(UT_PAGE - 1), &w);
	int r = ut_window_write(&w, at, b, n, err);
	ut_window_release(&w);
	return r;
}
