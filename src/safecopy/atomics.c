/*
 * Atomics: the C ends of the routines of asm/atomic.asm, which are the register-result functions
 * safecopy_atomic_<op><W> themselves (the entry checks included, no C frame), and the exported
 * functions with output parameters, made from the same bodies as the header's inline definitions.
 */
#define SAFECOPY_NO_INLINE /* this file defines the exported functions the header would inline */
#include "safecopy.h"
#include "safecopy/blocked.h"
#include "safecopy/fault_record.h"

/* asm/atomic.asm returns the result in RAX:RDX, which needs exactly this layout. */
_Static_assert(sizeof(struct safecopy_atomic_result) == 16 &&
                   offsetof(struct safecopy_atomic_result, status) == 8,
               "asm/atomic.asm: struct safecopy_atomic_result is value, status");

/* Where a routine's landing ends: the record for a fault at p. */
struct safecopy_atomic_result sc_atomic_fault(struct safecopy_fault *fault, uintptr_t p, uint64_t word)
{
	return (struct safecopy_atomic_result){0, sc_record_word(fault, word, p)};
}

/* Where a routine's entry goes for a misaligned p, before any access. */
struct safecopy_atomic_result sc_atomic_misaligned(const void *p, struct safecopy_fault *fault)
{
	return (struct safecopy_atomic_result){0, sc_record(fault, SAFECOPY_ALIGN, (uintptr_t)p, 0, 0)};
}

/*
 * SC_ATOMIC_SLOW(W, op, params, args): sc_atomic_slow_<op><W>, where the routine's entry goes while
 * sc_gate is not 0 (see sc_fast_path()), with the routine's parameters; runs the routine from after
 * its checks inside the window.
 */
#define SC_ATOMIC_SLOW(W, op, params, args)                                                 \
	__attribute__((cold)) struct safecopy_atomic_result sc_atomic_slow_##op##W params { \
		struct sc_window w;                                                         \
		sc_window_enter(&w);                                                        \
		struct safecopy_atomic_result r = sc_##op##W##_unchecked args;              \
		sc_window_leave(&w);                                                        \
		return r;                                                                   \
	}
#define SC_ATOMIC_SLOWS(W)                                                                             \
	SC_ATOMIC_SLOW(W, load, (const uint##W##_t *p, struct safecopy_fault *fault), (p, fault))      \
	SC_ATOMIC_SLOW(W, store, (uint##W##_t * p, uint##W##_t v, struct safecopy_fault * fault),      \
	               (p, v, fault))                                                                  \
	SC_ATOMIC_SLOW(W, swap, (uint##W##_t * p, uint##W##_t v, struct safecopy_fault * fault),       \
	               (p, v, fault))                                                                  \
	SC_ATOMIC_SLOW(W, cas,                                                                         \
	               (uint##W##_t * p, uint##W##_t e, uint##W##_t d, struct safecopy_fault * fault), \
	               (p, e, d, fault))                                                               \
	SC_ATOMIC_SLOW(W, fetch_add, (uint##W##_t * p, uint##W##_t v, struct safecopy_fault * fault),  \
	               (p, v, fault))                                                                  \
	SC_ATOMIC_SLOW(W, fetch_and, (uint##W##_t * p, uint##W##_t v, struct safecopy_fault * fault),  \
	               (p, v, fault))                                                                  \
	SC_ATOMIC_SLOW(W, fetch_or, (uint##W##_t * p, uint##W##_t v, struct safecopy_fault * fault),   \
	               (p, v, fault))                                                                  \
	SC_ATOMIC_SLOW(W, fetch_xor, (uint##W##_t * p, uint##W##_t v, struct safecopy_fault * fault),  \
	               (p, v, fault))
SC_ATOMIC_SLOWS(32)
SC_ATOMIC_SLOWS(64)

/* The exported functions with output parameters (the header's inline ones when not inlined). */
#define SC_EXPORTED_ATOMIC(name, params, expr) \
	enum safecopy_status name params       \
	{                                      \
		return expr;                   \
	}
SAFECOPY_ATOMIC_BODIES(SC_EXPORTED_ATOMIC)
