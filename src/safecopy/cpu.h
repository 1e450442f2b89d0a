/* What the CPU and the kernel offer, detected once before the handler is installed. Internal. */
#ifndef SAFECOPY_CPU_H
#define SAFECOPY_CPU_H

#include "safecopy/routines.h"

/* 1 if the copy and memset routines may use their AVX2 loops (tests force 0 for the SSE2 ones). */
SC_HIDDEN extern unsigned char sc_cpu_has_avx2;

/* Detects the features above and arch_va_bits (src/arch/x86_64.h). Idempotent; not async-signal-safe. */
SC_HIDDEN void sc_cpu_init(void);

#endif
