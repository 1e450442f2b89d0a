/* Choosing the trampoline body for a vector-save mode from what the CPU and the OS enable. */
#include <cpuid.h>

#include "safecopy/cpuid.h"
#include "usertrap/tramp.h"

/* Read by the XSAVE bodies (asm/usertrap_tramp.asm) as [ut_xsave_size] and the two 32-bit halves of
 * [ut_xsave_mask]. */
UT_HIDDEN uint64_t ut_xsave_size;
UT_HIDDEN uint64_t ut_xsave_mask;
_Static_assert(sizeof ut_xsave_size == 8 && sizeof ut_xsave_mask == 8, "asm/usertrap_tramp.asm reads them");

/* Address stubs of the bodies (never &f in C: in a non-PIE executable that may be a PLT slot). */
UT_HIDDEN uintptr_t ut_addr_ut_tramp_novec(void);
UT_HIDDEN uintptr_t ut_addr_ut_tramp_xsavec(void);
UT_HIDDEN uintptr_t ut_addr_ut_tramp_xsave(void);
UT_HIDDEN uintptr_t ut_addr_ut_tramp_regs512(void);
UT_HIDDEN uintptr_t ut_addr_ut_tramp_regs256(void);
UT_HIDDEN uintptr_t ut_addr_ut_tramp_regs128(void);
UT_HIDDEN uintptr_t ut_addr_ut_tramp_inuse(void);

/* XSAVE components the trampoline preserves: everything the OS enabled except AMX tile data (8 KiB, and
 * saving it needs an arch_prctl permission). */
#define XFEATURE_AMX        ((1ULL << 17) | (1ULL << 18))
#define XCR0_X87_SSE        0x3ULL
#define XCR0_AVX            0x6ULL  /* SSE + AVX state */
#define XCR0_AVX512         0xe6ULL /* SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM */
#define CPUID1_ECX_OSXSAVE  (1u << 27)
#define CPUID1_ECX_AVX      (1u << 28)
#define CPUID7_EBX_AVX512F  (1u << 16)
#define CPUID7_EBX_AVX512BW (1u << 30)
#define CPUIDD1_EAX_XSAVEC  (1u << 1)
#define CPUIDD1_EAX_XINUSE  (1u << 2) /* XGETBV with ECX = 1 */
#define CPUIDX1_ECX_LAHF_LM (1u << 0) /* LAHF/SAHF in 64-bit mode (leaf 0x80000001) */

