/*
 * safecopy_probe: how many leading bytes of [p, p+n) are readable / writable, against a byte-by-byte
 * model, for ranges that start before, in and after a bad page of every kind and end anywhere around
 * it; long ranges with one bad page among many; write probes that change nothing, even with a
 * concurrent writer; the documented copy-on-write effect; misuse (no access at all); no system call;
 * one signal per faulting probe; from handlers.
 */
#include <pthread.h>

#include "contexts.h"

#define RW (SAFECOPY_PROBE_READ | SAFECOPY_PROBE_WRITE)

static const int all_flags[] = {SAFECOPY_PROBE_READ, SAFECOPY_PROBE_WRITE, RW};

static bool accessible(const struct zone *z, const char *a, int flags)
{
	bool in_bad = a >= z->bad && a < z->bad + pgsz();
	if (!in_bad || z->kind == BAD_NONE)
		return true;
	return !(flags & SAFECOPY_PROBE_WRITE) && z->kind == BAD_READONLY;
}

/* si_code of a write to a bad page; reads get kind_code(). */
static int write_code(enum bad_kind k)
{
	return k == BAD_READONLY ? SEGV_ACCERR : kind_code(k);
}

static void check_zone_unchanged(struct zone *z)
{
	for (char *a = z->base; a < z->base + z->len; a++)
		if (zone_readable(z, a))
			CHECK((uint8_t)*a == zone_fill_byte(z, a), "byte bad%+td changed", a - z->bad);
	zone_check_bad_page_untouched(z);
}

/* One probe against the model: the first inaccessible byte, or n. */
static void run_probe(const struct zone *z, const char *p, size_t n, int flags, const char *what)
{
	size_t want = n;
	for (size_t i = 0; i < n; i++) {
		cr_assert(p + i >= z->base && p + i < z->base + z->len, "test broken: range leaves its zone");
		if (!accessible(z, p + i, flags)) {
			want = i;
			break;
		}
	}
	struct safecopy_fault f = fault_garbage();
	size_t got = safecopy_probe(p, n, flags, &f);
	CHECK(got == want, "%s: probe(bad%+td, %zu, %d) = %zu, want %zu", what, p - z->bad, n, flags, got,
	      want);
	if (want == n) {
		check_fault_ok(&f, what);
	} else {
		int code = (flags & SAFECOPY_PROBE_WRITE) ? write_code(z->kind) : kind_code(z->kind);
		check_fault(&f, kind_status(z->kind), p + want, kind_signo(z->kind), code, what);
	}
}

static void around_bad_page(enum bad_kind kind)
{
	size_t pg = pgsz();
	struct zone z;
	zone_make(&z, 3 * pg, kind, true);
	static const size_t dists[] = {0, 1, 2, 7, 8, 63, 64, 65, 4095, 4096, 4097, 8191, 8192, 12287, 12288};
	for (size_t di = 0; di < sizeof dists / sizeof dists[0]; di++) {
		size_t d = dists[di];
		size_t ns[] = {1,          2,      3,          d - 1,         d, d + 1, d + 2,
		               d + pg - 1, d + pg, d + pg + 1, d + 2 * pg - 1};
		for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
			if (ns[ni] == 0 || ns[ni] > d + 2 * pg)
				continue;
			for (size_t fi = 0; fi < 3; fi++) {
				run_probe(&z, z.bad - d, ns[ni], all_flags[fi], "before the bad page");
				if (d < pg && ns[ni] <= 2 * pg - d)
					run_probe(&z, z.bad + d, ns[ni], all_flags[fi], "in the bad page");
				if (d < pg && ns[ni] <= pg - d)
					run_probe(&z, z.bad + pg + d, ns[ni], all_flags[fi],
					          "after the bad page");
			}
		}
	}
	check_zone_unchanged(&z);
	zone_free(&z);
}

Test(probes, around_an_unmapped_page)
{
	around_bad_page(BAD_UNMAPPED);
}
Test(probes, around_a_prot_none_page)
{
	around_bad_page(BAD_PROT_NONE);
}
Test(probes, around_a_readonly_page)
{
	around_bad_page(BAD_READONLY);
}
Test(probes, around_a_truncated_memfd_page_sigbus)
{
	around_bad_page(BAD_SIGBUS);
}
Test(probes, good_memory_only)
{
	around_bad_page(BAD_NONE);
}

