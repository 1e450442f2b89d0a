/*
 * Odd pointers: NULL, small addresses, a kernel address, non-canonical addresses (#GP: SIGSEGV with
 * SI_KERNEL and no address from the kernel), the top of user space, ranges that wrap, n == 0 with bad
 * pointers, fault == NULL, overlap, protection keys, and the status names.
 */
#include "harness.h"

#define KERNEL_ADDR ((uintptr_t)0xffff888000000000ull)
#define NONCANON    ((uintptr_t)0xdead000000000000ull)

static const size_t sizes[] = {1,  2,  3,  4,   7,    8,    15,   16,    17,
                               32, 33, 64, 100, 2047, 2048, 4096, 65536, 1 << 20};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* A canary-filled destination of 1 MiB + 2 * WINDOW, and a pattern source of 1 MiB. */
struct bufs {
	struct zone d, s;
	char *dst;
	const char *src;
};

static void bufs_make(struct bufs *b)
{
	zone_make(&b->d, (1 << 20) + 2 * pgsz(), BAD_NONE, false);
	zone_make(&b->s, (1 << 20) + pgsz(), BAD_NONE, true);
	b->dst = b->d.base + 64;
	b->src = b->s.base;
}

static void bufs_check_dst_untouched(struct bufs *b, const char *what)
{
	for (char *a = b->d.base; a < b->d.base + b->d.len; a++)
		CHECK((uint8_t)*a == zone_fill_byte(&b->d, a), "%s: dst byte %td changed", what, a - b->dst);
}

static void bufs_free(struct bufs *b)
{
	zone_free(&b->d);
	zone_free(&b->s);
}

/* Copy from bad src, copy to bad dst, memset bad dst: count 0 and the given record. */
static void expect_nothing_done(uintptr_t bad, int code, const char *what)
{
	struct bufs b;
	bufs_make(&b);
	for (size_t i = 0; i < NSIZES; i++) {
		size_t n = sizes[i];
		struct safecopy_fault f = fault_garbage();
		size_t got = safecopy_memcpy(b.dst, (const void *)bad, n, &f);
		CHECK(got == 0, "%s as src, n=%zu: count %zu", what, n, got);
		check_fault(&f, SAFECOPY_SEGV, (void *)bad, SIGSEGV, code, what);
		f = fault_garbage();
		got = safecopy_memcpy((void *)bad, b.src, n, &f);
		CHECK(got == 0, "%s as dst, n=%zu: count %zu", what, n, got);
		check_fault(&f, SAFECOPY_SEGV, (void *)bad, SIGSEGV, code, what);
		f = fault_garbage();
		got = safecopy_memset((void *)bad, 0x42, n, &f);
		CHECK(got == 0, "memset %s, n=%zu: count %zu", what, n, got);
		check_fault(&f, SAFECOPY_SEGV, (void *)bad, SIGSEGV, code, what);
		CHECK(safecopy_memcpy(b.dst, (const void *)bad, n, NULL) == 0, "%s, fault NULL", what);
	}
	bufs_check_dst_untouched(&b, what);
	bufs_free(&b);
	/* The atomics report p. */
	uint32_t o32 = 0xc5c5c5c5;
	uint64_t o64 = 0xc5c5c5c5c5c5c5c5ull;
	struct safecopy_fault f = fault_garbage();
	cr_assert_eq(safecopy_load32((const uint32_t *)bad, &o32, &f), SAFECOPY_SEGV, "load32 %s", what);
	check_fault(&f, SAFECOPY_SEGV, (void *)bad, SIGSEGV, code, what);
	f = fault_garbage();
	cr_assert_eq(safecopy_load64((const uint64_t *)bad, &o64, &f), SAFECOPY_SEGV, "load64 %s", what);
	check_fault(&f, SAFECOPY_SEGV, (void *)bad, SIGSEGV, code, what);
	f = fault_garbage();
	cr_assert_eq(safecopy_store64((uint64_t *)bad, 1, &f), SAFECOPY_SEGV, "store64 %s", what);
	check_fault(&f, SAFECOPY_SEGV, (void *)bad, SIGSEGV, code, what);
	f = fault_garbage();
	cr_assert_eq(safecopy_cas32((uint32_t *)bad, 0, 1, &o32, &f), SAFECOPY_SEGV, "cas32 %s", what);
	check_fault(&f, SAFECOPY_SEGV, (void *)bad, SIGSEGV, code, what);
	f = fault_garbage();
	cr_assert_eq(safecopy_fetch_xor64((uint64_t *)bad, 1, &o64, &f), SAFECOPY_SEGV, "fetch_xor64 %s",
	             what);
	check_fault(&f, SAFECOPY_SEGV, (void *)bad, SIGSEGV, code, what);
	cr_assert_eq(o32, 0xc5c5c5c5);
	cr_assert_eq(o64, 0xc5c5c5c5c5c5c5c5ull);
}

