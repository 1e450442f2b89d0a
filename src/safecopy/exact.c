/*
 * safecopy_memcpy and safecopy_memset. Their exported entries are asm (asm/entry.inc): argument checks
 * that fall through into the routine, which also clears *fault. Only the rare cases come here: the cold
 * paths below, and a fault, through the routine's landing, to find the exact count (with no second
 * signal, unless memory changes underneath).
 *
 * The routines keep one invariant (asm/copy.asm, asm/memset.asm): when an access that starts at offset
 * a is made, every byte before a is done, and no earlier access reached a + SC_COPY_SPAN or beyond. A
 * fault in that access at byte k therefore proves [0, a) done, and the access itself wrote nothing (a
 * load is stored only after it succeeded; a store that faults writes nothing). The handler reports both
 * k and a (a = k - SC_WORD_DIST): redoing just [a, k) either succeeds, and the answer is exactly k, or
 * faults earlier (memory changed, or the other side of a copy) and, by the same reasoning one level
 * down, gives the answer itself. Each level works on a strictly shorter range, so this ends, and the
 * final count is never below a: fewer than SC_COPY_SPAN bytes after it can hold data copied before a
 * page went away. A fault without an address (#GP from a non-canonical address, #AC) is walked byte by
 * byte from a.
 */
#include "arch/x86_64.h"
#include "safecopy.h"
#include "safecopy/blocked.h"
#include "safecopy/fault_record.h"

/* One memcpy or memset, addressed by integers: NULL and wild pointers are valid inputs here. */
struct span_op {
	uintptr_t dst;
	uintptr_t src;
	bool is_copy;
	int c;
};

/* The operation on [from, from+len) of op, exact, with its own fault record. */
static size_t redo(const struct span_op *op, size_t from, size_t len, struct safecopy_fault *fault)
{
	if (op->is_copy)
		return sc_copy((void *)(op->dst + from), (const void *)(op->src + from), len, fault);
	return sc_memset((void *)(op->dst + from), op->c, len, fault);
}

/* The side of the operation the faulting access was on: the source for a copy's reads. */
static uintptr_t side_base(const struct span_op *op, uint64_t word)
{
	return (op->is_copy && !(word & SC_WORD_WRITE)) ? op->src : op->dst;
}

static void copy_record(struct safecopy_fault *fault, const struct safecopy_fault *from)
{
	if (fault)
		*fault = *from;
}

/* A byte of op at offset i that is non-canonical (#GP), the source's first; 0 if none. */
static uintptr_t non_canonical_byte(const struct span_op *op, size_t i)
{
	if (op->is_copy && !arch_is_canonical(op->src + i))
		return op->src + i;
	return arch_is_canonical(op->dst + i) ? 0 : op->dst + i;
}

/*
 * A fault that does not say where (#GP, #AC): [0, from) is done; byte by byte from there, the first
 * byte that is non-canonical or fails ends it.
 */
static size_t bytewise(const struct span_op *op, size_t n, size_t from, uint64_t word,
                       struct safecopy_fault *fault)
{
	struct safecopy_fault sub;
	for (size_t i = from; i < n; i++) {
		uintptr_t bad = non_canonical_byte(op, i);
		if (bad) {
			sc_record_word(fault, word, bad);
			return i;
		}
		if (redo(op, i, 1, &sub) == 0) {
			copy_record(fault, &sub);
			return i;
		}
	}
	sc_record_ok(fault); /* memory changed underneath: everything worked this time */
	return n;
}

static size_t after_fault(const struct span_op *op, size_t n, uint64_t addr, uint64_t word,
                          struct safecopy_fault *fault)
{
	size_t k = addr - side_base(op, word);
	if (word & SC_WORD_ACCESS_START)
		return bytewise(op, n, k < n ? k : 0, word, fault);
	if (!(word & SC_WORD_ADDR_KNOWN) || k >= n)
		return bytewise(op, n, 0, word,
		                fault); /* cannot happen: every routine fault names its access */
	size_t dist = SC_WORD_DIST(word);
	size_t lo = dist <= k ? k - dist : 0;
	struct safecopy_fault sub;
	size_t done = redo(op, lo, k - lo, &sub);
	if (done == k - lo) {
		sc_record_word(fault, word, addr);
		return k;
	}
	copy_record(fault, &sub);
	return lo + done;
}

/* Entered from a routine's landing (see asm/copy.asm), never on the fast path. */
size_t sc_copy_after_fault(void *dst, const void *src, size_t n, struct safecopy_fault *fault, uint64_t addr,
                           uint64_t word)
{
	struct span_op op = {.dst = (uintptr_t)dst, .src = (uintptr_t)src, .is_copy = true};
	return after_fault(&op, n, addr, word, fault);
}

size_t sc_memset_after_fault(void *dst, int c, size_t n, struct safecopy_fault *fault, uint64_t addr,
                             uint64_t word)
{
	struct span_op op = {.dst = (uintptr_t)dst, .c = c};
	return after_fault(&op, n, addr, word, fault);
}

static inline bool wraps(uintptr_t p, size_t n)
{
	return n - 1 > UINTPTR_MAX - p;
}

/* The checks before any access. True if the call is already answered (n == 0, or a wrapping range). */
static bool answered_without_access(uintptr_t dst, uintptr_t src, bool is_copy, size_t n,
                                    struct safecopy_fault *fault)
{
	if (n == 0) {
		sc_record_ok(fault);
		return true;
	}
	if (wraps(dst, n) || (is_copy && wraps(src, n))) {
		sc_record(fault, SAFECOPY_RANGE, wraps(dst, n) ? dst : src, 0, 0);
		return true;
	}
	return false;
}

/*
 * The cold paths of safecopy_memcpy and safecopy_memset, whose exported entries are in asm (asm/entry.inc:
 * the argument checks fall through into the routine): a pointer or n from 2^63 on (every wrapping range
 * among them), and calls while the gate is closed (first use, calls from inside a previous handler: see
 * sc_fast_path()). The entry tail-jumps here with the caller's arguments.
 */
__attribute__((cold)) size_t sc_memcpy_cold(void *dst, const void *src, size_t n,
                                            struct safecopy_fault *fault)
{
	if (answered_without_access((uintptr_t)dst, (uintptr_t)src, true, n, fault))
		return 0;
	struct sc_window w;
	sc_window_enter(&w);
	size_t done = sc_copy(dst, src, n, fault);
	sc_window_leave(&w);
	return done;
}

__attribute__((cold)) size_t sc_memset_cold(void *dst, int c, size_t n, struct safecopy_fault *fault)
{
	if (answered_without_access((uintptr_t)dst, 0, false, n, fault))
		return 0;
	struct sc_window w;
	sc_window_enter(&w);
	size_t done = sc_memset(dst, c, n, fault);
	sc_window_leave(&w);
	return done;
}
