/*
 * The vector level: what the CPU offers, and SAFECOPY_CPU capping it (src/safecopy/cpu.c). Hidden
 * functions, so static suite only.
 */
#ifdef SAFECOPY_TEST_INTERNALS
#include <cpuid.h>
#include <criterion/criterion.h>
#include <signal.h>
#include <ucontext.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safecopy.h"
#include "safecopy/cpu.h"
#include "safecopy/cpuid.h"

/* The compiler's runtime checks include the OS's support (XCR0), as the library's must. */
static enum sc_cpu_level builtin_level(void)
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("bmi2"))
		return SC_CPU_AVX512;
	return __builtin_cpu_supports("avx2") ? SC_CPU_AVX2 : SC_CPU_SSE2;
}

Test(cpu_level, detection_agrees_with_the_compilers_checks)
{
	cr_assert_eq(sc_cpu_detect_level(), builtin_level());
	cr_assert_eq(sc_cpu_level, sc_cpu_detect_level(), "the suite runs without SAFECOPY_CPU");
	cr_assert_eq(sc_cpu_has_avx2, sc_cpu_level >= SC_CPU_AVX2);
	cr_assert_eq(sc_copy_zmm_above, sc_cpu_level >= SC_CPU_AVX512 ? 63 : UINT64_MAX);
}

/* The leaves glibc read at start-up are the CPU's: the feature registers equal what CPUID returns
 * now (leaf 1's EBX, which holds the APIC ID of the CPU the thread runs on, and EAX aside). */
Test(cpu_level, cached_leaves_are_what_cpuid_says)
{
	unsigned a, b, c, d, ca, cb, cc, cd;
	__cpuid(1, a, b, c, d);
	sc_cpuid_cached(CPUID_INDEX_1, &ca, &cb, &cc, &cd);
	cr_assert_eq(cc, c, "leaf 1 ECX: %#x, CPUID %#x", cc, c);
	cr_assert_eq(cd, d, "leaf 1 EDX: %#x, CPUID %#x", cd, d);
	__cpuid_count(7, 0, a, b, c, d);
	sc_cpuid_cached(CPUID_INDEX_7, &ca, &cb, &cc, &cd);
	cr_assert_eq(cb, b, "leaf 7 EBX: %#x, CPUID %#x", cb, b);
	cr_assert_eq(cc, c, "leaf 7 ECX: %#x, CPUID %#x", cc, c);
	cr_assert_eq(cd, d, "leaf 7 EDX: %#x, CPUID %#x", cd, d);
}

Test(cpu_level, a_value_caps_and_never_raises)
{
	for (int d = SC_CPU_SSE2; d <= SC_CPU_AVX512; d++) {
		enum sc_cpu_level det = (enum sc_cpu_level)d;
		cr_assert_eq(sc_cpu_cap(NULL, det), det);
		cr_assert_eq(sc_cpu_cap("", det), det);
		cr_assert_eq(sc_cpu_cap("sse2", det), SC_CPU_SSE2);
		cr_assert_eq(sc_cpu_cap("avx2", det), d < SC_CPU_AVX2 ? det : SC_CPU_AVX2);
		cr_assert_eq(sc_cpu_cap("avx512", det), det);
	}
}

