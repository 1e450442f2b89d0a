/*
 * bigcopy-methods [ROUNDS [MIN_MIB [MAX_MIB] | MIB,MIB,...]]: the ways to copy 1-64 MiB on this CPU,
 * each against glibc's memcpy, outside the library (issue 11: what, if anything, beats glibc by 10% at
 * 1-64 MiB). BIGCOPY_METHODS=rep,zmm4nt,... measures only the methods named (and glibc).
 * Build: cc -O2 -march=native -o bigcopy-methods scripts/bigcopy-methods.c (needs AVX-512); run it
 * again with GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW for glibc's AVX2 memcpy.
 *
 * As bench/copy_rows.c: the same buffers again and again, src at a page boundary, dst half a page
 * after one; the methods take turns in a new order each round, each with an untimed run first.
 * Per size it prints each method's median ratio (its time / glibc's in the same round) over all
 * rounds, then over the third of the rounds in which glibc was fastest: the quiet-machine figure
 * (the L3 is the host's, and the ratios move with how busy it is).
 */
#define _GNU_SOURCE
#include <immintrin.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define DST_SHIFT  2048
#define MAX_ROUNDS 99

static void *(*volatile memcpy_fn)(void *, const void *, size_t) = memcpy;

static void by_glibc(char *d, const char *s, size_t n)
{
	memcpy_fn(d, s, n);
}

