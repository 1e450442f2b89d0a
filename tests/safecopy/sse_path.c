/*
 * The lower vector levels' loops (SSE2 on CPUs without AVX2, AVX2 on CPUs without AVX-512) do not
 * run by themselves on this machine: force them through the library's hidden level (reachable only
 * when linked from the archive) and check that they keep the same exactness contract as the highest
 * level's, for sizes 65..2047 faulting at every phase; and the highest level the same way.
 */
#ifdef SAFECOPY_TEST_INTERNALS
#include <criterion/criterion.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "levels.h"
#include "safecopy.h"

#define PAGE 4096

static char *map_with_bad_tail(int tail_prot)
{
	char *m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(m, MAP_FAILED);
	cr_assert_eq(mprotect(m + PAGE, PAGE, tail_prot), 0);
	return m;
}

static void exact_at_every_phase(void)
{
	char *src = map_with_bad_tail(PROT_NONE);
	char *dst = map_with_bad_tail(PROT_READ);
	static char big_src[PAGE], big_dst[PAGE];
	for (int i = 0; i < PAGE; i++) {
		src[i] = (char)(i * 13 + 1);
		big_src[i] = (char)(i * 7 + 5);
	}
	for (size_t n = 65; n < 2048; n += 7) {
		for (size_t k = 0; k < 130 && k < n; k += 3) {
			/* source side: the readable part ends k bytes into the copy */
			struct safecopy_fault f;
			memset(big_dst, 0x5a, sizeof big_dst);
			size_t got = safecopy_memcpy(big_dst, src + PAGE - k, n, &f);
			cr_assert_eq(got, k, "src n=%zu k=%zu got=%zu", n, k, got);
			cr_assert_eq(f.status, SAFECOPY_SEGV);
			cr_assert_eq(f.addr, src + PAGE);
			cr_assert_eq(memcmp(big_dst, src + PAGE - k, k), 0);
			for (size_t i = k; i < sizeof big_dst; i++)
				cr_assert_eq(big_dst[i], 0x5a, "byte %zu written past the count", i);

			/* destination side: read-only page k bytes in */
			char *d = dst + PAGE - k;
			memset(dst, 0x11, PAGE);
			got = safecopy_memcpy(d, big_src, n, &f);
			cr_assert_eq(got, k, "dst n=%zu k=%zu got=%zu", n, k, got);
			cr_assert_eq(f.addr, dst + PAGE);
			cr_assert_eq(f.code, SEGV_ACCERR);
			cr_assert_eq(memcmp(d, big_src, k), 0);
			cr_assert_eq(d[-1], 0x11); /* nothing before dst written */

			got = safecopy_memset(d, 0xc3, n, &f);
			cr_assert_eq(got, k);
			for (size_t i = 0; i < k; i++)
				cr_assert_eq((unsigned char)d[i], 0xc3);
			cr_assert_eq(f.addr, dst + PAGE);
		}
	}
	/* and full copies through the SSE loops */
	for (size_t n = 65; n < 2048; n += 61) {
		memset(big_dst, 0, sizeof big_dst);
		cr_assert_eq(safecopy_memcpy(big_dst, big_src, n, NULL), n);
		cr_assert_eq(memcmp(big_dst, big_src, n), 0);
		cr_assert_eq(big_dst[n], 0);
		cr_assert_eq(safecopy_memset(big_dst, 0x77, n, NULL), n);
		cr_assert_eq(big_dst[n - 1], 0x77);
		cr_assert_eq(big_dst[n], 0);
	}
}

Test(sse_path, copy_and_memset_exact_without_avx2)
{
	force_level(SC_CPU_SSE2);
	exact_at_every_phase();
}

Test(sse_path, copy_and_memset_exact_without_avx512)
{
	force_level(SC_CPU_AVX2);
	exact_at_every_phase();
}

Test(sse_path, copy_and_memset_exact_at_the_highest_level)
{
	exact_at_every_phase();
}
#endif