Test(odd_pointers, null)
{
	expect_nothing_done(0, SEGV_MAPERR, "NULL");
}
Test(odd_pointers, low_address)
{
	expect_nothing_done(0x10, SEGV_MAPERR, "0x10");
}
Test(odd_pointers, kernel_address)
{
	expect_nothing_done(KERNEL_ADDR, SEGV_MAPERR, "kernel address");
}
Test(odd_pointers, top_of_kernel_space)
{
	expect_nothing_done(UINTPTR_MAX - 0x1fffff, SEGV_MAPERR, "0xffffffffffe00000");
}

/* Non-canonical: #GP, SIGSEGV with SI_KERNEL, and addr = the first byte not done (here the first). */
Test(odd_pointers, non_canonical)
{
	expect_nothing_done(NONCANON, SI_KERNEL, "0xdead000000000000");
}
/* These depend on 4-level paging (48-bit canonical addresses); with 5-level paging they are canonical. */
static void require_4_level_paging(void)
{
	FILE *c = fopen("/proc/cpuinfo", "r");
	cr_assert_not_null(c);
	char line[4096];
	bool la57 = false;
	while (fgets(line, sizeof line, c))
		if (strncmp(line, "flags", 5) == 0 && strstr(line, " la57"))
			la57 = true;
	fclose(c);
	if (la57)
		cr_skip_test("the CPU has 5-level paging (la57): 48-bit canonical boundaries may not apply");
}

Test(odd_pointers, non_canonical_just_above_user_half)
{
	require_4_level_paging();
	expect_nothing_done((uintptr_t)0x0000800000000000ull, SI_KERNEL, "0x0000800000000000");
}
Test(odd_pointers, non_canonical_just_below_kernel_half)
{
	require_4_level_paging();
	/* [p, p+n) runs from non-canonical into canonical kernel space: still nothing, at p. */
	expect_nothing_done((uintptr_t)0xffff7fffffffffc0ull, SI_KERNEL, "0xffff7fffffffffc0");
}

/* Both sides non-canonical: a tie at byte 0, reported on the src side (the header's rule). */
Test(odd_pointers, both_sides_non_canonical)
{
	for (size_t i = 0; i < NSIZES; i++) {
		struct safecopy_fault f = fault_garbage();
		size_t got =
		    safecopy_memcpy((void *)(NONCANON + 0x1000), (const void *)NONCANON, sizes[i], &f);
		cr_assert_eq(got, 0);
		check_fault(&f, SAFECOPY_SEGV, (void *)NONCANON, SIGSEGV, SI_KERNEL, "both non-canonical");
	}
}

/* A bad src and a non-canonical dst: a tie at byte 0, so the src byte is reported. */
Test(odd_pointers, unmapped_src_non_canonical_dst)
{
	struct zone s;
	zone_make(&s, pgsz(), BAD_UNMAPPED, true);
	for (size_t i = 0; i < NSIZES; i++) {
		struct safecopy_fault f = fault_garbage();
		size_t got = safecopy_memcpy((void *)NONCANON, s.bad, sizes[i], &f);
		cr_assert_eq(got, 0);
		check_fault(&f, SAFECOPY_SEGV, s.bad, SIGSEGV, SEGV_MAPERR, "src side");
		/* And the other way round: non-canonical src, unmapped dst. */
		f = fault_garbage();
		got = safecopy_memcpy(s.bad, (const void *)NONCANON, sizes[i], &f);
		cr_assert_eq(got, 0);
		check_fault(&f, SAFECOPY_SEGV, (void *)NONCANON, SIGSEGV, SI_KERNEL, "non-canonical src");
	}
	zone_free(&s);
}

/* A good source copied to a non-canonical destination: nothing done, addr = dst. */
Test(odd_pointers, good_src_non_canonical_dst_reports_dst)
{
	struct bufs b;
	bufs_make(&b);
	for (size_t i = 0; i < NSIZES; i++) {
		struct safecopy_fault f = fault_garbage();
		cr_assert_eq(safecopy_memcpy((void *)(NONCANON + 5), b.src, sizes[i], &f), 0);
		check_fault(&f, SAFECOPY_SEGV, (void *)(NONCANON + 5), SIGSEGV, SI_KERNEL,
		            "dst non-canonical");
	}
	bufs_free(&b);
}

/*
 * The last user page. The highest page a process can map ends at 0x7ffffffff000 (TASK_SIZE_MAX); the
 * page above it is canonical but never mapped, and 0x800000000000 is the first non-canonical byte.
 * A 32-byte access at 0x7ffffffffff0 crosses into non-canonical space and raises #GP, yet its first
 * byte is a plain unmapped (page-fault) address: the answer is count 0, SEGV_MAPERR at src.
 */