static void by_rep_movsb(char *d, const char *s, size_t n)
{
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

static void rep_in_chunks(char *d, const char *s, size_t n, size_t chunk)
{
	for (size_t i = 0; i < n; i += chunk)
		by_rep_movsb(d + i, s + i, n - i < chunk ? n - i : chunk);
}

static void by_rep_64k(char *d, const char *s, size_t n)
{
	rep_in_chunks(d, s, n, 64 << 10);
}

static void by_rep_256k(char *d, const char *s, size_t n)
{
	rep_in_chunks(d, s, n, 256 << 10);
}

/* How a loop stores one 64-byte line of the destination (d is 64-byte aligned). */
enum store { STORE, STORE_NT, STORE_HALF_NT, STORE_NT_FROM };

static inline __attribute__((always_inline)) void store_line(char *d, const char *s, size_t i, int ymm,
                                                             enum store how, size_t nt_from)
{
	bool nt =
	    how == STORE_NT || (how == STORE_HALF_NT && (i & 64)) || (how == STORE_NT_FROM && i >= nt_from);
	if (ymm) {
		__m256i a = _mm256_loadu_si256((const void *)(s + i));
		__m256i b = _mm256_loadu_si256((const void *)(s + i + 32));
		if (nt) {
			_mm256_stream_si256((void *)(d + i), a);
			_mm256_stream_si256((void *)(d + i + 32), b);
		} else {
			_mm256_store_si256((void *)(d + i), a);
			_mm256_store_si256((void *)(d + i + 32), b);
		}
		return;
	}
	__m512i v = _mm512_loadu_si512(s + i);
	if (nt)
		_mm512_stream_si512((void *)(d + i), v);
	else
		_mm512_store_si512(d + i, v);
}

/* One loop shape: `lines` lines per round, optional prefetch `pf` bytes ahead of the source
 * (prefetcht0, or prefetchnta with nta) or of the destination (prefetchw, with pfw). */
struct loop {
	int ymm, lines;
	enum store how;
	size_t nt_from; /* STORE_NT_FROM: the offset from which the stores are non-temporal */
	size_t pf;
	bool nta, pfw;
};

static inline __attribute__((always_inline)) void prefetch_round(char *d, const char *s, size_t i,
                                                                 const struct loop *l)
{
	for (int p = 0; p < l->lines * 64; p += 64) {
		if (l->pfw)
			__builtin_prefetch(d + i + l->pf + p, 1, 3);
		else if (l->nta)
			_mm_prefetch(s + i + l->pf + p, _MM_HINT_NTA);
		else
			_mm_prefetch(s + i + l->pf + p, _MM_HINT_T0);
	}
}

/* The shape of glibc's large-copy loop: the first line unaligned, then rounds of aligned lines from
 * the first 64-byte boundary of dst, then the last lines, the last one ending at n. */
static inline __attribute__((always_inline)) void by_loop(char *d, const char *s, size_t n,
                                                          const struct loop *l)
{
	_mm512_storeu_si512(d, _mm512_loadu_si512(s));
	size_t i = 64 - ((uintptr_t)d & 63), round = (size_t)l->lines * 64;
	for (; i + round <= n; i += round) {
		if (l->pf)
			prefetch_round(d, s, i, l);
		for (int k = 0; k < l->lines; k++)
			store_line(d, s, i + 64 * (size_t)k, l->ymm, l->how, l->nt_from);
	}
	for (; i < n; i += 64) {
		size_t at = i + 64 <= n ? i : n - 64;
		_mm512_storeu_si512(d + at, _mm512_loadu_si512(s + at));
	}
	_mm_sfence(); /* the non-temporal stores' */
}

#define LOOP_METHOD(name, ...)                                  \
	static void name(char *d, const char *s, size_t n)      \
	{                                                       \
		static const struct loop shape = {__VA_ARGS__}; \
		by_loop(d, s, n, &shape);                       \
	}
LOOP_METHOD(by_zmm4, .lines = 4)
LOOP_METHOD(by_zmm8, .lines = 8)
/* ymmK: K 32-byte vectors per round. */
LOOP_METHOD(by_ymm4, .ymm = 1, .lines = 2)
LOOP_METHOD(by_ymm8, .ymm = 1, .lines = 4)
LOOP_METHOD(by_zmm4_pf1k, .lines = 4, .pf = 1024)
LOOP_METHOD(by_zmm4_pf4k, .lines = 4, .pf = 4096)
LOOP_METHOD(by_zmm4_nta2k, .lines = 4, .pf = 2048, .nta = true)
LOOP_METHOD(by_zmm4_pfw2k, .lines = 4, .pf = 2048, .pfw = true)
LOOP_METHOD(by_zmm4_nt, .lines = 4, .how = STORE_NT)
LOOP_METHOD(by_zmm4_nt_pf1k, .lines = 4, .how = STORE_NT, .pf = 1024)
LOOP_METHOD(by_ymm4_nt, .ymm = 1, .lines = 2, .how = STORE_NT)
LOOP_METHOD(by_ymm4_nt_pf1k, .ymm = 1, .lines = 2, .how = STORE_NT, .pf = 1024)
LOOP_METHOD(by_zmm4_half_nt, .lines = 4, .how = STORE_HALF_NT)
/* Ordinary stores for the first 512 or 768 KiB, then non-temporal ones: at 1 MiB the destination's
 * tail then stays out of the L2 (2 MiB on the Xeon), which src and dst together fill. */
LOOP_METHOD(by_zmm4_nt_from512k, .lines = 4, .how = STORE_NT_FROM, .nt_from = 512 << 10)
LOOP_METHOD(by_zmm4_nt_from768k, .lines = 4, .how = STORE_NT_FROM, .nt_from = 768 << 10)
LOOP_METHOD(by_ymm4_nt_from768k, .ymm = 1, .lines = 2, .how = STORE_NT_FROM, .nt_from = 768 << 10)
LOOP_METHOD(by_zmm8_nt, .lines = 8, .how = STORE_NT)
LOOP_METHOD(by_zmm4_pfw512, .lines = 4, .pf = 512, .pfw = true)
LOOP_METHOD(by_zmm4_pfw1k, .lines = 4, .pf = 1024, .pfw = true)
LOOP_METHOD(by_zmm4_pfw4k, .lines = 4, .pf = 4096, .pfw = true)
LOOP_METHOD(by_zmm8_pfw2k, .lines = 8, .pf = 2048, .pfw = true)
LOOP_METHOD(by_ymm4_pfw2k, .ymm = 1, .lines = 2, .pf = 2048, .pfw = true)

static const struct method {
	const char *name;
	void (*copy)(char *, const char *, size_t);
} methods[] = {
    {"glibc", by_glibc},
    {"rep", by_rep_movsb},
    {"rep/64K", by_rep_64k},
    {"rep/256K", by_rep_256k},
    {"zmm4", by_zmm4},
    {"zmm8", by_zmm8},
    {"ymm4", by_ymm4},
    {"ymm8", by_ymm8},
    {"zmm4+pf1K", by_zmm4_pf1k},
    {"zmm4+pf4K", by_zmm4_pf4k},
    {"zmm4+nta2K", by_zmm4_nta2k},
    {"zmm4+pfw2K", by_zmm4_pfw2k},
    {"zmm4nt", by_zmm4_nt},
    {"zmm4nt+pf1K", by_zmm4_nt_pf1k},
    {"ymm4nt", by_ymm4_nt},
    {"ymm4nt+pf1K", by_ymm4_nt_pf1k},
    {"zmm4halfnt", by_zmm4_half_nt},
    {"zmm4nt/512K", by_zmm4_nt_from512k},
    {"zmm4nt/768K", by_zmm4_nt_from768k},
    {"ymm4nt/768K", by_ymm4_nt_from768k},
    {"zmm8nt", by_zmm8_nt},
    {"zmm4+pfw512", by_zmm4_pfw512},
    {"zmm4+pfw1K", by_zmm4_pfw1k},
    {"zmm4+pfw4K", by_zmm4_pfw4k},
    {"zmm8+pfw2K", by_zmm8_pfw2k},
    {"ymm4+pfw2K", by_ymm4_pfw2k},
};
#define METHODS (sizeof methods / sizeof methods[0])

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int count)
{
	qsort(v, count, sizeof *v, by_value);
	return v[count / 2];
}

