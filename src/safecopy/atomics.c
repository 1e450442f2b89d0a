/*
 * Atomic wrappers: reject a misaligned pointer before any access (an unaligned locked access could
 * split a cache line or straddle into a bad page), then run the routine and report p on a fault.
 */
#include "safecopy.h"
#include "safecopy/fault_record.h"

static inline bool misaligned(const void *p, uintptr_t size)
{
	return ((uintptr_t)p & (size - 1)) != 0;
}

/* Finishes a call: the routine's value goes to *out (width W) only on success. */
#define SC_FINISH(W, r, p, out, fault)                                          \
	do {                                                                    \
		if ((r).word)                                                   \
			return sc_record_word(fault, (r).word, (uintptr_t)(p)); \
		*(out) = (uint##W##_t)(r).value;                                \
		return sc_record_ok(fault);                                     \
	} while (0)

#define SC_GUARD(W, p, fault)                                                          \
	do {                                                                           \
		if (misaligned(p, W / 8))                                              \
			return sc_record(fault, SAFECOPY_ALIGN, (uintptr_t)(p), 0, 0); \
		sc_ensure_init();                                                      \
	} while (0)

#define SC_DEFINE_ATOMICS(W)                                                                                \
	enum safecopy_status safecopy_load##W(const uint##W##_t *p, uint##W##_t *out,                       \
	                                      struct safecopy_fault *fault)                                 \
	{                                                                                                   \
		SC_GUARD(W, p, fault);                                                                      \
		struct sc_ret r = sc_load##W(p);                                                            \
		SC_FINISH(W, r, p, out, fault);                                                             \
	}                                                                                                   \
	enum safecopy_status safecopy_store##W(uint##W##_t *p, uint##W##_t v, struct safecopy_fault *fault) \
	{                                                                                                   \
		SC_GUARD(W, p, fault);                                                                      \
		struct sc_ret r = sc_store##W(p, v);                                                        \
		if (r.word)                                                                                 \
			return sc_record_word(fault, r.word, (uintptr_t)p);                                 \
		return sc_record_ok(fault);                                                                 \
	}                                                                                                   \
	enum safecopy_status safecopy_swap##W(uint##W##_t *p, uint##W##_t v, uint##W##_t *old,              \
	                                      struct safecopy_fault *fault)                                 \
	{                                                                                                   \
		SC_GUARD(W, p, fault);                                                                      \
		struct sc_ret r = sc_swap##W(p, v);                                                         \
		SC_FINISH(W, r, p, old, fault);                                                             \
	}                                                                                                   \
	enum safecopy_status safecopy_cas##W(uint##W##_t *p, uint##W##_t expected, uint##W##_t desired,     \
	                                     uint##W##_t *actual, struct safecopy_fault *fault)             \
	{                                                                                                   \
		SC_GUARD(W, p, fault);                                                                      \
		struct sc_ret r = sc_cas##W(p, expected, desired);                                          \
		SC_FINISH(W, r, p, actual, fault);                                                          \
	}                                                                                                   \
	SC_DEFINE_FETCH_OP(W, add)                                                                          \
	SC_DEFINE_FETCH_OP(W, and)                                                                          \
	SC_DEFINE_FETCH_OP(W, or)                                                                           \
	SC_DEFINE_FETCH_OP(W, xor)

#define SC_DEFINE_FETCH_OP(W, op)                                                                    \
	enum safecopy_status safecopy_fetch_##op##W(uint##W##_t *p, uint##W##_t v, uint##W##_t *old, \
	                                            struct safecopy_fault *fault)                    \
	{                                                                                            \
		SC_GUARD(W, p, fault);                                                               \
		struct sc_ret r = sc_fetch_##op##W(p, v);                                            \
		SC_FINISH(W, r, p, old, fault);                                                      \
	}

SC_DEFINE_ATOMICS(32)
SC_DEFINE_ATOMICS(64)
