/*
 * cpu_is_amd(): the CPU's vendor string (CPUID leaf 0) is AMD's or Hygon's. The library tells vendors
 * apart by a feature bit instead (sc_cpu_amd_like, src/safecopy/cpuid.h: leaf 0 is a VM exit); the
 * tests check its per-vendor choices against this independent reading. For the safecopy and usertrap
 * tests.
 */
#ifndef TESTS_CPU_VENDOR_H
#define TESTS_CPU_VENDOR_H

#include <cpuid.h>
#include <stdbool.h>
#include <string.h>

static inline bool cpu_is_amd(void)
{
	unsigned a, b, c, d;
	__cpuid(0, a, b, c, d);
	char vendor[13];
	memcpy(vendor, &b, 4);
	memcpy(vendor + 4, &d, 4);
	memcpy(vendor + 8, &c, 4);
	vendor[12] = 0;
	return strcmp(vendor, "AuthenticAMD") == 0 || strcmp(vendor, "HygonGenuine") == 0;
}

#endif
