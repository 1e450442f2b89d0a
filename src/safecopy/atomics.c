/*
 * Atomic wrappers: reject a misaligned pointer before any access (an unaligned locked access could
 * split a cache line or straddle into a bad page), then tail-call the routine, which does the rest.
 */
#include "safecopy.h"
#include "safecopy/fault_record.h"

/* Where a routine's landing ends: the record for a fault at p. */
enum safecopy_status sc_atomic_fault(struct safecopy_fault *fault, uintptr_t p, uint64_t word)
{
	return sc_record_word(fault, word, p);
}

#define SC_GUARD(W, p, fault)                                                          \
	do {                                                                           \
		if (((uintptr_t)(p) & (W / 8 - 1)) != 0)                               \
			return sc_record(fault, SAFECOPY_ALIGN, (uintptr_t)(p), 0, 0); \
		sc_ensure_init();                                                      \
	} while (0)

/* clang-format off */
#define SC_DEFINE_ATOMICS(W)                                                                               \
	enum safecopy_status safecopy_load##W(const uint##W##_t *p, uint##W##_t *out,                      \
					      struct safecopy_fault *fault)                                \
	{                                                                                                  \
		SC_GUARD(W, p, fault);                                                                     \
		return sc_load##W(p, out, fault);                                                          \
	}                                                                                                  \
	enum safecopy_status safecopy_store##W(uint##W##_t *p, uint##W##_t v, struct safecopy_fault *fault) \
	{                                                                                                  \
		SC_GUARD(W, p, fault);                                                                     \
		return sc_store##W(p, v, fault);                                                           \
	}                                                                                                  \
	enum safecopy_status safecopy_swap##W(uint##W##_t *p, uint##W##_t v, uint##W##_t *old,             \
					      struct safecopy_fault *fault)                                \
	{                                                                                                  \
		SC_GUARD(W, p, fault);                                                                     \
		return sc_swap##W(p, v, old, fault);                                                       \
	}                                                                                                  \
	enum safecopy_status safecopy_cas##W(uint##W##_t *p, uint##W##_t expected, uint##W##_t desired,    \
					     uint##W##_t *actual, struct safecopy_fault *fault)            \
	{                                                                                                  \
		SC_GUARD(W, p, fault);                                                                     \
		return sc_cas##W(p, expected, desired, actual, fault);                                     \
	}                                                                                                  \
	SC_DEFINE_FETCH_OP(W, add) SC_DEFINE_FETCH_OP(W, and) SC_DEFINE_FETCH_OP(W, or) SC_DEFINE_FETCH_OP(W, xor)

#define SC_DEFINE_FETCH_OP(W, op)                                                                          \
	enum safecopy_status safecopy_fetch_##op##W(uint##W##_t *p, uint##W##_t v, uint##W##_t *old,       \
						    struct safecopy_fault *fault)                          \
	{                                                                                                  \
		SC_GUARD(W, p, fault);                                                                     \
		return sc_fetch_##op##W(p, v, old, fault);                                                 \
	}
/* clang-format on */

SC_DEFINE_ATOMICS(32)
SC_DEFINE_ATOMICS(64)
