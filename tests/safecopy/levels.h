/*
 * The vector levels of the copy and memset routines (src/safecopy/cpu.h), for the static suite:
 * linked from the archive, a test may switch the level the library chose at load time. Criterion runs
 * every test in a child of its own, so a test that switches leaves the others at the CPU's level.
 */
#ifndef SAFECOPY_TESTS_LEVELS_H
#define SAFECOPY_TESTS_LEVELS_H

#ifdef SAFECOPY_TEST_INTERNALS
#include <criterion/criterion.h>

#include "safecopy/cpu.h"

/* Runs the routines at `level`, or at the CPU's highest if that is lower (it cannot run more). */
static inline enum sc_cpu_level force_level(enum sc_cpu_level level)
{
	enum sc_cpu_level cpu = sc_cpu_detect_level();
	enum sc_cpu_level used = level < cpu ? level : cpu;
	sc_cpu_use_level(used);
	cr_assert_eq(sc_cpu_level, used);
	return used;
}
#endif

#endif
