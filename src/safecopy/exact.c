/*
 * safecopy_memcpy and safecopy_memset: the fast path is one routine call; after a fault, the exact
 * count is found with (usually) no second signal.
 *
 * The routines access memory in ascending order, at most SC_COPY_SPAN bytes at a time, so a fault that
 * locates the first bad byte at offset k proves that everything before k - SC_COPY_SPAN is done and
 * that no byte at or after the faulting access was written. Redoing just [k - SPAN, k) then either
 * succeeds, and the answer is exactly k, or faults earlier (on the other side of a copy), which
 * lowers the bound; the bound only ever decreases, so this ends. Only a fault without an address
 * (#GP from a non-canonical address) needs the byte-by-byte walk.
 */
#include "arch/x86_64.h"
#include "safecopy.h"
#include "safecopy/fault_record.h"

/* One memcpy or memset, addressed by integers: NULL and wild pointers are valid inputs here. */
struct span_op {
	uintptr_t dst;
	uintptr_t src;
	bool is_copy;
	int c;
};

static struct sc_ret attempt(const struct span_op *op, size_t from, size_t len)
{
	if (op->is_copy)
		return sc_copy((void *)(op->dst + from), (const void *)(op->src + from), len);
	return sc_memset((void *)(op->dst + from), op->c, len);
}

/* Offset of the first inaccessible byte a fault proves, if it lies in [from, limit) of its side. */
static bool fault_offset(const struct span_op *op, size_t from, size_t limit, struct sc_ret r, size_t *k)
{
	if (!(r.word & SC_WORD_ADDR_KNOWN))
		return false;
	uintptr_t base = (op->is_copy && !(r.word & SC_WORD_WRITE)) ? op->src : op->dst;
	if (r.value < base + from || r.value >= base + limit)
		return false;
	*k = r.value - base;
	return true;
}

/* The first byte not done at offset i, for a fault without an address: the non-canonical side. */
static uintptr_t unlocated_addr(const struct span_op *op, size_t i)
{
	if (op->is_copy && !arch_is_canonical(op->src + i))
		return op->src + i;
	return op->dst + i;
}

/*
 * Byte by byte over [from, limit): the first byte that faults ends it. `bound` is the fault already
 * known to stop the operation at limit, if any.
 */
static size_t bytewise(const struct span_op *op, size_t from, size_t limit, const struct sc_ret *bound,
                       struct safecopy_fault *fault)
{
	for (size_t i = from; i < limit; i++) {
		struct sc_ret r = attempt(op, i, 1);
		if (r.word) {
			uintptr_t addr = (r.word & SC_WORD_ADDR_KNOWN) ? r.value : unlocated_addr(op, i);
			sc_record_word(fault, r.word, addr);
			return i;
		}
	}
	if (bound)
		sc_record_word(fault, bound->word, bound->value);
	else
		sc_record_ok(fault);
	return limit;
}

/* After the first attempt over [0, n) faulted with r. */
static size_t finish_after_fault(const struct span_op *op, size_t n, struct sc_ret r,
                                 struct safecopy_fault *fault)
{
	size_t from = 0, limit = n;
	struct sc_ret bound = {0, 0};
	for (;;) {
		size_t k;
		if (!fault_offset(op, from, limit, r, &k))
			return bytewise(op, from, limit, bound.word ? &bound : NULL, fault);
		bound = r;
		limit = k;
		size_t lo = k - from > SC_COPY_SPAN ? k - SC_COPY_SPAN : from;
		r = attempt(op, lo, k - lo);
		if (!r.word) {
			sc_record_word(fault, bound.word, bound.value);
			return k;
		}
		from = lo;
	}
}

static bool wraps(uintptr_t p, size_t n)
{
	return n - 1 > UINTPTR_MAX - p;
}

static size_t run(const struct span_op *op, size_t n, struct safecopy_fault *fault)
{
	if (n == 0) {
		sc_record_ok(fault);
		return 0;
	}
	if (wraps(op->dst, n) || (op->is_copy && wraps(op->src, n))) {
		sc_record(fault, SAFECOPY_RANGE, wraps(op->dst, n) ? op->dst : op->src, 0, 0);
		return 0;
	}
	sc_ensure_init();
	struct sc_ret r = attempt(op, 0, n);
	if (__builtin_expect(r.word == 0, 1)) {
		sc_record_ok(fault);
		return n;
	}
	return finish_after_fault(op, n, r, fault);
}

size_t safecopy_memcpy(void *dst, const void *src, size_t n, struct safecopy_fault *fault)
{
	struct span_op op = {.dst = (uintptr_t)dst, .src = (uintptr_t)src, .is_copy = true};
	return run(&op, n, fault);
}

size_t safecopy_memset(void *dst, int c, size_t n, struct safecopy_fault *fault)
{
	struct span_op op = {.dst = (uintptr_t)dst, .c = c};
	return run(&op, n, fault);
}