/* ns per copy of one method, after an untimed eighth of the batch (the other method's state). */
static double time_method(const struct method *m, char *d, const char *s, size_t n, int iters)
{
	for (int i = 0; i <= iters / 8; i++)
		m->copy(d, s, n);
	double t0 = now_ns();
	for (int i = 0; i < iters; i++)
		m->copy(d, s, n);
	return (now_ns() - t0) / iters;
}

/* The methods measured: glibc and those BIGCOPY_METHODS names (comma-separated; unset: all). */
static bool selected[METHODS];

static void select_methods(const char *names)
{
	for (size_t m = 0; m < METHODS; m++) {
		size_t len = strlen(methods[m].name);
		const char *at = names;
		bool named = false;
		while (names && !named && (at = strstr(at, methods[m].name)) != NULL) {
			named = (at == names || at[-1] == ',') && (at[len] == ',' || at[len] == '\0');
			at += len;
		}
		selected[m] = m == 0 || !names || named;
	}
}

/* The selected methods in a new random order; returns how many. */
static size_t shuffle(int *order)
{
	size_t count = 0;
	for (size_t m = 0; m < METHODS; m++)
		if (selected[m])
			order[count++] = (int)m;
	for (size_t m = count - 1; m > 0; m--) {
		size_t j = (size_t)rand() % (m + 1);
		int t = order[m];
		order[m] = order[j], order[j] = t;
	}
	return count;
}

/* The rounds' ratios of method m, all of them or those in quiet[] (count). */
static double median_ratio(double t[][MAX_ROUNDS], size_t m, const int *rounds, int count)
{
	double r[MAX_ROUNDS];
	for (int k = 0; k < count; k++)
		r[k] = t[m][rounds[k]] / t[0][rounds[k]];
	return median(r, count);
}

static void report(size_t n, double t[][MAX_ROUNDS], int rounds)
{
	int all[MAX_ROUNDS], quiet[MAX_ROUNDS];
	double glibc[MAX_ROUNDS];
	for (int k = 0; k < rounds; k++)
		all[k] = k, glibc[k] = t[0][k];
	double typical = median(glibc, rounds); /* sorts glibc[] */
	double cut = glibc[rounds / 3];
	int count = 0;
	for (int k = 0; k < rounds; k++)
		if (t[0][k] <= cut)
			quiet[count++] = k;
	printf("%7.2f MiB: glibc %.1f us (fastest third <= %.1f us); ratio all rounds / fastest third:\n",
	       n / 1048576.0, typical / 1e3, cut / 1e3);
	for (size_t m = 1; m < METHODS; m++)
		if (selected[m])
			printf("  %-12s %.2f / %.2f\n", methods[m].name, median_ratio(t, m, all, rounds),
			       median_ratio(t, m, quiet, count));
}

static void measure_size(size_t n, int rounds)
{
	/* One mapping: src at its start, dst half a page after the next page boundary past src. */
	size_t len = n + 2 * DST_SHIFT;
	char *src = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	char *dst = src + len + DST_SHIFT;
	for (size_t i = 0; i < n; i++)
		src[i] = (char)(i * 7 + 1);
	static double t[METHODS][MAX_ROUNDS];
	int iters = n >= (32u << 20) ? 2 : (int)((64u << 20) / n);
	for (int k = 0; k < rounds; k++) {
		int order[METHODS];
		size_t count = shuffle(order);
		for (size_t q = 0; q < count; q++) {
			memset(dst, 0, n);
			const struct method *m = &methods[order[q]];
			t[order[q]][k] = time_method(m, dst, src, n, iters);
			if (memcmp(dst, src, n) != 0) {
				fprintf(stderr, "%s: wrong copy of %zu bytes\n", m->name, n);
				exit(1);
			}
		}
	}
	report(n, t, rounds);
	munmap(src, 2 * len);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 21;
	if (rounds < 3 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: bigcopy-methods [ROUNDS (3-%d) [MIN_MIB [MAX_MIB] | MIB,MIB,...]]\n",
		        MAX_ROUNDS);
		return 2;
	}
	select_methods(getenv("BIGCOPY_METHODS"));
	if (argc > 2 && strchr(argv[2], ',')) { /* a list of sizes, in MiB, fractions allowed */
		for (char *p = argv[2]; *p; p += *p == ',')
			measure_size((size_t)(strtod(p, &p) * 1048576) & ~(size_t)63, rounds);
		return 0;
	}
	size_t lo = argc > 2 ? strtoul(argv[2], NULL, 0) : 1, hi = argc > 3 ? strtoul(argv[3], NULL, 0) : 64;
	for (size_t mib = lo; mib <= hi; mib *= 2)
		measure_size(mib << 20, rounds);
	return 0;
}
