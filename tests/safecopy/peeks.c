/*
 * safecopy_peek32/peek64/peekptr: the value where all its bytes are readable, the fallback otherwise,
 * for every start from 16 bytes before a bad page to 16 bytes into it (aligned or not, straddling or
 * not) and every kind of bad page; a random differential run against memcpy; NULL, non-canonical and
 * kernel addresses; one signal per faulting peek and none otherwise; no system call; from handlers.
 * A peek writes nothing: the zones are checked unchanged afterwards.
 */
#include "contexts.h"

static const uint64_t fallbacks[] = {0, 1, 0x8000000000000000ull, 0xffffffffffffffffull,
                                     0x0123456789abcdefull};
#define NFALLBACKS (sizeof fallbacks / sizeof fallbacks[0])

/* Every byte of [a, a+n) readable, as the test knows the zone. */
static bool readable(const struct zone *z, const char *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!zone_readable(z, a + i))
			return false;
	return true;
}

/* The three peeks at p against memcpy where readable, the fallback elsewhere. */
static void check_peeks_at(const struct zone *z, const char *p, const char *what)
{
	for (size_t fi = 0; fi < NFALLBACKS; fi++) {
		uint64_t fb = fallbacks[fi];
		uint32_t want32 = (uint32_t)fb;
		uint64_t want64 = fb;
		if (readable(z, p, 4))
			memcpy(&want32, p, 4);
		if (readable(z, p, 8))
			memcpy(&want64, p, 8);
		uint32_t got32 = safecopy_peek32(p, (uint32_t)fb);
		uint64_t got64 = safecopy_peek64(p, fb);
		void *gotp = safecopy_peekptr(p, (void *)(uintptr_t)fb);
		CHECK(got32 == want32, "%s: peek32(bad%+td, %#x) = %#x, want %#x", what, p - z->bad,
		      (uint32_t)fb, got32, want32);
		CHECK(got64 == want64, "%s: peek64(bad%+td, %#llx) = %#llx, want %#llx", what, p - z->bad,
		      (unsigned long long)fb, (unsigned long long)got64, (unsigned long long)want64);
		CHECK((uintptr_t)gotp == want64, "%s: peekptr(bad%+td) = %p, want %#llx", what, p - z->bad,
		      gotp, (unsigned long long)want64);
	}
}

/* Checks that the zone still holds its fill everywhere the test can read. */
static void check_zone_unchanged(struct zone *z)
{
	for (char *a = z->base; a < z->base + z->len; a++)
		if (zone_readable(z, a))
			CHECK((uint8_t)*a == zone_fill_byte(z, a), "byte bad%+td changed", a - z->bad);
	zone_check_bad_page_untouched(z);
}

static void around_bad_page(enum bad_kind kind)
{
	struct zone z;
	zone_make(&z, pgsz(), kind, true);
	for (int off = -16; off <= 16; off++)
		check_peeks_at(&z, z.bad + off, kind_name(kind));
	/* The far end of the bad page, and the first bytes after it. */
	for (int off = -16; off <= 16; off++)
		check_peeks_at(&z, z.bad + pgsz() + off, kind_name(kind));
	check_zone_unchanged(&z);
	zone_free(&z);
}

Test(peeks, around_an_unmapped_page)
{
	around_bad_page(BAD_UNMAPPED);
}
Test(peeks, around_a_prot_none_page)
{
	around_bad_page(BAD_PROT_NONE);
}
Test(peeks, around_a_readonly_page_which_is_readable)
{
	around_bad_page(BAD_READONLY);
}
Test(peeks, around_a_truncated_memfd_page_sigbus)
{
	around_bad_page(BAD_SIGBUS);
}
Test(peeks, good_memory_only)
{
	around_bad_page(BAD_NONE);
}

/* Random addresses in zones of every kind against the model (memcpy where readable). */
Test(peeks, random_addresses_against_memcpy)
{
	static const enum bad_kind kinds[] = {BAD_NONE, BAD_UNMAPPED, BAD_PROT_NONE, BAD_READONLY,
	                                      BAD_SIGBUS};
	struct zone z[5];
	for (int i = 0; i < 5; i++)
		zone_make(&z[i], 2 * pgsz(), kinds[i], true);
	uint64_t s = 0x853c49e6748fea9bull;
	for (int iter = 0; iter < 50000; iter++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		struct zone *zz = &z[s % 5];
		const char *p = zz->base + (s >> 8) % (zz->len - 8);
		check_peeks_at(zz, p, "random");
	}
	for (int i = 0; i < 5; i++) {
		check_zone_unchanged(&z[i]);
		zone_free(&z[i]);
	}
}