Test(odd_pointers, access_crossing_into_non_canonical_space)
{
	require_4_level_paging();
	uintptr_t p = (uintptr_t)0x7ffffffffff0ull;
	struct bufs b;
	bufs_make(&b);
	for (size_t n = 1; n <= 64; n++) {
		struct safecopy_fault f = fault_garbage();
		size_t got = safecopy_memcpy(b.dst, (const void *)p, n, &f);
		CHECK(got == 0, "n=%zu: count %zu", n, got);
		check_fault(&f, SAFECOPY_SEGV, (void *)p, SIGSEGV, SEGV_MAPERR, "src at 0x7ffffffffff0");
		f = fault_garbage();
		got = safecopy_memset((void *)p, 1, n, &f);
		CHECK(got == 0, "memset n=%zu: count %zu", n, got);
		check_fault(&f, SAFECOPY_SEGV, (void *)p, SIGSEGV, SEGV_MAPERR, "memset at 0x7ffffffffff0");
	}
	bufs_check_dst_untouched(&b, "crossing");
	bufs_free(&b);
}

Test(odd_pointers, highest_user_page_then_the_hole)
{
	size_t pg = pgsz();
	uintptr_t top = (uintptr_t)0x7ffffffff000ull;
	char *page = mmap((void *)(top - pg), pg, PROT_READ | PROT_WRITE,
	                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (page == MAP_FAILED)
		cr_skip_test("cannot map the highest user page: %s", strerror(errno));
	cr_assert_eq((uintptr_t)page, top - pg);
	for (size_t i = 0; i < pg; i++)
		page[i] = (char)pat(i);
	struct bufs b;
	bufs_make(&b);
	static const size_t tails[] = {1, 8, 16, 33, 100, 2048, 4096};
	for (size_t ti = 0; ti < sizeof tails / sizeof tails[0]; ti++) {
		for (size_t i = 0; i < NSIZES; i++) {
			size_t n = sizes[i], k = tails[ti];
			const char *src = (const char *)top - k;
			struct safecopy_fault f = fault_garbage();
			size_t got = safecopy_memcpy(b.dst, src, n, &f);
			size_t want = n < k ? n : k;
			CHECK(got == want, "k=%zu n=%zu: count %zu, want %zu", k, n, got, want);
			if (want < n)
				check_fault(&f, SAFECOPY_SEGV, (void *)top, SIGSEGV, SEGV_MAPERR, "top page");
			else
				check_fault_ok(&f, "top page");
			CHECK(memcmp(b.dst, src, got) == 0, "k=%zu n=%zu: data", k, n);
			for (size_t j = 0; j < got; j++)
				b.dst[j] = (char)zone_fill_byte(&b.d, b.dst + j);
		}
	}
	bufs_check_dst_untouched(&b, "top page");
	bufs_free(&b);
	munmap(page, pg);
}

/* ---- wrapping ranges: SAFECOPY_RANGE, count 0, nothing touched ---------------------------------- */

static void expect_range(void *dst, const void *src, size_t n, const void *wrapping, const char *what)
{
	struct safecopy_fault f = fault_garbage();
	size_t got = src ? safecopy_memcpy(dst, src, n, &f) : safecopy_memset(dst, 0x42, n, &f);
	cr_assert_eq(got, 0, "%s: count %zu", what, got);
	cr_assert_eq(f.status, SAFECOPY_RANGE, "%s: status %d", what, f.status);
	cr_assert_eq(f.signo, 0, "%s", what);
	cr_assert_eq(f.code, 0, "%s", what);
	/* Implementation detail the header leaves open: addr is the pointer whose range wraps. */
	cr_assert_eq(f.addr, wrapping, "%s: addr %p, want %p", what, f.addr, wrapping);
	got = src ? safecopy_memcpy(dst, src, n, NULL) : safecopy_memset(dst, 0x42, n, NULL);
	cr_assert_eq(got, 0, "%s (fault NULL)", what);
}

static void expect_every_wrap_refused(void)
{
	struct bufs b;
	bufs_make(&b);
	const char *top = (const char *)UINTPTR_MAX;
	expect_range(b.dst, top - 10, 12, top - 10, "src wraps by 1");
	expect_range(b.dst, top, 2, top, "src at the last byte, n=2");
	/* dst = NULL: [0, SIZE_MAX) does not wrap, so only src does. */
	expect_range(NULL, (const void *)2, SIZE_MAX, (const void *)2, "src=2, n=SIZE_MAX");
	expect_range(NULL, b.src, SIZE_MAX, b.src, "good src, n=SIZE_MAX");
	expect_range((void *)(top - 100), b.src, 1000, top - 100, "dst wraps");
	expect_range((void *)(top - 100), NULL, 1000, top - 100, "memset dst wraps");
	expect_range((void *)2, NULL, SIZE_MAX, (void *)2, "memset dst=2, n=SIZE_MAX");
	/* Nothing is touched even though the other side is fine or bad. */
	expect_range(b.dst, (const void *)(NONCANON + 0x10), (size_t)(UINTPTR_MAX - NONCANON),
	             (const void *)(NONCANON + 0x10), "non-canonical src wraps");
	bufs_check_dst_untouched(&b, "wrapping");
	bufs_free(&b);
}

/* Before the first successful call: the library is not initialised yet (the gate is closed). */
Test(odd_pointers, wrapping_ranges)
{
	expect_every_wrap_refused();
}

/* Initialised: the checks of the exported entry itself (asm/entry.inc), not those of the cold path. */
Test(odd_pointers, wrapping_ranges_once_initialised)
{
	cr_assert_eq(safecopy_init(), 0);
	expect_every_wrap_refused();
}

/* Ending exactly at 2^64 is not a wrap: it is an ordinary fault at the first (kernel) byte. */
Test(odd_pointers, range_ending_at_the_top_is_not_a_wrap)
{
	struct bufs b;
	bufs_make(&b);
	const char *top = (const char *)UINTPTR_MAX;
	struct safecopy_fault f = fault_garbage();
	cr_assert_eq(safecopy_memcpy(b.dst, top, 1, &f), 0);
	check_fault(&f, SAFECOPY_SEGV, (void *)top, SIGSEGV, SEGV_MAPERR, "last byte");
	f = fault_garbage();
	cr_assert_eq(safecopy_memcpy(b.dst, top - 99, 100, &f), 0);
	check_fault(&f, SAFECOPY_SEGV, (void *)(top - 99), SIGSEGV, SEGV_MAPERR, "last 100 bytes");
	f = fault_garbage();
	cr_assert_eq(safecopy_memset((void *)(top - 4095), 0, 4096, &f), 0);
	check_fault(&f, SAFECOPY_SEGV, (void *)(top - 4095), SIGSEGV, SEGV_MAPERR, "memset last page");
	/* [0, SIZE_MAX) and [1, 2^64) do not wrap either. */
	f = fault_garbage();
	cr_assert_eq(safecopy_memset(NULL, 0, SIZE_MAX, &f), 0);
	check_fault(&f, SAFECOPY_SEGV, NULL, SIGSEGV, SEGV_MAPERR, "memset NULL, SIZE_MAX");
	f = fault_garbage();
	cr_assert_eq(safecopy_memset((void *)1, 0, SIZE_MAX, &f), 0);
	check_fault(&f, SAFECOPY_SEGV, (void *)1, SIGSEGV, SEGV_MAPERR, "memset 1, SIZE_MAX");
	f = fault_garbage();
	cr_assert_eq(safecopy_memcpy(NULL, (const void *)1, SIZE_MAX, &f), 0);
	check_fault(&f, SAFECOPY_SEGV, (void *)1, SIGSEGV, SEGV_MAPERR,
	            "memcpy(NULL, 1, SIZE_MAX): src is read first");
	bufs_check_dst_untouched(&b, "top");
	bufs_free(&b);
}

/* A huge n that does not wrap: the copy stops exactly where the source ends. */
Test(odd_pointers, huge_n_stops_at_the_first_bad_byte)
{
	size_t pg = pgsz();
	struct zone s, d;
	zone_make(&s, 3 * pg, BAD_PROT_NONE, true);
	zone_make(&d, 8 * pg, BAD_UNMAPPED, false);
	const char *src = s.base + 5;
	struct safecopy_fault f = fault_garbage();
	size_t got = safecopy_memcpy(d.base, src, SIZE_MAX / 4, &f);
	cr_assert_eq(got, 3 * pg - 5);
	check_fault(&f, SAFECOPY_SEGV, s.bad, SIGSEGV, SEGV_ACCERR, "huge n, src");
	cr_assert(memcmp(d.base, src, got) == 0);
	for (char *a = d.base + got; a < d.bad; a++)
		CHECK((uint8_t)*a == zone_fill_byte(&d, a), "byte %td after the count changed", a - d.base);
	for (char *a = d.base; a < d.base + got; a++)
		*a = (char)zone_fill_byte(&d, a);
	f = fault_garbage();
	got = safecopy_memset(d.base + 1, 0, SIZE_MAX / 2, &f);
	cr_assert_eq(got, 8 * pg - 1);
	check_fault(&f, SAFECOPY_SEGV, d.bad, SIGSEGV, SEGV_MAPERR, "huge n memset");
	cr_assert_eq((uint8_t)d.base[0], zone_fill_byte(&d, d.base));
	zone_free(&s);
	zone_free(&d);
}

/*
 * n from 2^63 on without a wrap: the entry sends it to the cold path (n's top bit), which runs the
 * routine; it stops exactly where the memory ends, as for any other n.
 */
Test(odd_pointers, n_with_the_top_bit_stops_at_the_first_bad_byte)
{
	cr_assert_eq(safecopy_init(), 0);
	size_t pg = pgsz();
	struct zone s, d;
	zone_make(&s, 3 * pg, BAD_PROT_NONE, true);
	zone_make(&d, 8 * pg, BAD_UNMAPPED, false);
	const size_t top_bit = (size_t)1 << 63;
	struct safecopy_fault f = fault_garbage();
	size_t got = safecopy_memcpy(d.base, s.base + 7, top_bit, &f);
	cr_assert_eq(got, 3 * pg - 7);
	check_fault(&f, SAFECOPY_SEGV, s.bad, SIGSEGV, SEGV_ACCERR, "n = 2^63, src");
	cr_assert(memcmp(d.base, s.base + 7, got) == 0);
	cr_assert_eq((uint8_t)d.base[got], zone_fill_byte(&d, d.base + got));
	for (char *a = d.base; a < d.base + got; a++)
		*a = (char)zone_fill_byte(&d, a);
	f = fault_garbage();
	got = safecopy_memset(d.base + 3, 0, top_bit + 5, &f);
	cr_assert_eq(got, 8 * pg - 3);
	check_fault(&f, SAFECOPY_SEGV, d.bad, SIGSEGV, SEGV_MAPERR, "n = 2^63 + 5, memset");
	cr_assert_eq((uint8_t)d.base[2], zone_fill_byte(&d, d.base + 2));
	zone_free(&s);
	zone_free(&d);
}

/* ---- n == 0 touches nothing, whatever the pointers ---------------------------------------------- */

static void zero_length_touches_nothing(void)
{
	struct zone z, p; /* canaries before a bad page; a readable pattern (a source that differs) */
	zone_make(&z, pgsz(), BAD_PROT_NONE, false);
	zone_make(&p, pgsz(), BAD_NONE, true);
	const void *ptrs[] = {NULL,
	                      p.base,
	                      (void *)1,
	                      z.bad,
	                      z.bad + 1,
	                      (void *)KERNEL_ADDR,
	                      (void *)NONCANON,
	                      (void *)UINTPTR_MAX,
	                      (void *)(UINTPTR_MAX - 3),
	                      z.base};
	size_t np = sizeof ptrs / sizeof ptrs[0];
	for (size_t i = 0; i < np; i++) {
		for (size_t j = 0; j < np; j++) {
			struct safecopy_fault f = fault_garbage();
			cr_assert_eq(safecopy_memcpy((void *)ptrs[i], ptrs[j], 0, &f), 0);
			check_fault_ok(&f, "memcpy n=0");
			cr_assert_eq(safecopy_memcpy((void *)ptrs[i], ptrs[j], 0, NULL), 0);
		}
		struct safecopy_fault f = fault_garbage();
		cr_assert_eq(safecopy_memset((void *)ptrs[i], 0xff, 0, &f), 0);
		check_fault_ok(&f, "memset n=0");
	}
	for (char *a = z.base; a < z.bad; a++)
		CHECK((uint8_t)*a == zone_fill_byte(&z, a), "n == 0 changed byte %td", a - z.base);
	for (char *a = p.base; a < p.base + p.len; a++)
		CHECK((uint8_t)*a == zone_fill_byte(&p, a), "n == 0 changed pattern byte %td", a - p.base);
	zone_check_bad_page_untouched(&z);
	zone_free(&z);
	zone_free(&p);
}

/* Before the first call that does something: every call goes to the cold path (the gate is closed). */
Test(odd_pointers, zero_length_touches_nothing)
{
	zero_length_touches_nothing();
}

/* Initialised: n == 0 with pointers below 2^63 passes the entry's checks and the routine answers it. */
Test(odd_pointers, zero_length_touches_nothing_once_initialised)
{
	cr_assert_eq(safecopy_init(), 0);
	zero_length_touches_nothing();
}

/* fault == NULL: the same counts, no crash. */
Test(odd_pointers, null_fault_record)
{
	struct zone z;
	zone_make(&z, pgsz(), BAD_UNMAPPED, true);
	char buf[256];
	cr_assert_eq(safecopy_memcpy(buf, z.bad - 17, 100, NULL), 17);
	cr_assert(memcmp(buf, z.bad - 17, 17) == 0);
	cr_assert_eq(safecopy_memcpy(buf, (void *)NONCANON, 100, NULL), 0);
	cr_assert_eq(safecopy_memset(z.bad - 3, 0, 100, NULL), 3);
	cr_assert_eq(safecopy_memcpy(buf, z.base, 100, NULL), 100);
	uint64_t v;
	cr_assert_eq(safecopy_load64((uint64_t *)z.bad, &v, NULL), SAFECOPY_SEGV);
	cr_assert_eq(safecopy_load64((uint64_t *)z.base, &v, NULL), SAFECOPY_OK);
	cr_assert_eq(safecopy_load64((uint64_t *)(z.base + 1), &v, NULL), SAFECOPY_ALIGN);
	zone_free(&z);
}

/*
 * Overlap: contents of the overlapping part are unspecified, but the count and "nothing outside dst"
 * still hold, also when the overlapping copy runs into a bad page (the exact-count re-run then reads
 * source bytes the copy itself overwrote).
 */
Test(odd_pointers, overlap_into_bad_page)
{
	size_t pg = pgsz();
	struct zone z;
	zone_make(&z, 2 * pg, BAD_PROT_NONE, false);
	static const long shifts[] = {-64, -33, -10, -1, 0, 1, 5, 31, 32, 64, 100};
	static const size_t ns[] = {20, 64, 100, 300, 3000};
	for (size_t si = 0; si < sizeof shifts / sizeof shifts[0]; si++) {
		for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
			for (size_t room = 0; room < 200; room += 37) {
				size_t n = ns[ni];
				long sh = shifts[si];
				/* The later of src/dst ends `room` bytes into the bad page. */
				char *hi = z.bad - (long)n + (long)room;
				char *src = sh >= 0 ? hi - sh : hi;
				char *dst = sh >= 0 ? hi : hi + sh;
				if (src >= z.bad || dst >= z.bad)
					continue;
				size_t want_src = (size_t)(z.bad - src) < n ? (size_t)(z.bad - src) : n;
				size_t want_dst = (size_t)(z.bad - dst) < n ? (size_t)(z.bad - dst) : n;
				size_t want = want_src < want_dst ? want_src : want_dst;
				struct safecopy_fault f = fault_garbage();
				size_t got = safecopy_memcpy(dst, src, n, &f);
				CHECK(got == want, "shift %ld n=%zu room=%zu: count %zu, want %zu", sh, n,
				      room, got, want);
				if (want < n)
					check_fault(&f, SAFECOPY_SEGV, z.bad, SIGSEGV, SEGV_ACCERR,
					            "overlap");
				else
					check_fault_ok(&f, "overlap");
				/* Bytes outside [dst, dst+count) that are not source bytes are unchanged. */
				for (char *a = z.base; a < z.bad; a++) {
					if ((a >= dst && a < dst + n) || (a >= src && a < src + n))
						continue;
					CHECK((uint8_t)*a == zone_fill_byte(&z, a),
					      "shift %ld n=%zu: byte %td outside dst changed", sh, n,
					      a - dst);
				}
				/* The non-overlapping source bytes past the count are unchanged too. */
				for (char *a = src; a < src + n && a < z.bad; a++) {
					if (a >= dst && a < dst + n)
						continue;
					CHECK((uint8_t)*a == zone_fill_byte(&z, a),
					      "shift %ld n=%zu: src byte changed", sh, n);
				}
				for (char *a = z.base; a < z.bad; a++)
					*a = (char)zone_fill_byte(&z, a);
			}
		}
	}
	zone_check_bad_page_untouched(&z);
	zone_free(&z);
}

