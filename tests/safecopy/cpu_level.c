/*
 * The vector level: what the CPU offers, and SAFECOPY_CPU capping it (src/safecopy/cpu.c). Hidden
 * functions, so static suite only.
 */
#ifdef SAFECOPY_TEST_INTERNALS
#include <cpuid.h>
#include <criterion/criterion.h>
#include <stdlib.h>

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
	cr_assert_eq(sc_cpu_has_avx512, sc_cpu_level >= SC_CPU_AVX512);
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
	cr_assert_eq(sc_cpu_has_avx512, 0);
	cr_assert_eq(setenv("SAFECOPY_CPU", "avx2", 1), 0);
	sc_cpu_init();
	cr_assert_eq(sc_cpu_level, cpu < SC_CPU_AVX2 ? cpu : SC_CPU_AVX2);
	cr_assert_eq(sc_cpu_has_avx2, cpu >= SC_CPU_AVX2);
	cr_assert_eq(sc_cpu_has_avx512, 0);
	cr_assert_eq(unsetenv("SAFECOPY_CPU"), 0);
	sc_cpu_init();
	cr_assert_eq(sc_cpu_level, cpu);
	cr_assert_eq(sc_cpu_has_avx512, cpu >= SC_CPU_AVX512);
}
#endif
