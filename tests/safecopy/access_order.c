/*
 * The precision contract of the copy and memset routines, watched instruction by instruction: the
 * proof in src/safecopy/exact.c holds only if, whenever a declared access starting at offset a (from
 * dst, or from src for a copy's loads) is about to run, every byte of dst before a is already done and
 * no earlier access reached a + SC_COPY_SPAN or beyond. Each call is single-stepped (EFLAGS.TF) and
 * checked at every declared access, at every vector level, for every size up to 300 and a spread of
 * larger ones (every path but `rep`, which the CPU makes exact by itself), at several alignments.
 * The boundary tests see a broken order only when a fault happens to fall where it matters; this sees
 * it on every call. Static suite only: it reads the hidden routine table.
 */
#ifdef SAFECOPY_TEST_INTERNALS
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

#include "arch/x86_64.h"
#include "levels.h"
#include "safecopy.h"
#include "safecopy/routines.h"
#include "stepper.h"

#define BUF 16384

static unsigned char src_buf[BUF], dst_buf[BUF + 64];

/* The call being stepped, and the first broken rule the SIGTRAP handler saw in it. */
static struct {
	const unsigned char *src; /* NULL: memset */
	unsigned char *dst;
	size_t n;
	unsigned char c;
	long max_end;       /* the furthest offset an earlier access reached (its side's offsets) */
	unsigned accesses;  /* declared accesses seen in this call, but `rep` */
	unsigned reps;      /* declared `rep movsb`/`rep stosb` seen in it (exact by the CPU) */
	const char *broken; /* NULL while every access kept the rules */
	long broken_off;    /* the offending access's start offset */
} call;

static bool byte_done(size_t i)
{
	return call.dst[i] == (call.src ? call.src[i] : call.c);
}

static void on_step(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)info;
	const struct sc_routine_range *r = sc_routine_at(arch_pc(uc));
	const struct sc_access *a = r ? sc_access_at(r, arch_pc(uc)) : NULL;
	if (a != NULL && (a->kind == SC_ACC_MOVS || a->kind == SC_ACC_STOS))
		call.reps++;
	if (a == NULL || a->kind == SC_ACC_MOVS || a->kind == SC_ACC_STOS || call.broken)
		return;
	uintptr_t addr = arch_reg(uc, a->base) + (a->index == ARCH_REG_NONE ? 0 : arch_reg(uc, a->index)) +
	                 (uintptr_t)(intptr_t)a->disp;
	bool on_src = call.src != NULL && a->kind == SC_ACC_LOAD;
	long off = (long)(addr - (uintptr_t)(on_src ? call.src : call.dst));
	call.accesses++;
	if (off < 0 || (size_t)off >= call.n)
		call.broken = "the access starts outside [0, n)";
	else if (call.max_end > off + SC_COPY_SPAN)
		call.broken = "an earlier access reached off + SC_COPY_SPAN or beyond";
	for (long i = 0; i < off && !call.broken; i++)
		if (!byte_done((size_t)i))
			call.broken = "a byte before the access is not done yet";
	if (call.broken)
		call.broken_off = off;
	if (off + a->width > call.max_end)
		call.max_end = off + a->width;
}

static void step_one(size_t n, size_t shift, bool copy, enum sc_cpu_level level)
{
	call.src = copy ? src_buf : NULL;
	call.dst = dst_buf + shift;
	call.n = n;
	call.c = (unsigned char)(0xa5 ^ n);
	call.max_end = 0;
	call.accesses = 0;
	call.reps = 0;
	call.broken = NULL;
	for (size_t i = 0; i < n; i++)
		call.dst[i] = (unsigned char)~(copy ? src_buf[i] : call.c);
	size_t got = copy ? STEPPED(safecopy_memcpy(call.dst, call.src, n, NULL))
	                  : STEPPED(safecopy_memset(call.dst, call.c, n, NULL));
	const char *what = copy ? "copy" : "memset";
	cr_assert_eq(got, n, "%s n=%zu shift=%zu level %s: count %zu", what, n, shift,
	             sc_cpu_level_name(level), got);
	cr_assert_null(call.broken, "%s n=%zu shift=%zu level %s: access at offset %ld: %s", what, n, shift,
	               sc_cpu_level_name(level), call.broken_off, call.broken);
	/* A size may take `rep` at some levels (SSE2's memset from 4 KiB): then that is the access. */
	cr_assert_gt(call.accesses + call.reps, 0, "%s n=%zu: no declared access was stepped", what, n);
	for (size_t i = 0; i < n; i++)
		cr_assert(byte_done(i), "%s n=%zu: byte %zu not done", what, n, i);
}

static void every_path_at(enum sc_cpu_level wanted)
{
	cr_assert_eq(safecopy_init(), 0);
	enum sc_cpu_level level = force_level(wanted);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_step;
	sa.sa_flags = SA_SIGINFO;
	cr_assert_eq(sigaction(SIGTRAP, &sa, NULL), 0);
	for (size_t i = 0; i < BUF; i++)
		src_buf[i] = (unsigned char)(i * 31 + 7);
	static const size_t shifts[] = {0, 5, 63};
	static const size_t big[] = {2047, 4100, 8200};
	for (size_t s = 0; s < sizeof shifts / sizeof shifts[0]; s++) {
		for (int copy = 0; copy < 2; copy++) {
			for (size_t n = 1; n <= 1300; n += n < 300 ? 1 : 11)
				step_one(n, shifts[s], copy, level);
			for (size_t b = 0; b < sizeof big / sizeof big[0]; b++)
				step_one(big[b], shifts[s], copy, level);
		}
	}
}

Test(access_order, every_access_keeps_the_precision_contract_avx512, .timeout = 300)
{
	every_path_at(SC_CPU_AVX512);
}

Test(access_order, every_access_keeps_the_precision_contract_avx2, .timeout = 300)
{
	every_path_at(SC_CPU_AVX2);
}

Test(access_order, every_access_keeps_the_precision_contract_sse2, .timeout = 300)
{
	every_path_at(SC_CPU_SSE2);
}
#endif
