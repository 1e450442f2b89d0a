/* What the CPU and the kernel offer, detected once before the handler is installed. Internal. */
#ifndef SAFECOPY_CPU_H
#define SAFECOPY_CPU_H

#include "safecopy/routines.h"

/* The vector levels of the copy, memset and string routines, lowest first. */
enum sc_cpu_level {
	SC_CPU_SSE2,   /* every x86-64 CPU */
	SC_CPU_AVX2,   /* AVX2 with the OS saving the YMM state */
	SC_CPU_AVX512, /* AVX-512 F/BW/VL and BMI2, with the OS saving the opmask and ZMM state */
};

/*
 * The flag the routines in asm/ test: 1 if they may use their AVX2 paths (their AVX-512 paths are
 * reached by the thresholds below). Set from sc_cpu_level by sc_cpu_use_level, which the static test
 * suite calls to force a lower level.
 */
SC_HIDDEN extern unsigned char sc_cpu_has_avx2;

/*
 * The size thresholds sc_copy and sc_memset compare n with first thing (asm/copy.asm, asm/memset.asm):
 * a call goes to its level's own paths with the comparison that sizes it, no flag test. Set by
 * sc_cpu_use_level. An `above` threshold belongs to one level: at every other level it is never met
 * (UINT64_MAX, compared with `ja` so that not even n = SIZE_MAX meets it). A `vec_below` has a value
 * at every level: n below it runs the small paths in the routine's first lines, which AVX2 and
 * AVX-512 share (VEX stores); at SSE2 only the copy's up to 32 bytes (general and SSE registers).
 */
SC_HIDDEN extern uint64_t sc_copy_zmm_above;   /* AVX-512: n > 63 */
SC_HIDDEN extern uint64_t sc_copy_ymm_above;   /* AVX2: n > 64 */
SC_HIDDEN extern uint64_t sc_copy_vec_below;   /* AVX-512: n < 64, AVX2: n <= 64, SSE2: n <= 32 */
SC_HIDDEN extern uint64_t sc_memset_vec_below; /* AVX-512: n < 64, AVX2: n <= 64 (else 0) */
SC_HIDDEN extern uint64_t sc_memset_zmm_above; /* AVX-512: n > 63 */
SC_HIDDEN extern uint64_t sc_memset_ymm_above; /* AVX2: n > 64 */

/* From how many bytes the AVX2 copy takes rep movsb instead of its loop: per vendor (cpu.c). */
SC_HIDDEN extern uint64_t sc_copy_avx2_rep_min;

/*
 * The copies that asm/copy_nt.asm makes with non-temporal stores, at AVX-512 and AVX2 (the SSE2 loop
 * never asks): n above sc_copy_nt_above, among the sizes from the level's rep threshold on (16 or
 * 32 KiB); every other size goes on to rep movsb. Never met: UINT64_MAX (compared with `ja`: not even
 * n = SIZE_MAX meets it). Set by sc_cpu_init from sc_copy_nt_choose.
 */
SC_HIDDEN extern uint64_t sc_copy_nt_above;

/*
 * The sc_copy_nt_above for a CPU: none (UINT64_MAX) where it is an AMD (or alike: rep movsb won at
 * every size there), else 48 MiB - 1 (the measurements are in asm/copy_nt.asm).
 */
SC_HIDDEN uint64_t sc_copy_nt_choose(bool amd_like);

/* The level in use: what the CPU and OS offer, capped by SAFECOPY_CPU. */
SC_HIDDEN extern enum sc_cpu_level sc_cpu_level;

/* The highest level this CPU and kernel support. */
SC_HIDDEN enum sc_cpu_level sc_cpu_detect_level(void);

/*
 * The level a SAFECOPY_CPU value allows on a CPU that offers `detected`: NULL or "" leave it as is;
 * "sse2", "avx2" and "avx512" cap it (never raise it); any other value caps it at SSE2, so that a
 * misspelt request never runs a higher level than asked for.
 */
SC_HIDDEN enum sc_cpu_level sc_cpu_cap(const char *value, enum sc_cpu_level detected);

/* The name of a level as SAFECOPY_CPU spells it. */
SC_HIDDEN const char *sc_cpu_level_name(enum sc_cpu_level level);

/* Sets sc_cpu_level and the flags the routines test. */
SC_HIDDEN void sc_cpu_use_level(enum sc_cpu_level level);

/*
 * Detects the level (capped by the environment variable SAFECOPY_CPU, read here once) and
 * arch_va_bits (src/arch/x86_64.h). Idempotent; not async-signal-safe.
 */
SC_HIDDEN void sc_cpu_init(void);

#endif