static uint64_t read_xcr0(bool osxsave)
{
	if (!osxsave)
		return XCR0_X87_SSE;
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

/* True if the CPU has AVX-512 (F and BW, for kmovq) and the OS saves its state. */
static bool avx512_enabled(uint64_t xcr0)
{
	unsigned a, b, c, d;
	sc_cpuid_cached(CPUID_INDEX_7, &a, &b, &c, &d); /* glibc's copy: CPUID is a VM exit under KVM */
	return (b & CPUID7_EBX_AVX512F) && (b & CPUID7_EBX_AVX512BW) && (xcr0 & XCR0_AVX512) == XCR0_AVX512;
}

/* Plain moves of the widest registers the OS saves. */
static uintptr_t regs_body(bool avx, uint64_t xcr0)
{
	if (avx512_enabled(xcr0))
		return ut_addr_ut_tramp_regs512();
	if (avx && (xcr0 & XCR0_AVX) == XCR0_AVX)
		return ut_addr_ut_tramp_regs256();
	return ut_addr_ut_tramp_regs128();
}

/* The XINUSE body's needs: AVX-512 and XGETBV with ECX = 1. */
static bool inuse_possible(bool osxsave, uint64_t xcr0)
{
	unsigned a, b, c, d;
	if (!osxsave || !avx512_enabled(xcr0))
		return false;
	sc_cpuid_cached(CPUID_INDEX_D_ECX_1, &a, &b, &c, &d);
	return (a & CPUIDD1_EAX_XINUSE) != 0;
}

/* AUTO saves by XINUSE except on AMD CPUs (sc_cpu_amd_like): XGETBV(ECX=1) took 4.7 ns on the Intel
 * Xeon measured, 35-55 ns on the AMD EPYC, where AUTO keeps the plain moves. The plain-move body
 * restores zmm0-15 with 512-bit loads, which puts their upper halves in use for good (XINUSE 0xa2 at
 * the site becomes 0xe7): every legacy-SSE instruction after it then pays for the dirty upper state on
 * Intel, and every XSAVE (signal frames, context switches, ld.so's lazy binding) saves 1 KiB more.
 * Under the preload, find /usr/include took 1.24x plain with the plain moves and 1.09x with the XINUSE
 * body; git --version 1.27x and 1.24x; dd bs=64 alike (one run each, alternated, loaded machine). */
static bool xinuse_preferred(void)
{
	return !sc_cpu_amd_like();
}

/* Every body sets the arithmetic flags back with SAHF (asm/usertrap_tramp.asm, UT_FLAGS_BACK), which
 * the first x86-64 CPUs lacked in 64-bit mode. */
static bool sahf_in_64bit_mode(void)
{
	unsigned a, b, c, d;
	sc_cpuid_cached(CPUID_INDEX_80000001, &a, &b, &c, &d);
	return (c & CPUIDX1_ECX_LAHF_LM) != 0;
}

int ut_tramp_choose(enum usertrap_vector_save mode, struct ut_tramp_mode *out)
{
	*out = (struct ut_tramp_mode){0};
	if (!sahf_in_64bit_mode())
		return USERTRAP_ERR_CPU;
	if (mode == USERTRAP_VECTOR_NONE) {
		out->body = ut_addr_ut_tramp_novec();
		return 0;
	}
	unsigned a, b, c, d;
	sc_cpuid_cached(CPUID_INDEX_1, &a, &b, &c, &d); /* leaf 0xd below is read only for the XSAVE modes */
	bool osxsave = (c & CPUID1_ECX_OSXSAVE) != 0;
	uint64_t xcr0 = read_xcr0(osxsave);
	bool inuse = inuse_possible(osxsave, xcr0);
	if (mode == USERTRAP_VECTOR_AUTO)
		mode = inuse && xinuse_preferred() ? USERTRAP_VECTOR_INUSE : USERTRAP_VECTOR_REGS;
	if (mode == USERTRAP_VECTOR_REGS) {
		out->body = regs_body((c & CPUID1_ECX_AVX) != 0, xcr0);
		return 0;
	}
	if (mode == USERTRAP_VECTOR_INUSE) {
		if (!inuse)
			return USERTRAP_ERR_CPU;
		out->body = ut_addr_ut_tramp_inuse();
		return 0;
	}
	if (!osxsave)
		return USERTRAP_ERR_CPU;
	__cpuid_count(0xd, 1, a, b, c, d);
	bool has_xsavec = (a & CPUIDD1_EAX_XSAVEC) != 0;
	uint64_t size_compact = b;
	__cpuid_count(0xd, 0, a, b, c, d);
	uint64_t size = b > size_compact ? b : size_compact;
	if (mode == USERTRAP_VECTOR_XSAVEC && !has_xsavec)
		return USERTRAP_ERR_CPU;
	out->xsave_mask = xcr0 & ~XFEATURE_AMX;
	out->xsave_size = (size + 63) & ~63ULL;
	out->body = mode == USERTRAP_VECTOR_XSAVEC ? ut_addr_ut_tramp_xsavec() : ut_addr_ut_tramp_xsave();
	return 0;
}

void ut_tramp_use(const struct ut_tramp_mode *mode)
{
	if (!mode->xsave_size)
		return; /* not an XSAVE body */
	/* The same values on every call (they depend on the CPU and XCR0 only), so a thread still inside
	 * an XSAVE body of an earlier init restores what it saved. */
	ut_xsave_size = mode->xsave_size;
	ut_xsave_mask = mode->xsave_mask;
}

uintptr_t ut_tramp_any_body(void)
{
	return ut_addr_ut_tramp_novec();
}
