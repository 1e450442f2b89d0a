/*
 * The header's inline loads and peeks in the shapes a compiler may mangle: several accesses in one
 * function, loops, a pointer chase, results feeding a switch or a join, the same pointer twice, calls
 * in the arguments. GCC 12 once lost the register copies on the edge from an `asm goto` into a block
 * joining other paths (include/safecopy.h); every shape here runs twice, built once from the inline
 * functions and once from the exported ones, over pointers that fault and pointers that do not, and
 * both runs must give the same results. The suites build this file at -O1 (gcc, ASan), -O2 (clang,
 * and gcc in CI's release build).
 */
#include "harness.h"

#define NPTRS 12

/* Good cells, and bad pointers: unmapped, PROT_NONE, misaligned, NULL, non-canonical. */
static const void *ptrs[NPTRS];
/* cells[4] only pads: an 8-byte access at &cells[3] + 4 stays inside the array. */
static uint64_t cells[5] = {0x1111, 0x2222222233333333ull, 0, 0x44, 0x5555};

static void make_ptrs(void)
{
	static struct zone z;
	zone_make(&z, pgsz(), BAD_PROT_NONE, true);
	char *hole = map_anon(pgsz(), PROT_READ);
	cr_assert_eq(munmap(hole, pgsz()), 0);
	ptrs[0] = &cells[0];
	ptrs[1] = &cells[1];
	ptrs[2] = z.bad;
	ptrs[3] = &cells[2];
	ptrs[4] = hole + 8;
	ptrs[5] = (char *)&cells[3] + 4;
	ptrs[6] = NULL;
	ptrs[7] = (const void *)0x8000000000000000ull;
	ptrs[8] = &cells[3];
	ptrs[9] = z.bad - 4; /* an 8-byte access straddles into the bad page */
	ptrs[10] = z.bad - 8;
	ptrs[11] = (char *)&cells[1] + 1;
}

/* SHAPES(SUFFIX, LOAD64, LOAD32, PEEK64, PEEK32): every shape as a function named with SUFFIX. */
#define SHAPES(S, LOAD64, LOAD32, PEEK64, PEEK32)                                                            \
	static __attribute__((noinline)) uint64_t two_loads##S(const void *a, const void *b)                 \
	{                                                                                                    \
		uint64_t x = 5, y = 7;                                                                       \
		int sa = LOAD64((const uint64_t *)a, &x, NULL);                                              \
		int sb = LOAD64((const uint64_t *)b, &y, NULL);                                              \
		return x * 3 + y * 5 + (uint64_t)sa * 7 + (uint64_t)sb * 11;                                 \
	}                                                                                                    \
	static __attribute__((noinline)) uint64_t loop_over##S(void)                                         \
	{                                                                                                    \
		uint64_t sum = 0, faults = 0;                                                                \
		for (int i = 0; i < NPTRS; i++) {                                                            \
			uint64_t v = 0;                                                                      \
			struct safecopy_fault f;                                                             \
			if (LOAD64((const uint64_t *)ptrs[i], &v, &f) == SAFECOPY_OK)                        \
				sum += v * (uint64_t)(i + 1);                                                \
			else                                                                                 \
				faults += (uint64_t)f.status * 100 + (uint64_t)(f.addr == ptrs[i]);          \
		}                                                                                            \
		return sum ^ (faults << 32);                                                                 \
	}                                                                                                    \
	static __attribute__((noinline)) uint64_t switch_on##S(const void *p)                                \
	{                                                                                                    \
		uint32_t v = 0;                                                                              \
		switch (LOAD32((const uint32_t *)p, &v, NULL)) {                                             \
		case SAFECOPY_OK:                                                                            \
			return v;                                                                            \
		case SAFECOPY_SEGV:                                                                          \
			return 0xdead;                                                                       \
		case SAFECOPY_ALIGN:                                                                         \
			return 0xa11;                                                                        \
		default:                                                                                     \
			return 0xbad;                                                                        \
		}                                                                                            \
	}                                                                                                    \
	static __attribute__((noinline)) uint64_t chase##S(const void *start, int steps)                     \
	{                                                                                                    \
		const void *p = start;                                                                       \
		uint64_t n = 0;                                                                              \
		for (int i = 0; i < steps; i++) {                                                            \
			uint64_t next = 0;                                                                   \
			if (LOAD64((const uint64_t *)p, &next, NULL) != SAFECOPY_OK)                         \
				return n * 1000 + (uint64_t)i;                                               \
			p = (const void *)(uintptr_t)next;                                                   \
			n += next & 0xff;                                                                    \
		}                                                                                            \
		return n;                                                                                    \
	}                                                                                                    \
	static __attribute__((noinline)) uint64_t mixed##S(const void *p, int flag)                          \
	{                                                                                                    \
		uint64_t v = 1;                                                                              \
		uint64_t r = flag ? PEEK64(p, 0x77) : (LOAD64((const uint64_t *)p, &v, NULL) ? 9 : v);       \
		return r + PEEK32(p, 0x55) + PEEK64(p, 3);                                                   \
	}                                                                                                    \
	static __attribute__((noinline)) uint64_t same_twice##S(const void *p)                               \
	{                                                                                                    \
		uint64_t a = 1, b = 2;                                                                       \
		int s1 = LOAD64((const uint64_t *)p, &a, NULL);                                              \
		uint64_t mid = PEEK64(p, 4);                                                                 \
		int s2 = LOAD64((const uint64_t *)p, &b, NULL);                                              \
		return a + b * 2 + mid * 3 + (uint64_t)(s1 * 5 + s2 * 7);                                    \
	}                                                                                                    \
	static __attribute__((noinline)) uint64_t peek_until##S(void)                                        \
	{                                                                                                    \
		uint64_t acc = 0;                                                                            \
		int i = 0;                                                                                   \
		while (i < NPTRS) {                                                                          \
			uint64_t v = PEEK64(ptrs[i], 0xf0f0);                                                \
			if (v == 0xf0f0 && i > 6)                                                            \
				break;                                                                       \
			acc = acc * 31 + v;                                                                  \
			i++;                                                                                 \
		}                                                                                            \
		return acc + (uint64_t)i;                                                                    \
	}                                                                                                    \
	static __attribute__((noinline)) uint64_t in_arguments##S(const void *a, const void *b)              \
	{                                                                                                    \
		uint32_t x = 0;                                                                              \
		return two_loads##S(a, (LOAD32((const uint32_t *)b, &x, NULL) == SAFECOPY_OK) ? b : a) + x + \
		       PEEK32(a, 8);                                                                         \
	}

