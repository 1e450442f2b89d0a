/*
 * The bench is linked with the static libsafecopy, so it may set the library's hidden level (as
 * SAFECOPY_CPU does at load time), between groups, while no routine runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safecopy/cpu.h"
#include "vector_level.h"

bool bench_vector_level_set(const char *name)
{
	for (int l = SC_CPU_SSE2; l <= SC_CPU_AVX512; l++) {
		if (strcmp(name, sc_cpu_level_name((enum sc_cpu_level)l)) != 0)
			continue;
		sc_cpu_use_level(sc_cpu_cap(name, sc_cpu_detect_level()));
		return true;
	}
	return false;
}

void bench_vector_level_describe(char *buf, size_t n)
{
	enum sc_cpu_level cpu = sc_cpu_detect_level();
	if (sc_cpu_level == cpu)
		snprintf(buf, n, "%s (the CPU's highest)", sc_cpu_level_name(sc_cpu_level));
	else
		snprintf(buf, n, "%s (capped; the CPU offers %s)", sc_cpu_level_name(sc_cpu_level),
		         sc_cpu_level_name(cpu));
}
