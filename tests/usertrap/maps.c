/*
 * The mapping lookups of the patcher (src/usertrap/maps.c): by PROCMAP_QUERY where the kernel has it,
 * which must say what a read of the whole /proc/self/maps says, with no read; and the taken places
 * that stub pages avoid, learnt from the queries.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "usertrap/util.h"

struct mapping {
	uintptr_t start, end;
	int prot;
	bool shared, vdso;
};

extern int ut_find_mapping(uintptr_t addr, struct mapping *m);
extern void ut_maps_forget(uintptr_t lo, uintptr_t hi);
extern bool ut_maps_taken(uintptr_t lo, uintptr_t hi);
extern unsigned long ut_maps_reads(void);
extern unsigned long ut_maps_queries(void);
extern bool ut_test_no_maps_query;

#define PAGE 4096UL

/* True if this kernel answers PROCMAP_QUERY (Linux 6.11): asked directly, not through usertrap. */
static bool kernel_has_query(void)
{
	struct {
		uint64_t size, flags, addr, out[6];
		uint32_t u32[4];
		uint64_t name, build_id;
	} q = {.size = sizeof q, .addr = (uintptr_t)&kernel_has_query};
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	int r = ioctl(fd, 0xc0686611UL, &q);
	close(fd);
	return r == 0;
}

/* The mapping of addr as usertrap finds it with nothing cached, by query or by reading the file. */
static int lookup(uintptr_t addr, bool by_query, struct mapping *m)
{
	ut_test_no_maps_query = !by_query;
	ut_maps_forget(0, UINTPTR_MAX);
	memset(m, 0xa5, sizeof *m);
	int r = ut_find_mapping(addr, m);
	ut_test_no_maps_query = false;
	return r;
}

static void assert_same_mapping(uintptr_t addr, const char *what)
{
	struct mapping q, f;
	unsigned long reads = ut_maps_reads(), queries = ut_maps_queries();
	int rq = lookup(addr, true, &q);
	cr_assert_eq(ut_maps_reads() - reads, 0, "%s: the query reads no file", what);
	cr_assert_eq(ut_maps_queries() - queries, 1, "%s: one query", what);
	int rf = lookup(addr, false, &f);
	cr_assert_eq(ut_maps_reads() - reads, 1, "%s: the file read once", what);
	cr_assert_eq(rq, rf, "%s: %d by query, %d by read", what, rq, rf);
	if (rq)
		return;
	cr_assert_eq(q.start, f.start, "%s", what);
	cr_assert_eq(q.end, f.end, "%s", what);
	cr_assert_eq(q.prot, f.prot, "%s", what);
	cr_assert_eq(q.shared, f.shared, "%s", what);
	cr_assert_eq(q.vdso, f.vdso, "%s", what);
}

Test(maps, a_query_says_what_the_file_says)
{
	if (!kernel_has_query()) {
		struct mapping m;
		unsigned long reads = ut_maps_reads();
		cr_assert_eq(lookup((uintptr_t)&kernel_has_query, true, &m), 0);
		cr_assert_eq(ut_maps_reads() - reads, 1, "without PROCMAP_QUERY the file is read");
		return;
	}
	int local;
	assert_same_mapping((uintptr_t)&assert_same_mapping, "this code");
	assert_same_mapping((uintptr_t)&local, "the stack");
	uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	cr_assert_neq(vdso, 0);
	assert_same_mapping(vdso, "the vDSO");
	struct mapping m;
	cr_assert_eq(lookup(vdso, true, &m), 0);
	cr_assert(m.vdso && (m.prot & PROT_EXEC), "the vDSO is named so");
	unsigned char *shared =
	    mmap(NULL, 2 * PAGE, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert(shared != MAP_FAILED);
	cr_assert_eq(munmap(shared + PAGE, PAGE), 0);
	assert_same_mapping((uintptr_t)shared, "a shared executable mapping");
	cr_assert_eq(lookup((uintptr_t)shared, true, &m), 0);
	cr_assert(m.shared && m.start == (uintptr_t)shared && m.end == (uintptr_t)shared + PAGE);
	assert_same_mapping((uintptr_t)shared + PAGE, "a hole");
	cr_assert_eq(lookup((uintptr_t)shared + PAGE, true, &m), -ENOENT);
	munmap(shared, PAGE);
}

/* An executable mapping a query named is cached: the next lookup in it makes no call. */
Test(maps, a_queried_code_mapping_is_cached)
{
	struct mapping m;
	cr_assert_eq(lookup((uintptr_t)&assert_same_mapping, true, &m), 0);
	unsigned long reads = ut_maps_reads(), queries = ut_maps_queries();
	struct mapping again;
	cr_assert_eq(ut_find_mapping((uintptr_t)&assert_same_mapping + 1, &again), 0);
	cr_assert_eq(ut_maps_reads() - reads, 0);
	cr_assert_eq(ut_maps_queries() - queries, 0);
	cr_assert_eq(again.start, m.start);
	cr_assert_eq(again.end, m.end);
}

/* Taken places by query: one ioctl names the mapping at or above a place, which is kept (a place
 * inside it costs no call), and a hole below the next mapping is free. */
Test(maps, taken_places_are_learnt_from_queries)
{
	if (!kernel_has_query())
		cr_assert_not(ut_maps_taken(0, PAGE), "no query, no read: nothing is known");
	else {
		unsigned char *p = mmap(NULL, 4 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		cr_assert(p != MAP_FAILED);
		cr_assert_eq(munmap(p + PAGE, PAGE), 0); /* p: taken, hole, taken taken */
		uintptr_t a = (uintptr_t)p;
		unsigned long queries = ut_maps_queries();
		cr_assert(ut_maps_taken(a, a + PAGE));
		cr_assert_eq(ut_maps_queries() - queries, 1);
		cr_assert(ut_maps_taken(a + PAGE - 1, a + PAGE), "inside a mapping known taken");
		cr_assert_eq(ut_maps_queries() - queries, 1, "no call for it");
		cr_assert_not(ut_maps_taken(a + PAGE, a + 2 * PAGE), "the hole");
		cr_assert_eq(ut_maps_queries() - queries, 2);
		cr_assert(ut_maps_taken(a + 3 * PAGE, a + 4 * PAGE), "the mapping above the hole");
		cr_assert(ut_maps_taken(a + PAGE, a + 2 * PAGE + 1), "the hole's end is taken");
		cr_assert_eq(ut_maps_queries() - queries, 2, "the hole's query named the mapping above it");
		munmap(p, 4 * PAGE);
	}
}
