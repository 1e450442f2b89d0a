/*
 * Atomic wrappers: reject a misaligned pointer before any access (an unaligned locked access could
 * split a cache line or straddle into a bad page), then tail-call the routine, which does the rest.
 * The first call, before the handler is installed, and calls from inside a previous handler go through
 * a cold copy (see sc_fast_path()): no call is left on the fast path, so no compiler needs a frame there.
 */
#include "safecopy.h"
#include "safecopy/blocked.h"
#include "safecopy/fault_record.h"

/* Where a routine's landing ends: the record for a fault at p. */
enum safecopy_status sc_atomic_fault(struct safecopy_fault *fault, uintptr_t p, uint64_t word)
{
	return sc_record_word(fault, word, p);
}

/*
 * SC_ATOMIC(W, op, params, args): safecopy_<op><W> with the parameter list params (in parentheses,
 * p first, fault last), passing args on to the routine sc_<op><W>.
 */
/* clang-format off */
#define SC_ATOMIC(W, op, params, args)                                                           \
	__attribute__((noinline, cold)) static enum safecopy_status slow_##op##W params          \
	{                                                                                        \
		struct sc_window w;                                                              \
		sc_window_enter(&w);                                                             \
		enum safecopy_status st = sc_##op##W args;                                       \
		sc_window_leave(&w);                                                             \
		return st;                                                                       \
	}                                                                                        \
	enum safecopy_status safecopy_##op##W params                                             \
	{                                                                                        \
		if (((uintptr_t)p & (W / 8 - 1)) != 0)                                           \
			return sc_record(fault, SAFECOPY_ALIGN, (uintptr_t)p, 0, 0);             \
		if (__builtin_expect(!sc_fast_path(), 0))                                        \
			return slow_##op##W args;                                                \
		return sc_##op##W args;                                                          \
	}

#define SC_ATOMICS(W)                                                                                   \
	SC_ATOMIC(W, load, (const uint##W##_t *p, uint##W##_t *out, struct safecopy_fault *fault),      \
		  (p, out, fault))                                                                      \
	SC_ATOMIC(W, store, (uint##W##_t *p, uint##W##_t v, struct safecopy_fault *fault), (p, v, fault)) \
	SC_ATOMIC(W, swap, (uint##W##_t *p, uint##W##_t v, uint##W##_t *old, struct safecopy_fault *fault), \
		  (p, v, old, fault))                                                                   \
	SC_ATOMIC(W, cas, (uint##W##_t *p, uint##W##_t expected, uint##W##_t desired, uint##W##_t *actual, \
			   struct safecopy_fault *fault), (p, expected, desired, actual, fault))        \
	SC_FETCH_OP(W, add) SC_FETCH_OP(W, and) SC_FETCH_OP(W, or) SC_FETCH_OP(W, xor)

#define SC_FETCH_OP(W, op)                                                                              \
	SC_ATOMIC(W, fetch_##op, (uint##W##_t *p, uint##W##_t v, uint##W##_t *old, struct safecopy_fault *fault), \
		  (p, v, old, fault))
/* clang-format on */

SC_ATOMICS(32)
SC_ATOMICS(64)
