/*
 * safecopy_strncpy and safecopy_strnlen. The fast path is a tail call into the asm routine; only a
 * fault comes back here, through the routine's landing, to find the exact length.
 *
 * The routines keep one invariant (asm/string.asm): when an access that starts at offset a is made,
 * every byte before a - SC_STR_SPAN has been found non-NUL and copied. A fault at byte k (on the side
 * the access was on) therefore leaves only [a - SC_STR_SPAN, k) open: redoing the operation there with
 * the limit k finds a NUL (the answer, and not a fault: the string ended before it), or runs into the
 * limit (the answer is k, with the original fault), or faults earlier itself (memory changed, or the
 * other side of a copy), which answers by the same reasoning one level down. Each level works on a
 * shorter range, so this ends. The redone bytes were all read by the call, so the redo does not fault
 * again unless the mappings change: one signal per faulting call. A fault without an address (#GP
 * from a non-canonical address, #AC) is walked byte by byte from a - SC_STR_SPAN.
 */
#include "arch/x86_64.h"
#include "safecopy.h"
#include "safecopy/fault_record.h"
#include "safecopy/tool_routines.h"

/* One strncpy (is_copy) or strnlen, addressed by integers: NULL and wild pointers are valid inputs. */
struct str_op {
	uintptr_t dst;
	uintptr_t src;
	bool is_copy;
};

/* The operation on [from, from + len) (len > 0), exact, with its own record. */
static size_t redo(const struct str_op *op, size_t from, size_t len, struct safecopy_fault *fault)
{
	if (op->is_copy)
		return sc_strncpy((char *)(op->dst + from), (const char *)(op->src + from), len, fault);
	return sc_strnlen((const char *)(op->src + from), len, fault);
}

/*
 * The answer r with its record rec, given to the caller. A copy that stopped at a source fault still
 * terminates dst (the header promises dst[r] = '\0' whenever r < size): one more guarded byte, which
 * stays unwritten if dst[r] is bad too (the record keeps the source's fault, as for a tie).
 */
static size_t answer(const struct str_op *op, size_t size, size_t r, const struct safecopy_fault *rec,
                     struct safecopy_fault *fault)
{
	if (op->is_copy && rec->status != SAFECOPY_OK && (uintptr_t)rec->addr == op->src + r && r < size) {
		static const char nul;
		struct safecopy_fault ignored;
		sc_copy((void *)(op->dst + r), &nul, 1, &ignored);
	}
	if (fault)
		*fault = *rec;
	return r;
}

/* The first non-canonical byte at offset i (the source's first), or 0. */
static uintptr_t non_canonical_byte(const struct str_op *op, size_t i)
{
	if (!arch_is_canonical(op->src + i))
		return op->src + i;
	if (op->is_copy && !arch_is_canonical(op->dst + i))
		return op->dst + i;
	return 0;
}

/* A fault that does not say where: [0, from) is done; byte by byte from there. */
static size_t bytewise(const struct str_op *op, size_t size, size_t from, uint64_t word,
                       struct safecopy_fault *fault)
{
	struct safecopy_fault rec;
	for (size_t i = from; i < size; i++) {
		uintptr_t bad = non_canonical_byte(op, i);
		if (bad) {
			sc_record_word(&rec, word, bad);
			return answer(op, size, i, &rec, fault);
		}
		size_t r = redo(op, i, 1, &rec);
		if (rec.status != SAFECOPY_OK || r == 0)
			return answer(op, size, i, &rec, fault); /* a fault, or the NUL at i */
	}
	sc_record_ok(&rec); /* memory changed underneath: no fault this time */
	return answer(op, size, size, &rec, fault);
}

/* Offset of addr on a side starting at base; 0 for an aligned load that began before src. */
static size_t offset_on_side(uintptr_t base, uint64_t addr)
{
	return addr > base ? addr - base : 0;
}

static size_t span_start(size_t a)
{
	return a > SC_STR_SPAN ? a - SC_STR_SPAN : 0;
}

static size_t after_fault(const struct str_op *op, size_t size, uint64_t addr, uint64_t word,
                          struct safecopy_fault *fault)
{
	uintptr_t base = (word & SC_WORD_WRITE) ? op->dst : op->src;
	size_t k = offset_on_side(base, addr);
	if (word & SC_WORD_ACCESS_START)
		return bytewise(op, size, span_start(k), word, fault);
	if (!(word & SC_WORD_ADDR_KNOWN))
		return bytewise(op, size, 0, word,
		                fault); /* cannot happen: every routine fault names its access */
	size_t dist = SC_WORD_DIST(word);
	size_t limit = k < size ? k : size;
	size_t lo = span_start(dist <= k ? k - dist : 0);
	if (lo > limit)
		lo = limit;
	struct safecopy_fault rec;
	size_t r = 0;
	if (lo < limit)
		r = redo(op, lo, limit - lo, &rec);
	else
		sc_record_ok(&rec);
	/* A NUL before the fault, an earlier fault, or no NUL up to a limit that came before the fault. */
	if (rec.status != SAFECOPY_OK || r < limit - lo || limit == size)
		return answer(op, size, lo + r, &rec, fault);
	sc_record_word(&rec, word, base + k);
	return answer(op, size, k, &rec, fault);
}

/* Entered from the routines' landings (asm/string.asm), never on the fast path. */
size_t sc_strncpy_after_fault(char *dst, const char *src, size_t size, struct safecopy_fault *fault,
                              uint64_t addr, uint64_t word)
{
	struct str_op op = {.dst = (uintptr_t)dst, .src = (uintptr_t)src, .is_copy = true};
	return after_fault(&op, size, addr, word, fault);
}

size_t sc_strnlen_after_fault(const char *src, size_t size, struct safecopy_fault *fault, uint64_t addr,
                              uint64_t word)
{
	struct str_op op = {.src = (uintptr_t)src};
	return after_fault(&op, size, addr, word, fault);
}

/*
 * The cold paths: size == 0, which is answered here (the routines read at least one vector), the first
 * use and calls from inside a previous handler (see sc_fast_path()). One test of both keeps the fast
 * path a straight line into the routine.
 */
__attribute__((noinline, cold)) static size_t strncpy_slow(char *dst, const char *src, size_t size,
                                                           struct safecopy_fault *fault)
{
	if (size == 0) {
		sc_record_ok(fault);
		return 0;
	}
	return SC_SLOW(size_t, sc_strncpy(dst, src, size, fault));
}

__attribute__((noinline, cold)) static size_t strnlen_slow(const char *src, size_t size,
                                                           struct safecopy_fault *fault)
{
	if (size == 0) {
		sc_record_ok(fault);
		return 0;
	}
	return SC_SLOW(size_t, sc_strnlen(src, size, fault));
}

size_t safecopy_strncpy(char *dst, const char *src, size_t size, struct safecopy_fault *fault)
{
	if (__builtin_expect(size == 0 || !sc_fast_path(), 0))
		return strncpy_slow(dst, src, size, fault);
	return sc_strncpy(dst, src, size, fault);
}

size_t safecopy_strnlen(const char *src, size_t size, struct safecopy_fault *fault)
{
	if (__builtin_expect(size == 0 || !sc_fast_path(), 0))
		return strnlen_slow(src, size, fault);
	return sc_strnlen(src, size, fault);
}
