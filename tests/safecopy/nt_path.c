/*
 * The non-temporal copies (asm/copy_nt.asm): which sizes take them on this CPU, that exactly those
 * sizes do at AVX-512 and AVX2 (the routine a fault at the copy's last byte comes from tells), and
 * their exact counts, fault records and untouched bytes after the count for every destination
 * alignment and faults at each phase of the loop. Small enough for valgrind at AVX2 (.ci/run runs this
 * suite there); boundary.c runs the large matrices through them. Static suite only: the sizes and
 * the routine table are hidden.
 */
#ifdef SAFECOPY_TEST_INTERNALS
#include <stdlib.h>

#include "cpu_vendor.h"
#include "harness.h"
#include "levels.h"
#include "safecopy/routines.h"

SC_HIDDEN void sc_range_sc_copy_nt(struct sc_routine_range *out);
SC_HIDDEN void sc_range_sc_copy_nt_avx2(struct sc_routine_range *out);
SC_HIDDEN void sc_range_sc_copy_rep(struct sc_routine_range *out);

#define MIB ((uint64_t)1 << 20)

Test(nt_path, sizes_follow_the_vendor)
{
	cr_assert_eq(sc_copy_nt_choose(true), UINT64_MAX, "AMD: none");
	cr_assert_eq(sc_copy_nt_choose(false), 48 * MIB - 1);
}

/* The library's SSE4A test of the vendor agrees with CPUID's vendor string here. */
Test(nt_path, the_loaded_sizes_are_this_cpus)
{
	cr_assert_eq(safecopy_init(), 0);
	cr_assert_eq(sc_copy_nt_above, sc_copy_nt_choose(cpu_is_amd()));
}

/* Forced sizes, above both levels' rep thresholds: from 160 KiB + 1. */
#define ABOVE (160u << 10)

static void use_test_sizes(void)
{
	sc_copy_nt_above = ABOVE;
}

static volatile uintptr_t fault_pc_routine; /* begin of the routine the last fault came from */

static void recording_owner(int sig, siginfo_t *info, void *uc)
{
	const struct sc_routine_range *r =
	    sc_routine_at((uintptr_t)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP]);
	fault_pc_routine = r ? r->begin : 0;
	if (!safecopy_handle_signal(sig, info, uc))
		abort();
}

/* Copies n bytes from a source whose last byte is on a PROT_NONE page: the routine that faulted. */
static uintptr_t routine_of_last_byte_fault(struct zone *s, struct zone *d, size_t n)
{
	const char *src = s->bad - (n - 1);
	char *dst = d->base + 64;
	struct safecopy_fault f = fault_garbage();
	fault_pc_routine = 0;
	size_t got = safecopy_memcpy(dst, src, n, &f);
	cr_assert_eq(got, n - 1, "n=%zu", n);
	check_fault(&f, SAFECOPY_SEGV, s->bad, SIGSEGV, SEGV_ACCERR, "last byte");
	cr_assert_eq(memcmp(dst, src, got), 0, "n=%zu", n);
	cr_assert_eq((uint8_t)dst[got], zone_fill_byte(d, dst + got), "n=%zu: the byte at the count", n);
	for (size_t i = 0; i < got; i++)
		dst[i] = (char)zone_fill_byte(d, dst + i);
	return fault_pc_routine;
}

static void sizes_reach_their_routine(enum sc_cpu_level level)
{
	if (force_level(level) != level)
		cr_skip_test("the CPU has no %s", sc_cpu_level_name(level));
	use_test_sizes();
	struct sc_routine_range nt, rep;
	(level == SC_CPU_AVX512 ? sc_range_sc_copy_nt : sc_range_sc_copy_nt_avx2)(&nt);
	sc_range_sc_copy_rep(&rep);
	cr_assert_eq(safecopy_init(), 0);
	cr_assert_eq(set_action(SIGSEGV, recording_owner, NULL, SA_SIGINFO | SA_NODEFER), 0);
	struct zone s, d;
	zone_make(&s, 256u << 10, BAD_PROT_NONE, true);
	zone_make(&d, 256u << 10, BAD_NONE, false);
	static const struct {
		size_t n;
		bool nt;
	} cases[] = {
	    {ABOVE - 1, false}, {ABOVE, false}, {ABOVE + 1, true}, {ABOVE + 4097, true}, {32u << 10, false}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uintptr_t r = routine_of_last_byte_fault(&s, &d, cases[i].n);
		cr_assert_eq(r, cases[i].nt ? nt.begin : rep.begin, "n=%zu at %s: %s wanted", cases[i].n,
		             sc_cpu_level_name(level), cases[i].nt ? "non-temporal" : "rep movsb");
	}
	zone_free(&s);
	zone_free(&d);
}