/* ---- protection keys: SEGV_PKUERR is a fault like any other ------------------------------------- */

#ifndef SEGV_PKUERR
#define SEGV_PKUERR 4
#endif

Test(odd_pointers, protection_key_denies_access)
{
	size_t pg = pgsz();
	int key = pkey_alloc(0, PKEY_DISABLE_ACCESS);
	if (key < 0)
		cr_skip_test("no protection keys: %s", strerror(errno));
	struct zone z;
	zone_make(&z, pg, BAD_NONE, true);
	cr_assert_eq(pkey_mprotect(z.bad, pg, PROT_READ | PROT_WRITE, key), 0);
	char buf[256];
	struct safecopy_fault f = fault_garbage();
	cr_assert_eq(safecopy_memcpy(buf, z.bad - 40, 200, &f), 40);
	check_fault(&f, SAFECOPY_SEGV, z.bad, SIGSEGV, SEGV_PKUERR, "pkey read");
	cr_assert(memcmp(buf, z.bad - 40, 40) == 0);
	f = fault_garbage();
	cr_assert_eq(safecopy_memset(z.bad - 7, 0, 5000, &f), 7);
	check_fault(&f, SAFECOPY_SEGV, z.bad, SIGSEGV, SEGV_PKUERR, "pkey write");
	uint64_t v = 7;
	f = fault_garbage();
	cr_assert_eq(safecopy_load64((uint64_t *)z.bad, &v, &f), SAFECOPY_SEGV);
	check_fault(&f, SAFECOPY_SEGV, z.bad, SIGSEGV, SEGV_PKUERR, "pkey load64");
	cr_assert_eq(v, 7);
	/* Write-disabled only: reads work, writes fault. */
	cr_assert_eq(pkey_set(key, PKEY_DISABLE_WRITE), 0);
	cr_assert_eq(safecopy_memcpy(buf, z.bad, 200, &f), 200);
	check_fault_ok(&f, "pkey read allowed");
	cr_assert_eq(safecopy_memcpy(z.bad + 10, buf, 200, &f), 0);
	check_fault(&f, SAFECOPY_SEGV, z.bad + 10, SIGSEGV, SEGV_PKUERR, "pkey write-disabled");
	cr_assert_eq(pkey_set(key, 0), 0);
	for (size_t i = 0; i < pg; i++)
		CHECK((uint8_t)z.bad[i] == zone_fill_byte(&z, z.bad + i), "pkey page byte %zu changed", i);
	zone_free(&z);
	pkey_free(key);
}

