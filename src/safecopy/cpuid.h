/*
 * CPUID leaves 1 and 7.0 as glibc read them at start-up. Under a hypervisor every CPUID instruction
 * is a VM exit (about 6 us measured on the project's KVM guest), and safecopy_init asked for these
 * two leaves five times: a third of what the LD_PRELOAD tool added to a process as short as
 * `git --version`. glibc (2.33 and later, static and dynamic) keeps the raw registers of each leaf it
 * read; a leaf above the CPU's maximum reads as zeros there, as it would after __get_cpuid_count
 * failed, so the callers' "feature absent" paths are unchanged. Internal.
 */
#ifndef SAFECOPY_CPUID_H
#define SAFECOPY_CPUID_H

#include <stdbool.h>
#include <sys/platform/x86.h>

/* The registers of CPUID leaf 1 (index CPUID_INDEX_1) or leaf 7 subleaf 0 (CPUID_INDEX_7) into
 * *a..*d, without executing CPUID. */
static inline void sc_cpuid_cached(unsigned index, unsigned *a, unsigned *b, unsigned *c, unsigned *d)
{
	const struct cpuid_feature *f = __x86_get_cpuid_feature_leaf(index);
	*a = f->cpuid_array[cpuid_register_index_eax];
	*b = f->cpuid_array[cpuid_register_index_ebx];
	*c = f->cpuid_array[cpuid_register_index_ecx];
	*d = f->cpuid_array[cpuid_register_index_edx];
}

/* An AMD (or Hygon) CPU: one with SSE4A (CPUID 0x80000001:ECX[6]), which no Intel CPU has. The vendor
 * without executing CPUID leaf 0 (a VM exit, about 8 us on the Intel Xeon's VM). */
static inline bool sc_cpu_amd_like(void)
{
	unsigned a, b, c, d;
	sc_cpuid_cached(CPUID_INDEX_80000001, &a, &b, &c, &d);
	return (c & (1u << 6)) != 0;
}

#endif