Test(nt_path, exactly_the_chosen_sizes_at_avx512)
{
	sizes_reach_their_routine(SC_CPU_AVX512);
}

Test(nt_path, exactly_the_chosen_sizes_at_avx2)
{
	sizes_reach_their_routine(SC_CPU_AVX2);
}

#define N (ABOVE + 300)

/* A copy of the good part of z before its bad page, to put its bytes back fast (valgrind runs this). */
static char *fill_of(const struct zone *z)
{
	char *copy = malloc(z->before);
	cr_assert_not_null(copy);
	return memcpy(copy, z->base, z->before);
}

/*
 * n = ABOVE + 300 at every destination alignment, the source's or the destination's bad page k bytes in:
 * k at the first block, the first aligned line and the lines around it, the middle, and the last
 * lines and block (the loop's phases, wherever dst's first line boundary falls).
 */
static void exact_at_every_phase(enum sc_cpu_level level)
{
	force_level(level);
	use_test_sizes();
	const size_t n = N;
	struct zone s, d, sb, db;
	zone_make(&s, 192u << 10, BAD_NONE, true);
	zone_make(&d, 192u << 10, BAD_NONE, false);
	zone_make(&sb, 192u << 10, BAD_PROT_NONE, true);
	zone_make(&db, 192u << 10, BAD_READONLY, false);
	char *d_fill = fill_of(&d), *db_fill = fill_of(&db);
	static const size_t ks[] = {0,   1,    63,    64,      65,      127,    128,    129,
	                            300, 4096, 80000, N - 320, N - 129, N - 65, N - 64, N - 1};
	for (size_t da = 0; da < 64; da++) {
		char *dst = d.base + 64 + da;
		const char *src = s.base + 64 + (da * 7) % 64;
		struct safecopy_fault f = fault_garbage();
		cr_assert_eq(safecopy_memcpy(dst, src, n, &f), n);
		check_fault_ok(&f, "whole copy");
		cr_assert_eq(memcmp(dst, src, n), 0);
		cr_assert_eq((uint8_t)dst[n], zone_fill_byte(&d, dst + n), "da=%zu: byte n written", da);
		cr_assert_eq((uint8_t)dst[-1], zone_fill_byte(&d, dst - 1), "da=%zu: byte -1 written", da);
		for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
			size_t k = ks[ki];
			const char *bad_src = sb.bad - k;
			size_t got = safecopy_memcpy(dst, bad_src, n, &f);
			CHECK(got == k, "da=%zu k=%zu: src side count %zu", da, k, got);
			check_fault(&f, SAFECOPY_SEGV, sb.bad, SIGSEGV, SEGV_ACCERR, "src side");
			CHECK(memcmp(dst, bad_src, k) == 0, "da=%zu k=%zu: copied bytes", da, k);
			/* dst still holds the whole copy from src after the count */
			CHECK(memcmp(dst + k, src + k, n - k) == 0, "da=%zu k=%zu: written after the count",
			      da, k);
			memcpy(dst, src, k);

			/* the destination's side at the same alignment: its bad page k + da bytes in */
			char *bad_dst = db.bad - k - da;
			size_t want = k + da < n ? k + da : n;
			got = safecopy_memcpy(bad_dst, src, n, &f);
			CHECK(got == want, "da=%zu k=%zu: dst side count %zu", da, k, got);
			if (want == n)
				check_fault_ok(&f, "dst side, short of the bad page");
			else
				check_fault(&f, SAFECOPY_SEGV, db.bad, SIGSEGV, SEGV_ACCERR, "dst side");
			CHECK(memcmp(bad_dst, src, want) == 0, "da=%zu k=%zu: copied bytes", da, k);
			CHECK((uint8_t)bad_dst[-1] == zone_fill_byte(&db, bad_dst - 1),
			      "da=%zu k=%zu: byte -1", da, k);
			memcpy(bad_dst, db_fill + (bad_dst - db.base), want);
		}
		memcpy(dst, d_fill + (dst - d.base), n);
	}
	free(d_fill);
	free(db_fill);
	zone_check_bad_page_untouched(&db);
	zone_free(&s);
	zone_free(&d);
	zone_free(&sb);
	zone_free(&db);
}

Test(nt_path, exact_at_every_phase_at_avx512)
{
	exact_at_every_phase(SC_CPU_AVX512);
}

Test(nt_path, exact_at_every_phase_at_avx2)
{
	exact_at_every_phase(SC_CPU_AVX2);
}
#endif