Test(odd_pointers, status_names)
{
	cr_assert_str_eq(safecopy_status_name(SAFECOPY_OK), "ok");
	cr_assert_str_eq(safecopy_status_name(SAFECOPY_SEGV), "segv");
	cr_assert_str_eq(safecopy_status_name(SAFECOPY_BUS), "bus");
	cr_assert_str_eq(safecopy_status_name(SAFECOPY_ALIGN), "align");
	cr_assert_str_eq(safecopy_status_name(SAFECOPY_RANGE), "range");
	cr_assert_str_eq(safecopy_status_name(SAFECOPY_INVAL), "inval");
	cr_assert_str_eq(safecopy_status_name((enum safecopy_status)6), "unknown");
	cr_assert_str_eq(safecopy_status_name((enum safecopy_status) - 1), "unknown");
	cr_assert_eq(SAFECOPY_OK, 0);
}

/*
 * ---- an execute-only page ----
 * With protection keys the kernel backs PROT_EXEC with an execute-only key and a read faults with
 * SEGV_PKUERR. Without them x86 page tables cannot deny reads of an executable page: PROT_EXEC alone
 * is readable, so the copy must succeed. A write faults either way (SEGV_ACCERR, or the key's).
 */
Test(odd_pointers, execute_only_page)
{
	size_t pg = pgsz();
	char *p = map_anon(pg, PROT_READ | PROT_WRITE);
	memset(p, 0xc3, pg);
	cr_assert_eq(mprotect(p, pg, PROT_EXEC), 0);
	int key = pkey_alloc(0, 0);
	bool exec_only = key >= 0;
	if (key >= 0)
		pkey_free(key);
	char buf[64];
	memset(buf, 0x11, sizeof buf);
	struct safecopy_fault f = fault_garbage();
	if (exec_only) {
		cr_assert_eq(safecopy_memcpy(buf, p + 8, sizeof buf, &f), 0);
		check_fault(&f, SAFECOPY_SEGV, p + 8, SIGSEGV, SEGV_PKUERR, "read of an execute-only page");
		for (size_t i = 0; i < sizeof buf; i++)
			cr_assert_eq((unsigned char)buf[i], 0x11, "buf[%zu] written", i);
	} else {
		cr_assert_eq(safecopy_memcpy(buf, p + 8, sizeof buf, &f), sizeof buf);
		cr_assert_eq(f.status, SAFECOPY_OK);
		for (size_t i = 0; i < sizeof buf; i++)
			cr_assert_eq((unsigned char)buf[i], 0xc3, "buf[%zu] not copied", i);
	}
	f = fault_garbage();
	cr_assert_eq(safecopy_memset(p, 0, 100, &f), 0);
	cr_assert_eq(f.status, SAFECOPY_SEGV);
	cr_assert_eq(f.addr, p);
	cr_assert_eq(f.code, exec_only ? SEGV_PKUERR : SEGV_ACCERR);
	munmap(p, pg);
}