/* 64 pages, page 37 PROT_NONE (read) or read-only (write): every start in the first page. */
Test(probes, long_range_with_one_bad_page)
{
	size_t pg = pgsz();
	char *m = map_anon(64 * pg, PROT_READ | PROT_WRITE);
	for (size_t i = 0; i < 64 * pg; i++)
		m[i] = (char)pat(i);
	for (int round = 0; round < 2; round++) {
		int prot = round == 0 ? PROT_NONE : PROT_READ;
		int flags = round == 0 ? SAFECOPY_PROBE_READ : SAFECOPY_PROBE_WRITE;
		cr_assert_eq(mprotect(m + 37 * pg, pg, prot), 0);
		for (size_t s = 0; s < pg; s += 1 + s / 3) {
			struct safecopy_fault f = fault_garbage();
			size_t got = safecopy_probe(m + s, 64 * pg - s, flags, &f);
			CHECK(got == 37 * pg - s, "start %zu: %zu", s, got);
			check_fault(&f, SAFECOPY_SEGV, m + 37 * pg, SIGSEGV, SEGV_ACCERR, "long range");
			CHECK(safecopy_probe(m + s, 37 * pg - s, flags, &f) == 37 * pg - s,
			      "up to the bad page");
			check_fault_ok(&f, "up to the bad page");
		}
		cr_assert_eq(mprotect(m + 37 * pg, pg, PROT_READ | PROT_WRITE), 0);
	}
	for (size_t i = 0; i < 64 * pg; i++)
		CHECK((uint8_t)m[i] == pat(i), "byte %zu changed by the probes", i);
	munmap(m, 64 * pg);
}

/* The write probe is an atomic read-modify-write: a concurrent writer's increments all survive. */
static volatile uint64_t counter;
#define INCREMENTS 2000000

static void *incrementer(void *arg)
{
	(void)arg;
	for (int i = 0; i < INCREMENTS; i++)
		__atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
	return NULL;
}

Test(probes, write_probe_loses_no_concurrent_store)
{
	cr_assert_eq(safecopy_init(), 0);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, incrementer, NULL), 0);
	long probes = 0;
	while (__atomic_load_n(&counter, __ATOMIC_RELAXED) < INCREMENTS) {
		CHECK(safecopy_probe((const void *)&counter, sizeof counter, SAFECOPY_PROBE_WRITE, NULL) == 8,
		      "probe failed");
		probes++;
	}
	pthread_join(t, NULL);
	cr_assert_eq(counter, INCREMENTS, "%llu increments survived %ld probes, want %d",
	             (unsigned long long)counter, probes, INCREMENTS);
	cr_assert_gt(probes, 0);
}

/*
 * The documented copy-on-write effect: after a read probe a MAP_PRIVATE file page still follows the
 * file; after a write probe it is the process's own copy and no longer does.
 */
Test(probes, write_probe_copies_a_private_file_page)
{
	size_t pg = pgsz();
	int fd = memfd_create("probe-cow", MFD_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)pg), 0);
	cr_assert_eq(pwrite(fd, "a", 1, 0), 1);
	char *m = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	cr_assert(m != MAP_FAILED);
	cr_assert_eq(safecopy_probe(m, pg, SAFECOPY_PROBE_READ, NULL), pg);
	cr_assert_eq(pwrite(fd, "b", 1, 0), 1);
	cr_assert_eq(m[0], 'b', "the page followed the file before the write probe");
	cr_assert_eq(safecopy_probe(m, pg, SAFECOPY_PROBE_WRITE, NULL), pg);
	cr_assert_eq(m[0], 'b', "the write probe changed the byte");
	cr_assert_eq(pwrite(fd, "c", 1, 0), 1);
	cr_assert_eq(m[0], 'b', "after the write probe the page is private: it no longer follows the file");
	munmap(m, pg);
	close(fd);
}

/* ---- misuse: no access at all --------------------------------------------------------------------- */

Test(probes, misuse_makes_no_access)
{
	struct zone z;
	zone_make(&z, pgsz(), BAD_PROT_NONE, true);
	install_counting_owner();
	own_signals = 0;
	struct safecopy_fault f = fault_garbage();
	cr_assert_eq(safecopy_probe(NULL, 0, SAFECOPY_PROBE_READ, &f), 0);
	check_fault_ok(&f, "n == 0");
	static const int bad_flags[] = {0, 4, -1, RW | 8, 0x100};
	for (size_t i = 0; i < sizeof bad_flags / sizeof bad_flags[0]; i++) {
		f = fault_garbage();
		cr_assert_eq(safecopy_probe(z.bad, 10, bad_flags[i], &f), 0);
		check_fault(&f, SAFECOPY_INVAL, z.bad, 0, 0, "bad flags");
	}
	f = fault_garbage();
	const char *high = (const char *)(UINTPTR_MAX - 10);
	cr_assert_eq(safecopy_probe(high, 20, SAFECOPY_PROBE_READ, &f), 0);
	check_fault(&f, SAFECOPY_RANGE, high, 0, 0, "wrapping range");
	f = fault_garbage();
	cr_assert_eq(safecopy_probe((const void *)2, SIZE_MAX, RW, &f), 0);
	check_fault(&f, SAFECOPY_RANGE, (const void *)2, 0, 0, "wrapping range, SIZE_MAX");
	cr_assert_eq(own_signals, 0, "an argument check made an access (%d signals)", (int)own_signals);
	zone_free(&z);
}