#define X_LOAD64(p, out, f) (safecopy_load64)(p, out, f)
#define X_LOAD32(p, out, f) (safecopy_load32)(p, out, f)
#define X_PEEK64(p, fb)     (safecopy_peek64)(p, fb)
#define X_PEEK32(p, fb)     (safecopy_peek32)(p, fb)
SHAPES(_exported, X_LOAD64, X_LOAD32, X_PEEK64, X_PEEK32)
SHAPES(_inline, safecopy_load64, safecopy_load32, safecopy_peek64, safecopy_peek32)

/* Each shape, inline against exported, for every pointer (pair). */
static void compare_shapes(int round)
{
	CHECK(loop_over_inline() == loop_over_exported(), "round %d: loop_over", round);
	CHECK(peek_until_inline() == peek_until_exported(), "round %d: peek_until", round);
	for (int i = 0; i < NPTRS; i++) {
		for (int j = 0; j < NPTRS; j++) {
			CHECK(two_loads_inline(ptrs[i], ptrs[j]) == two_loads_exported(ptrs[i], ptrs[j]),
			      "round %d: two_loads(%d, %d)", round, i, j);
			CHECK(in_arguments_inline(ptrs[i], ptrs[j]) ==
			          in_arguments_exported(ptrs[i], ptrs[j]),
			      "round %d: in_arguments(%d, %d)", round, i, j);
		}
		CHECK(switch_on_inline(ptrs[i]) == switch_on_exported(ptrs[i]), "round %d: switch_on(%d)",
		      round, i);
		CHECK(chase_inline(ptrs[i], 3) == chase_exported(ptrs[i], 3), "round %d: chase(%d)", round,
		      i);
		for (int flag = 0; flag < 2; flag++)
			CHECK(mixed_inline(ptrs[i], flag) == mixed_exported(ptrs[i], flag),
			      "round %d: mixed(%d, %d)", round, i, flag);
		CHECK(same_twice_inline(ptrs[i]) == same_twice_exported(ptrs[i]), "round %d: same_twice(%d)",
		      round, i);
	}
}

Test(inline_shapes, every_shape_gives_the_exported_functions_results)
{
	cr_assert_eq(safecopy_init(), 0);
	make_ptrs();
	cells[2] = (uint64_t)(uintptr_t)&cells[0]; /* a chase: cells[2] -> cells[0] -> 0x1111 (misaligned) */
	for (int round = 0; round < 3; round++)    /* the first round opens the gate; the others are inline */
		compare_shapes(round);
}