/*
 * Every mapping of this process (a debugger's or dumper's job): the first and last MiB of each is
 * copied. Some readable mappings still fault ([vvar] pages the clock does not use give SIGBUS, file
 * mappings past the end of their file too), so the check is consistency: a short count names the
 * first byte not read (src + count) with a SIGSEGV/SIGBUS record, and an unreadable mapping (---p)
 * gives count 0.
 */
Test(odd_pointers, every_mapping_of_the_process)
{
	static char maps[1 << 20];
	int fd = open("/proc/self/maps", O_RDONLY);
	cr_assert(fd >= 0);
	size_t len = 0;
	ssize_t r;
	while ((r = read(fd, maps + len, sizeof maps - 1 - len)) > 0)
		len += (size_t)r;
	close(fd);
	maps[len] = '\0';
	const size_t chunk = 1 << 20;
	char *buf = map_anon(chunk, PROT_READ | PROT_WRITE);
	int mappings = 0, short_reads = 0;
	for (char *line = maps; *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : line + strlen(line)) {
		unsigned long lo, hi;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3)
			continue;
		if (lo == (unsigned long)(uintptr_t)buf)
			continue;
		mappings++;
		uintptr_t starts[2] = {lo, hi - lo > chunk ? hi - chunk : lo};
		for (int i = 0; i < (starts[1] != starts[0] ? 2 : 1); i++) {
			size_t n = hi - starts[i] < chunk ? hi - starts[i] : chunk;
			struct safecopy_fault f = fault_garbage();
			size_t got = safecopy_memcpy(buf, (const void *)starts[i], n, &f);
			CHECK(got <= n, "%.60s: count %zu > %zu", line, got, n);
			if (got == n) {
				check_fault_ok(&f, line);
				CHECK(perms[0] == 'r', "%.60s: unreadable mapping copied in full", line);
				continue;
			}
			short_reads++;
			CHECK(f.addr == (void *)(starts[i] + got), "%.60s: count %zu but fault at %p", line,
			      got, f.addr);
			CHECK((f.status == SAFECOPY_SEGV && f.signo == SIGSEGV) ||
			          (f.status == SAFECOPY_BUS && f.signo == SIGBUS),
			      "%.60s: record {%d %p %d %d}", line, f.status, f.addr, f.signo, f.code);
			if (perms[0] != 'r')
				CHECK(got == 0, "%.60s: %zu bytes read from an unreadable mapping", line,
				      got);
		}
	}
	cr_assert_gt(mappings, 5);
	cr_log_info("%d mappings, %d short reads", mappings, short_reads);
	munmap(buf, chunk);
}

