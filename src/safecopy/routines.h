/*
 * The assembly routines (asm/) and the protocol between them, the signal handler and the C wrappers.
 * Internal to libsafecopy.
 */
#ifndef SAFECOPY_ROUTINES_H
#define SAFECOPY_ROUTINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "safecopy.h"

#define SC_HIDDEN __attribute__((visibility("hidden")))

/*
 * What the routines return in RAX:RDX (a 16-byte struct of two INTEGER members).
 * Normal completion: word == 0, value = the routine's result.
 * Fault: value = si_addr, word = a fault word (never 0), written by the handler.
 * Used inside the library; the routines behind the public functions go further (see below).
 */
struct sc_ret {
	uint64_t value;
	uint64_t word;
};

/* Fault word layout. */
#define SC_WORD_SIGNO(w)   ((int)((w)&0xff))
#define SC_WORD_CODE(w)    ((int)(int16_t)(((w) >> 8) & 0xffff))
#define SC_WORD_WRITE      ((uint64_t)1 << 24) /* page fault caused by a write */
#define SC_WORD_ADDR_KNOWN ((uint64_t)1 << 25) /* page fault: value is the faulting address */

static inline uint64_t sc_word_make(int signo, int code, bool page_fault, bool write)
{
	return (uint64_t)(signo & 0xff) | ((uint64_t)(uint16_t)code << 8) |
	       (page_fault ? SC_WORD_ADDR_KNOWN : 0) | (page_fault && write ? SC_WORD_WRITE : 0);
}

/* The copy and memset routines access memory in ascending order, at most this many bytes at once. */
#define SC_COPY_SPAN 64

SC_HIDDEN extern unsigned char sc_cpu_has_avx2;

/*
 * The complete fast paths of safecopy_memcpy/safecopy_memset once the arguments are checked: on
 * success they clear *fault (if not NULL) and return n; on a fault their landing tail-calls the
 * matching *_after_fault function with the same first four arguments plus the fault's addr and word,
 * and its result is returned.
 */
SC_HIDDEN size_t sc_copy(void *dst, const void *src, size_t n, struct safecopy_fault *fault);
SC_HIDDEN size_t sc_memset(void *dst, int c, size_t n, struct safecopy_fault *fault);
SC_HIDDEN size_t sc_copy_after_fault(void *dst, const void *src, size_t n, struct safecopy_fault *fault,
                                     uint64_t addr, uint64_t word);
SC_HIDDEN size_t sc_memset_after_fault(void *dst, int c, size_t n, struct safecopy_fault *fault,
                                       uint64_t addr, uint64_t word);

/*
 * The atomic routines take the arguments of their public functions and are their whole fast paths
 * (see asm/atomic.asm); a fault ends in sc_atomic_fault(fault, p, word), whose result they return.
 */
#define SC_DECLARE_ATOMICS(W)                                                                                \
	SC_HIDDEN enum safecopy_status sc_load##W(const uint##W##_t *p, uint##W##_t *out,                    \
	                                          struct safecopy_fault *f);                                 \
	SC_HIDDEN enum safecopy_status sc_store##W(uint##W##_t *p, uint##W##_t v, struct safecopy_fault *f); \
	SC_HIDDEN enum safecopy_status sc_swap##W(uint##W##_t *p, uint##W##_t v, uint##W##_t *old,           \
	                                          struct safecopy_fault *f);                                 \
	SC_HIDDEN enum safecopy_status sc_cas##W(uint##W##_t *p, uint##W##_t expected, uint##W##_t desired,  \
	                                         uint##W##_t *actual, struct safecopy_fault *f);             \
	SC_DECLARE_FETCH_OP(W, add)                                                                          \
	SC_DECLARE_FETCH_OP(W, and) SC_DECLARE_FETCH_OP(W, or) SC_DECLARE_FETCH_OP(W, xor)
#define SC_DECLARE_FETCH_OP(W, op)                                                                       \
	SC_HIDDEN enum safecopy_status sc_fetch_##op##W(uint##W##_t *p, uint##W##_t v, uint##W##_t *old, \
	                                                struct safecopy_fault *f);
SC_DECLARE_ATOMICS(32)
SC_DECLARE_ATOMICS(64)
SC_HIDDEN enum safecopy_status sc_atomic_fault(struct safecopy_fault *fault, uintptr_t p, uint64_t word);

/* Code range of one routine, filled by its asm address stub sc_range_<routine>(). */
struct sc_routine_range {
	uintptr_t begin;
	uintptr_t end;
	uintptr_t landing;
};

/* Fills the routine table from the address stubs and detects the CPU's features, once. */
SC_HIDDEN void sc_routine_table_init(void);

/* The landing of the routine whose code contains pc, or 0 if pc is in none. Async-signal-safe. */
SC_HIDDEN uintptr_t sc_routine_landing(uintptr_t pc);

/*
 * First use: the public functions check sc_is_ready() and, only while it is false, take a cold path
 * that calls sc_init_slow() (installs the handler) before the routine. Keeping that call off the fast
 * path lets every compiler turn the wrappers into a check and a tail call.
 */
SC_HIDDEN extern int sc_ready;
SC_HIDDEN void sc_init_slow(void);
static inline bool sc_is_ready(void)
{
	return __atomic_load_n(&sc_ready, __ATOMIC_ACQUIRE) != 0;
}

#endif
