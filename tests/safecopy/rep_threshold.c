/*
 * The AVX2 copy's switch from its loop to rep movsb at sc_copy_avx2_rep_min (src/safecopy/cpu.c: 4096 on
 * Intel's family-6 cores, 16384 elsewhere). Both values are forced here whatever the CPU, so that both
 * sides of each run on every machine: sizes around them, the readable source or the writable
 * destination ending at distances that fall in the loop's first block, its rounds, its last block and
 * rep movsb's pages. Exact count, full fault record, every byte done, nothing written after the count.
 */
#ifdef SAFECOPY_TEST_INTERNALS

#include "cpu_vendor.h"
#include "harness.h"
#include "levels.h"

#define ROOM (8 * 4096) /* bytes before each zone's bad page: the largest n below plus slack */

static const size_t thresholds[] = {4096, 16384};

static size_t sizes_around(size_t t, size_t *out)
{
	const size_t d[] = {t - 65, t - 1, t, t + 1, t + 64, t + 4097};
	for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
		out[i] = d[i];
	return sizeof d / sizeof d[0];
}

static size_t dists_for(size_t n, size_t *out)
{
	const size_t d[] = {0, 1, 63, 64, 65, 255, 256, 257, 4095, 4096, 4097, n - 65, n - 64, n - 1};
	size_t k = 0;
	for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
		if (d[i] < n)
			out[k++] = d[i];
	return k;
}

static void around(size_t threshold)
{
	struct zone src, dst, big;
	zone_make(&src, ROOM, BAD_PROT_NONE, true);
	zone_make(&dst, ROOM, BAD_READONLY, false);
	zone_make(&big, ROOM, BAD_NONE, false);
	sc_copy_avx2_rep_min = threshold;
	size_t ns[8], ks[16];
	for (size_t i = 0, nn = sizes_around(threshold, ns); i < nn; i++) {
		size_t n = ns[i];
		for (size_t j = 0, nk = dists_for(n, ks); j < nk; j++) {
			size_t k = ks[j];
			struct safecopy_fault f = fault_garbage();
			const char *s = src.bad - k;
			char *d = big.base + 64;
			size_t got = safecopy_memcpy(d, s, n, &f);
			CHECK(got == k, "src bad after %zu of %zu (rep from %zu): count %zu", k, n, threshold,
			      got);
			check_fault(&f, SAFECOPY_SEGV, src.bad, SIGSEGV, SEGV_ACCERR, "src");
			zone_check_done(&big, d, s, 0, n, got, "src");
			zone_restore(&big, d, got);

			f = fault_garbage();
			s = src.base + 8;
			d = dst.bad - k;
			got = safecopy_memcpy(d, s, n, &f);
			CHECK(got == k, "dst bad after %zu of %zu (rep from %zu): count %zu", k, n, threshold,
			      got);
			check_fault(&f, SAFECOPY_SEGV, dst.bad, SIGSEGV, SEGV_ACCERR, "dst");
			zone_check_done(&dst, d, s, 0, n, got, "dst");
			zone_restore(&dst, d, got);
		}
		struct safecopy_fault f = fault_garbage();
		char *d = big.base + 64 + (n % 64);
		CHECK(safecopy_memcpy(d, src.base + 3, n, &f) == n, "whole n=%zu (rep from %zu)", n,
		      threshold);
		check_fault_ok(&f, "whole");
		zone_check_done(&big, d, src.base + 3, 0, n, n, "whole");
		zone_restore(&big, d, n);
	}
	zone_check_bad_page_untouched(&dst);
	zone_free(&src);
	zone_free(&dst);
	zone_free(&big);
}

Test(rep_threshold, avx2_copy_exact_on_both_sides_of_each_threshold)
{
	cr_assert_eq(safecopy_init(), 0); /* first: its CPU detection sets the threshold */
	if (force_level(SC_CPU_AVX2) != SC_CPU_AVX2)
		cr_skip_test("no AVX2 here");
	for (size_t i = 0; i < sizeof thresholds / sizeof thresholds[0]; i++)
		around(thresholds[i]);
}

Test(rep_threshold, follows_the_cpu_vendor)
{
	cr_assert_eq(safecopy_init(), 0);
	cr_assert_eq(sc_copy_avx2_rep_min, cpu_is_amd() ? 16384u : 4096u);
}
#endif