/*
 * The vsyscall page (0xffffffffff600000): execute-only on current kernels (vsyscall=xonly), absent
 * with vsyscall=none; either way a read is a kernel-space SEGV_MAPERR fault at the address.
 */
Test(odd_pointers, vsyscall_page)
{
	FILE *m = fopen("/proc/self/maps", "r");
	cr_assert_not_null(m);
	char line[512];
	while (fgets(line, sizeof line, m))
		if (strstr(line, "[vsyscall]") && strstr(line, " r"))
			cr_skip_test("the vsyscall page is readable here (vsyscall=emulate)");
	fclose(m);
	expect_nothing_done((uintptr_t)0xffffffffff600000ull, SEGV_MAPERR, "vsyscall page");
	expect_nothing_done((uintptr_t)0xffffffffff600ff8ull, SEGV_MAPERR, "end of the vsyscall page");
}

/* A lightweight guard region (MADV_GUARD_INSTALL, Linux 6.13+) inside a mapping: SEGV_MAPERR there. */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

Test(odd_pointers, guard_region_inside_a_mapping)
{
	size_t pg = pgsz();
	struct zone z;
	zone_make(&z, 2 * pg, BAD_NONE, true);
	if (madvise(z.bad, pg, MADV_GUARD_INSTALL) != 0)
		cr_skip_test("no guard regions on this kernel: %s", strerror(errno));
	char buf[300];
	for (size_t k = 0; k < 200; k += 7) {
		struct safecopy_fault f = fault_garbage();
		cr_assert_eq(safecopy_memcpy(buf, z.bad - k, sizeof buf, &f), k);
		check_fault(&f, SAFECOPY_SEGV, z.bad, SIGSEGV, SEGV_MAPERR,
		            "copy from before a guard region");
		cr_assert(memcmp(buf, z.bad - k, k) == 0);
		f = fault_garbage();
		cr_assert_eq(safecopy_memset(z.bad - k, 0x11, 5000, &f), k);
		check_fault(&f, SAFECOPY_SEGV, z.bad, SIGSEGV, SEGV_MAPERR, "memset into a guard region");
		for (size_t i = 0; i < k; i++)
			z.bad[(ptrdiff_t)i - (ptrdiff_t)k] = (char)zone_fill_byte(&z, z.bad - k + i);
		uint64_t v = 9;
		f = fault_garbage();
		cr_assert_eq(safecopy_fetch_or64((uint64_t *)z.bad, 1, &v, &f), SAFECOPY_SEGV);
		check_fault(&f, SAFECOPY_SEGV, z.bad, SIGSEGV, SEGV_MAPERR, "atomic in a guard region");
		cr_assert_eq(v, 9);
	}
	/* Past the guard region the mapping is fine. */
	cr_assert_eq(safecopy_memcpy(buf, z.bad + pg, sizeof buf, NULL), sizeof buf);
	zone_free(&z);
}
