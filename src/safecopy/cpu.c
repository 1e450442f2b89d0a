/*
 * CPU features the routines choose by, and the paging mode that decides which addresses are
 * canonical (a #GP from a non-canonical address is the one fault the kernel reports without address).
 */
#include <cpuid.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "arch/x86_64.h"
#include "safecopy/cpu.h"
#include "safecopy/cpuid.h"

unsigned char sc_cpu_has_avx2;
uint64_t sc_copy_zmm_above = UINT64_MAX;
uint64_t sc_copy_ymm_above = UINT64_MAX;
uint64_t sc_copy_vec_below = 33;
uint64_t sc_copy_avx2_rep_min = 16384;
uint64_t sc_memset_vec_below;
uint64_t sc_memset_zmm_above = UINT64_MAX;
uint64_t sc_memset_ymm_above = UINT64_MAX;
uint64_t sc_copy_nt_above = UINT64_MAX;
enum sc_cpu_level sc_cpu_level;
unsigned char arch_va_bits = 48;

/* XCR0 bits: the state components the OS saves and restores on a context switch. */
#define XCR0_SSE       (1u << 1)
#define XCR0_YMM       (1u << 2)
#define XCR0_OPMASK    (1u << 5)
#define XCR0_ZMM_HI256 (1u << 6)
#define XCR0_HI16_ZMM  (1u << 7)

static unsigned long long read_xcr0(void)
{
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((unsigned long long)hi << 32) | lo;
}

static bool all_set(unsigned value, unsigned bits)
{
	return (value & bits) == bits;
}

/*
 * A feature is usable only if the CPU has it and the OS saves its registers (XCR0, readable once
 * CPUID.1:ECX.OSXSAVE says the OS enabled XSAVE): a kernel that does not save the ZMM state would
 * let other tasks corrupt it, and the first use faults with #UD where the OS left it disabled.
 */
enum sc_cpu_level sc_cpu_detect_level(void)
{
	unsigned a, b, c, d;
	sc_cpuid_cached(CPUID_INDEX_1, &a, &b, &c, &d);
	if (!(c & bit_OSXSAVE) || !(c & bit_AVX))
		return SC_CPU_SSE2;
	unsigned xcr0 = (unsigned)read_xcr0();
	sc_cpuid_cached(CPUID_INDEX_7, &a, &b, &c, &d);
	if (!all_set(xcr0, XCR0_SSE | XCR0_YMM) || !(b & bit_AVX2))
		return SC_CPU_SSE2;
	bool avx512 = all_set(b, bit_AVX512F | bit_AVX512BW | bit_AVX512VL | bit_BMI2) &&
	              all_set(xcr0, XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM);
	return avx512 ? SC_CPU_AVX512 : SC_CPU_AVX2;
}

static const char *const level_names[] = {"sse2", "avx2", "avx512"};

const char *sc_cpu_level_name(enum sc_cpu_level level)
{
	return level <= SC_CPU_AVX512 ? level_names[level] : "?";
}

enum sc_cpu_level sc_cpu_cap(const char *value, enum sc_cpu_level detected)
{
	if (value == NULL || value[0] == '\0')
		return detected;
	enum sc_cpu_level asked = SC_CPU_SSE2;
	for (int l = SC_CPU_SSE2; l <= SC_CPU_AVX512; l++)
		if (strcmp(value, level_names[l]) == 0)
			asked = (enum sc_cpu_level)l;
	return asked < detected ? asked : detected;
}

void sc_cpu_use_level(enum sc_cpu_level level)
{
	sc_cpu_level = level;
	sc_cpu_has_avx2 = level >= SC_CPU_AVX2;
	sc_copy_zmm_above = level >= SC_CPU_AVX512 ? 63 : UINT64_MAX;
	sc_copy_ymm_above = level == SC_CPU_AVX2 ? 64 : UINT64_MAX;
	sc_copy_vec_below = level >= SC_CPU_AVX512 ? 64 : level == SC_CPU_AVX2 ? 65 : 33;
	sc_memset_vec_below = level >= SC_CPU_AVX512 ? 64 : level == SC_CPU_AVX2 ? 65 : 0;
	sc_memset_zmm_above = level >= SC_CPU_AVX512 ? 63 : UINT64_MAX;
	sc_memset_ymm_above = level == SC_CPU_AVX2 ? 64 : UINT64_MAX;
}

/*
 * 5-level paging needs the CPU (CPUID.7.0:ECX[16]) and a kernel that enabled it. The kernel hands out
 * addresses above 47 bits only when asked with a hint above them: one probe mapping tells.
 */
static unsigned char detect_va_bits(void)
{
	unsigned a, b, c, d;
	sc_cpuid_cached(CPUID_INDEX_7, &a, &b, &c, &d);
	if (!(c & (1u << 16)))
		return 48;
	void *hint = (void *)((uintptr_t)1 << 50);
	void *p = mmap(hint, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 48;
	munmap(p, 4096);
	return (uintptr_t)p >= ((uintptr_t)1 << 47) ? 57 : 48;
}

/*
 * From how many bytes the AVX2 copy leaves its loop for rep movsb. On the AMD EPYC (Zen 5) the loop beat
 * rep movsb 1.4x up to 24 KiB. On the Intel Xeon (Sapphire Rapids class) rep movsb wins from 4-8 KiB,
 * as glibc's own AVX2 memcpy assumes (its threshold there: 4096): capped to AVX2 in the bench's
 * fallback part (2026-12-03, machine shared), 8 KiB took the loop 49.6 ns against glibc's rep movsb
 * 39.6 ns (1.26x), 4 KiB 23.5 against 22.9 ns. The same vendor rule as the non-temporal sizes'
 * (sc_cpu_amd_like, src/safecopy/cpuid.h).
 */
static uint64_t avx2_rep_min(void)
{
	return sc_cpu_amd_like() ? 16384 : 4096;
}

#define NT_FROM ((uint64_t)48 << 20)

uint64_t sc_copy_nt_choose(bool amd_like)
{
	return amd_like ? UINT64_MAX : NT_FROM - 1;
}

void sc_cpu_init(void)
{
	sc_copy_avx2_rep_min = avx2_rep_min();
	sc_cpu_use_level(sc_cpu_cap(getenv("SAFECOPY_CPU"), sc_cpu_detect_level()));
	sc_copy_nt_above = sc_copy_nt_choose(sc_cpu_amd_like());
	arch_va_bits = detect_va_bits();
}
