/*
 * The paths for 1..520 bytes (asm/copy.asm, asm/memset.asm, asm/blocks64.inc): the register copies,
 * two 16-byte copies, two 32-byte ones (at AVX-512 too, below 64 bytes), the 64-byte blocks at 0 and
 * n-64, the four blocks of 129..256 bytes, the eight of 257..512 and the first sizes of the loops, each size
 * class in its own line of code and reached by its own dispatch. For every size and every byte at which
 * the readable (writable) memory ends: the exact count, the full fault record, every byte done, and
 * nothing written after the count.
 * On the source side, on the destination side, and for memset; at this CPU's level in every suite,
 * at the lower levels in the static one.
 */
#include "harness.h"

#define MIN_N 1
#define MAX_N 520

struct layout {
	struct zone src; /* a pattern ending at a PROT_NONE page */
	struct zone dst; /* canaries ending at a read-only page */
	struct zone big; /* room for a whole copy, canaries */
};

static void layout_make(struct layout *l)
{
	zone_make(&l->src, pgsz(), BAD_PROT_NONE, true);
	zone_make(&l->dst, pgsz(), BAD_READONLY, false);
	zone_make(&l->big, pgsz(), BAD_NONE, false);
}

static void layout_free(struct layout *l)
{
	zone_free(&l->src);
	zone_free(&l->dst);
	zone_free(&l->big);
}

/* The source ends k bytes into the copy. */
static void src_ends_at(struct layout *l, size_t n, size_t k)
{
	const char *src = l->src.bad - k;
	char *dst = l->big.base + 64;
	struct safecopy_fault f = fault_garbage();
	size_t got = safecopy_memcpy(dst, src, n, &f);
	CHECK(got == k, "copy, src bad after %zu of %zu: count %zu", k, n, got);
	check_fault(&f, SAFECOPY_SEGV, l->src.bad, SIGSEGV, SEGV_ACCERR, "copy src");
	zone_check_done(&l->big, dst, src, 0, n, got, "copy src");
	zone_restore(&l->big, dst, got);
}

/* The destination ends k bytes into the copy, or the memset (src == NULL). */
static void dst_ends_at(struct layout *l, size_t n, size_t k, bool is_copy)
{
	const char *src = is_copy ? l->src.base + 8 : NULL;
	char *dst = l->dst.bad - k;
	const int c = 0x2a;
	struct safecopy_fault f = fault_garbage();
	size_t got = is_copy ? safecopy_memcpy(dst, src, n, &f) : safecopy_memset(dst, c, n, &f);
	CHECK(got == k, "%s, dst bad after %zu of %zu: count %zu", is_copy ? "copy" : "memset", k, n, got);
	check_fault(&f, SAFECOPY_SEGV, l->dst.bad, SIGSEGV, SEGV_ACCERR, is_copy ? "copy dst" : "memset");
	zone_check_done(&l->dst, dst, src, c, n, got, is_copy ? "copy dst" : "memset");
	zone_restore(&l->dst, dst, got);
}

/* No fault at all: the count is n, the record cleared. */
static void whole(struct layout *l, size_t n, bool is_copy)
{
	const char *src = is_copy ? l->src.base + 3 : NULL;
	char *dst = l->big.base + 64 + (n % 64);
	struct safecopy_fault f = fault_garbage();
	size_t got = is_copy ? safecopy_memcpy(dst, src, n, &f) : safecopy_memset(dst, 0x55, n, &f);
	CHECK(got == n, "%s n=%zu: count %zu", is_copy ? "copy" : "memset", n, got);
	check_fault_ok(&f, is_copy ? "whole copy" : "whole memset");
	zone_check_done(&l->big, dst, src, 0x55, n, got, is_copy ? "whole copy" : "whole memset");
	zone_restore(&l->big, dst, got);
}

static void every_fault_offset(void)
{
	struct layout l;
	layout_make(&l);
	for (size_t n = MIN_N; n <= MAX_N; n++) {
		whole(&l, n, true);
		whole(&l, n, false);
		for (size_t k = 0; k < n; k++) {
			src_ends_at(&l, n, k);
			dst_ends_at(&l, n, k, true);
			dst_ends_at(&l, n, k, false);
		}
	}
	zone_check_bad_page_untouched(&l.dst);
	layout_free(&l);
}

Test(small_paths, every_fault_offset)
{
	every_fault_offset();
}

#ifdef SAFECOPY_TEST_INTERNALS
#include "levels.h"

Test(small_paths, every_fault_offset_avx2)
{
	force_level(SC_CPU_AVX2);
	every_fault_offset();
}

Test(small_paths, every_fault_offset_sse2)
{
	force_level(SC_CPU_SSE2);
	every_fault_offset();
}
#endif
