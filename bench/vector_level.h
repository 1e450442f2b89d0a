/* The vector level of safecopy's copy, memset and string routines, as the bench runs them. */
#ifndef BENCH_VECTOR_LEVEL_H
#define BENCH_VECTOR_LEVEL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Runs the routines at the level named (sse2, avx2, avx512), or at the CPU's highest if that is
 * lower. False, with nothing changed, for any other name.
 */
bool bench_vector_level_set(const char *name);

/* When SAFECOPY_CPU capped the routines' level below the CPU's highest: glibc capped alike, as
 * bench_vector_level_set does (the bench runs itself again; returns only if it need not or cannot). */
void bench_vector_level_follow_env(void);

/* The name of the level the routines run at ("avx512"). */
const char *bench_vector_level_name(void);

/* The name of the level just below it (avx512: "avx2", avx2: "sse2"), NULL at sse2, the lowest. */
const char *bench_vector_level_below(void);

/* Describes the level in use for the report, e.g. "avx512 (the CPU's highest)". */
void bench_vector_level_describe(char *buf, size_t n);

#endif