Test(cpu_level, a_value_it_does_not_know_caps_at_sse2)
{
	static const char *const bad[] = {"avx", "AVX2", "avx512 ", "sse3", "native", "0", "avx2x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_eq(sc_cpu_cap(bad[i], SC_CPU_AVX512), SC_CPU_SSE2, "%s", bad[i]);
}

Test(cpu_level, names_are_the_values_of_the_variable)
{
	for (int l = SC_CPU_SSE2; l <= SC_CPU_AVX512; l++)
		cr_assert_eq((int)sc_cpu_cap(sc_cpu_level_name((enum sc_cpu_level)l), SC_CPU_AVX512), l);
}

/* sc_cpu_init() reads the variable (at load time, and here again) and sets the routines' flags. */
Test(cpu_level, the_environment_variable_sets_the_flags)
{
	enum sc_cpu_level cpu = sc_cpu_detect_level();
	cr_assert_eq(setenv("SAFECOPY_CPU", "sse2", 1), 0);
	sc_cpu_init();
	cr_assert_eq(sc_cpu_level, SC_CPU_SSE2);
	cr_assert_eq(sc_cpu_has_avx2, 0);
	cr_assert_eq(sc_copy_zmm_above, UINT64_MAX);
	cr_assert_eq(setenv("SAFECOPY_CPU", "avx2", 1), 0);
	sc_cpu_init();
	cr_assert_eq(sc_cpu_level, cpu < SC_CPU_AVX2 ? cpu : SC_CPU_AVX2);
	cr_assert_eq(sc_cpu_has_avx2, cpu >= SC_CPU_AVX2);
	cr_assert_eq(sc_copy_zmm_above, UINT64_MAX);
	cr_assert_eq(unsetenv("SAFECOPY_CPU"), 0);
	sc_cpu_init();
	cr_assert_eq(sc_cpu_level, cpu);
	cr_assert_eq(sc_copy_zmm_above, cpu >= SC_CPU_AVX512 ? 63 : UINT64_MAX);
}
/*
 * The size thresholds that send a call to its level's paths first thing (asm/copy.asm, asm/memset.asm):
 * each level sets its own, and no other level's is ever met.
 */
Test(cpu_level, each_level_sets_its_own_thresholds)
{
	for (int l = SC_CPU_SSE2; l <= (int)sc_cpu_detect_level(); l++) {
		sc_cpu_use_level((enum sc_cpu_level)l);
		bool avx512 = l == SC_CPU_AVX512, avx2 = l == SC_CPU_AVX2;
		cr_assert_eq(sc_copy_zmm_above, avx512 ? 63 : UINT64_MAX, "level %d", l);
		cr_assert_eq(sc_copy_ymm_above, avx2 ? 64 : UINT64_MAX, "level %d", l);
		cr_assert_eq(sc_copy_vec_below, avx512 ? 64u : avx2 ? 65u : 33u, "level %d", l);
		cr_assert_eq(sc_memset_vec_below, avx512 ? 64u : avx2 ? 65u : 0u, "level %d", l);
		cr_assert_eq(sc_memset_zmm_above, avx512 ? 63 : UINT64_MAX, "level %d", l);
		cr_assert_eq(sc_memset_ymm_above, avx2 ? 64 : UINT64_MAX, "level %d", l);
	}
}

/* ZMM16, the register of every AVX-512 path (and of no other code here: the suite is not built for
 * AVX-512, and nothing between these two calls uses glibc's string functions). */
static void zmm16_write(const uint8_t v[64])
{
	__asm__ volatile("vmovdqu64 (%0), %%zmm16" : : "r"(v) : "memory");
}

static void zmm16_read(uint8_t v[64])
{
	__asm__ volatile("vmovdqu64 %%zmm16, (%0)" : : "r"(v) : "memory");
}

/* Copies and sets every size from 0 to 1100 bytes at `level` with a mark in a vector register (put
 * there by `put`, read back by `get`, 64 bytes): true if its bytes from..to-1 kept the mark. */
static bool mark_kept_at(enum sc_cpu_level level, void (*put)(const uint8_t[64]), void (*get)(uint8_t[64]),
                         size_t from, size_t to)
{
	static uint8_t src[1100], dst[1100];
	uint8_t mark[64], after[64];
	for (int i = 0; i < 64; i++)
		mark[i] = (uint8_t)(0xc0 + i);
	for (size_t i = 0; i < sizeof src; i++)
		src[i] = (uint8_t)i;
	sc_cpu_use_level(level);
	put(mark);
	for (size_t n = 0; n <= sizeof src; n++) {
		cr_assert_eq(safecopy_memcpy(dst, src, n, NULL), n);
		cr_assert_eq(safecopy_memset(dst, 0x5a, n, NULL), n);
	}
	get(after);
	return memcmp(after + from, mark + from, to - from) == 0;
}

static bool zmm16_kept_at(enum sc_cpu_level level)
{
	return mark_kept_at(level, zmm16_write, zmm16_read, 0, 64);
}

/* The level a call runs at is the one chosen: below AVX-512 no size reaches an AVX-512 path. */
Test(cpu_level, lower_levels_run_no_avx512_path)
{
	if (sc_cpu_detect_level() < SC_CPU_AVX512)
		cr_skip_test("no AVX-512 here: no AVX-512 path to keep out");
	cr_assert(!zmm16_kept_at(SC_CPU_AVX512), "the check sees the AVX-512 paths");
	cr_assert(zmm16_kept_at(SC_CPU_AVX2), "an AVX-512 path ran at the AVX2 level");
	cr_assert(zmm16_kept_at(SC_CPU_SSE2), "an AVX-512 path ran at the SSE2 level");
}

/* ZMM16 as the fault found it: read from the signal frame's XSAVE area (component 7, Hi16_ZMM), since a
 * faulting call's own fault path may use ZMM16 afterwards (it is call-clobbered). */
static uint8_t zmm16_at_fault[64];
static int faults_seen;

static void zmm16_recording_handler(int sig, siginfo_t *info, void *uc)
{
	const uint8_t *xsave = (const uint8_t *)((ucontext_t *)uc)->uc_mcontext.fpregs;
	unsigned a, off, c, d;
	__cpuid_count(0xd, 7, a, off, c, d);
	uint64_t in_use = *(const uint64_t *)(xsave + 512);
	for (int i = 0; i < 64; i++)
		zmm16_at_fault[i] = (in_use & (1u << 7)) ? xsave[off + (unsigned)i] : 0;
	faults_seen++;
	if (!safecopy_handle_signal(sig, info, uc))
		abort();
}

/* memset of n = SIZE_MAX at `level` (the cold path hands it to the routine, which faults at NULL):
 * true if ZMM16 still held its mark when the fault came. */
static bool zmm16_kept_by_huge_memset(enum sc_cpu_level level)
{
	uint8_t mark[64];
	for (int i = 0; i < 64; i++)
		mark[i] = (uint8_t)(0xc0 + i);
	sc_cpu_use_level(level);
	int before = faults_seen;
	struct safecopy_fault f;
	zmm16_write(mark);
	cr_assert_eq(safecopy_memset(NULL, 0x5a, SIZE_MAX, &f), 0);
	cr_assert_eq(faults_seen, before + 1);
	cr_assert_eq(f.addr, NULL);
	return memcmp(zmm16_at_fault, mark, sizeof mark) == 0;
}

/* n = SIZE_MAX never meets an AVX-512 threshold below AVX-512 (a `jae` against UINT64_MAX did: the
 * AVX-512 path, #UD on a CPU without it; valgrind, which has no AVX-512, found it). */
Test(cpu_level, huge_n_runs_no_avx512_path_below_avx512)
{
	if (sc_cpu_detect_level() < SC_CPU_AVX512)
		cr_skip_test("no AVX-512 here: no AVX-512 path to keep out");
	cr_assert_eq(safecopy_init(), 0);
	struct sigaction sa = {.sa_sigaction = zmm16_recording_handler, .sa_flags = SA_SIGINFO | SA_NODEFER};
	cr_assert_eq(sigaction(SIGSEGV, &sa, NULL), 0);
	cr_assert(!zmm16_kept_by_huge_memset(SC_CPU_AVX512), "the check sees the AVX-512 path");
	for (int i = 0; i < 64; i++)
		cr_assert_eq(zmm16_at_fault[i], 0x5a, "AVX-512: the broadcast byte, byte %d", i);
	cr_assert(zmm16_kept_by_huge_memset(SC_CPU_AVX2), "an AVX-512 path ran at the AVX2 level");
	cr_assert(zmm16_kept_by_huge_memset(SC_CPU_SSE2), "an AVX-512 path ran at the SSE2 level");
}

/* The upper half of YMM0: a VEX instruction writing XMM0 or YMM0 (and vzeroupper) clears it, a legacy
 * SSE instruction leaves it. The SSE2 level's paths must all be legacy SSE (a CPU without AVX has no
 * VEX), though the paths up to 32 bytes are shared with the higher levels: only the thresholds of
 * sc_copy_vec_below and sc_memset_vec_below keep SSE2 off the VEX stores next to them. */
static void ymm0_write(const uint8_t v[64])
{
	__asm__ volatile("vmovdqu (%0), %%ymm0" : : "r"(v) : "memory", "xmm0");
}

static void ymm0_read(uint8_t v[64])
{
	__asm__ volatile("vmovdqu %%ymm0, (%0)" : : "r"(v) : "memory");
}

/* YMM0's upper half (bytes 16..31) kept its mark through every size at `level`. */
static bool ymm0_upper_kept_at(enum sc_cpu_level level)
{
	return mark_kept_at(level, ymm0_write, ymm0_read, 16, 32);
}

Test(cpu_level, sse2_level_runs_no_vex_path)
{
	if (sc_cpu_detect_level() < SC_CPU_AVX2)
		cr_skip_test("no AVX2 here: the SSE2 level is the only one");
	cr_assert(!ymm0_upper_kept_at(SC_CPU_AVX2), "the check sees the VEX paths");
	cr_assert(ymm0_upper_kept_at(SC_CPU_SSE2), "a VEX path ran at the SSE2 level");
}
#endif