Test(peeks, null_non_canonical_kernel_and_top_of_user_space)
{
	static const uintptr_t wild[] = {0,
	                                 8,
	                                 0xdead000000000000ull,
	                                 0x0000800000000000ull, /* first non-canonical with 4 levels */
	                                 0xffff800000000000ull, /* kernel half */
	                                 0x00007ffffffff000ull, /* never mappable */
	                                 0x00007ffffffffffcull, /* 4 bytes below the hole: unmapped too */
	                                 UINTPTR_MAX - 3};
	for (size_t i = 0; i < sizeof wild / sizeof wild[0]; i++) {
		const void *p = (const void *)wild[i];
		cr_assert_eq(safecopy_peek32(p, 0xfeedface), 0xfeedface, "peek32(%p)", p);
		cr_assert_eq(safecopy_peek64(p, 0x1122334455667788ull), 0x1122334455667788ull, "peek64(%p)",
		             p);
		cr_assert_eq(safecopy_peekptr(p, (void *)&wild), (void *)&wild, "peekptr(%p)", p);
	}
}

/* A frame-pointer walk, the profiler's use: the chain ends at a frame whose link is unreadable. */
Test(peeks, frame_pointer_walk_ends_at_a_bad_link)
{
	struct zone z;
	zone_make(&z, pgsz(), BAD_UNMAPPED, true);
	void **frames = (void **)(void *)z.base;
	for (int i = 0; i < 9; i++)
		frames[i * 4] = &frames[(i + 1) * 4];
	frames[9 * 4] = z.bad + 40; /* the last link points into the unmapped page */
	int depth = 0;
	for (const void *fp = frames; fp != NULL; fp = safecopy_peekptr(fp, NULL))
		depth++;
	cr_assert_eq(depth, 11, "walked %d frames, want 11 (10 good ones and the bad link)", depth);
	zone_free(&z);
}

static struct zone h_zone;

static int peeks_in_handler(void)
{
	if (safecopy_peek64(h_zone.bad - 4, 77) != 77)
		return 1;
	if (safecopy_peek32(h_zone.bad - 4, 78) == 78)
		return 2;
	uint64_t want;
	memcpy(&want, h_zone.bad - 8, 8);
	if (safecopy_peek64(h_zone.bad - 8, 79) != want)
		return 3;
	if (safecopy_peekptr(h_zone.bad, NULL) != NULL)
		return 4;
	return 0;
}

/* One signal per faulting peek, none for a readable one. */
Test(peeks, one_signal_per_faulting_peek)
{
	zone_make(&h_zone, pgsz(), BAD_PROT_NONE, true);
	install_counting_owner();
	own_signals = 0;
	cr_assert_eq(peeks_in_handler(), 0);
	cr_assert_eq(own_signals, 2, "%d signals for two faulting peeks", (int)own_signals);
	own_signals = 0;
	uint64_t sum = 0;
	for (int i = 0; i < 100; i++)
		sum += safecopy_peek64(h_zone.base + i, 0) + safecopy_peek32(h_zone.bad - 4 - i, 0);
	cr_assert_neq(sum, 0);
	cr_assert_eq(own_signals, 0, "%d signals for readable peeks", (int)own_signals);
	zone_free(&h_zone);
}

/* The fast path and the fault path make no system call (seccomp strict mode would kill the child). */
Test(peeks, no_system_call)
{
	/* Not an unmapped page: the child's progress word, mapped later, could fill the hole. */
	zone_make(&h_zone, pgsz(), BAD_PROT_NONE, true);
	expect_no_system_call(peeks_in_handler);
	zone_free(&h_zone);
}

Test(peeks, in_a_sigusr1_handler)
{
	zone_make(&h_zone, pgsz(), BAD_SIGBUS, true);
	cr_assert_eq(run_in_sigusr1_handler(peeks_in_handler), 0);
	zone_free(&h_zone);
}

Test(peeks, inside_the_programs_own_sigsegv_handler)
{
	foreign_page_map();
	zone_make(&h_zone, pgsz(), BAD_PROT_NONE, true);
	cr_assert_eq(run_in_foreign_segv_handler(peeks_in_handler), 0);
	zone_free(&h_zone);
}

/* The same inside a crash reporter: a handler without SA_NODEFER, run with SIGSEGV blocked. */
Test(peeks, inside_a_crash_reporter_with_sigsegv_blocked)
{
	foreign_page_map();
	zone_make(&h_zone, pgsz(), BAD_PROT_NONE, true);
	cr_assert_eq(run_in_crash_reporter(peeks_in_handler), 0);
	zone_free(&h_zone);
}

/* The first call installs the handler: no safecopy_init() in this process before it faults. */
Test(peeks, first_peek64_installs_the_handler)
{
	cr_assert_eq(safecopy_peek64((const void *)0x1000, 42), 42);
	cr_assert(safecopy_handler_active());
}
Test(peeks, first_peek32_installs_the_handler)
{
	cr_assert_eq(safecopy_peek32((const void *)0x1000, 43), 43);
	cr_assert(safecopy_handler_active());
}
Test(peeks, first_peekptr_installs_the_handler)
{
	cr_assert_eq(safecopy_peekptr((const void *)0x1000, (void *)44), (void *)44);
	cr_assert(safecopy_handler_active());
}