Test(probes, null_non_canonical_and_kernel_addresses)
{
	struct safecopy_fault f = fault_garbage();
	cr_assert_eq(safecopy_probe(NULL, 100, SAFECOPY_PROBE_READ, &f), 0);
	check_fault(&f, SAFECOPY_SEGV, NULL, SIGSEGV, SEGV_MAPERR, "NULL");
	const char *wild = (const char *)0xdead000000000000ull;
	for (size_t fi = 0; fi < 3; fi++) {
		f = fault_garbage();
		cr_assert_eq(safecopy_probe(wild + 77, 5000, all_flags[fi], &f), 0);
		check_fault(&f, SAFECOPY_SEGV, wild + 77, SIGSEGV, SI_KERNEL, "non-canonical");
	}
	f = fault_garbage();
	cr_assert_eq(safecopy_probe((const void *)0x00007ffffffff000ull, 4096, SAFECOPY_PROBE_READ, &f), 0);
	check_fault(&f, SAFECOPY_SEGV, (void *)0x00007ffffffff000ull, SIGSEGV, SEGV_MAPERR,
	            "top of user space");
}

/* ---- contexts --------------------------------------------------------------------------------------- */

static struct zone h_zone;

static int probes_in_handler(void)
{
	size_t pg = pgsz();
	struct safecopy_fault f;
	if (safecopy_probe(h_zone.base, h_zone.before, RW, &f) != h_zone.before || f.status != SAFECOPY_OK)
		return 1;
	if (safecopy_probe(h_zone.bad - 100, 3 * pg, SAFECOPY_PROBE_READ, &f) != 100 ||
	    f.addr != h_zone.bad || f.status != kind_status(h_zone.kind))
		return 2;
	if (safecopy_probe(h_zone.bad + pg, pg, SAFECOPY_PROBE_WRITE, &f) != pg)
		return 3;
	return 0;
}

Test(probes, one_signal_per_faulting_probe_none_for_accessible_ranges)
{
	zone_make(&h_zone, 2 * pgsz(), BAD_PROT_NONE, true);
	install_counting_owner();
	own_signals = 0;
	cr_assert_eq(safecopy_probe(h_zone.base, h_zone.before, RW, NULL), h_zone.before);
	cr_assert_eq(own_signals, 0);
	cr_assert_eq(probes_in_handler(), 0);
	cr_assert_eq(own_signals, 1, "%d signals for one faulting probe", (int)own_signals);
	zone_free(&h_zone);
}

Test(probes, no_system_call)
{
	/* Not an unmapped page: the child's progress word, mapped later, could fill the hole. */
	zone_make(&h_zone, 2 * pgsz(), BAD_SIGBUS, true);
	expect_no_system_call(probes_in_handler);
	zone_free(&h_zone);
}

Test(probes, in_a_sigusr1_handler)
{
	zone_make(&h_zone, 2 * pgsz(), BAD_UNMAPPED, true);
	cr_assert_eq(run_in_sigusr1_handler(probes_in_handler), 0);
	zone_free(&h_zone);
}

Test(probes, inside_the_programs_own_sigsegv_handler)
{
	foreign_page_map();
	zone_make(&h_zone, 2 * pgsz(), BAD_PROT_NONE, true);
	cr_assert_eq(run_in_foreign_segv_handler(probes_in_handler), 0);
	zone_free(&h_zone);
}

/* The same inside a crash reporter: a handler without SA_NODEFER, run with SIGSEGV blocked. */
Test(probes, inside_a_crash_reporter_with_sigsegv_blocked)
{
	foreign_page_map();
	zone_make(&h_zone, 2 * pgsz(), BAD_PROT_NONE, true);
	cr_assert_eq(run_in_crash_reporter(probes_in_handler), 0);
	zone_free(&h_zone);
}

/* The first call installs the handler: no safecopy_init() in this process before it faults. */
Test(probes, first_call_installs_the_handler)
{
	struct safecopy_fault f = fault_garbage();
	cr_assert_eq(safecopy_probe((const void *)0x1000, 1, SAFECOPY_PROBE_WRITE, &f), 0);
	check_fault(&f, SAFECOPY_SEGV, (void *)0x1000, SIGSEGV, SEGV_MAPERR, "first probe");
	cr_assert(safecopy_handler_active());
}
