/* Which of glibc's variants of memcpy and memset this process runs (they differ by CPU level). */
#ifndef BENCH_GLIBC_VARIANT_H
#define BENCH_GLIBC_VARIANT_H

#include <stddef.h>

/*
 * The names of the functions glibc chose at startup for memcpy and memset, e.g.
 * "__memcpy_avx_unaligned_erms" and "__memset_avx2_unaligned_erms"; for a function interposed on
 * glibc's, its name and object ("memcpy of libasan.so.8"); "unknown" where neither can be found.
 */
void bench_glibc_variants(char *memcpy_name, char *memset_name, size_t n);

#endif
