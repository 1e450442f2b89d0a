/*
 * safecopy_copyv: the iovec arrays walked in step, each piece (the overlap of the current dst and src
 * elements) copied by the copy routine itself, whose count is exact; the first short piece ends the
 * call with the routine's own fault record. Bad input changes nothing: every element of both arrays
 * is checked for wrapping before the first byte is copied. That pass is the price of the rule; it is
 * kept to one vector OR per element (see no_element_can_wrap()).
 */
#include <string.h>
#include <sys/uio.h>

#include "safecopy.h"
#include "safecopy/fault_record.h"
#include "safecopy/tool_routines.h"

/* True if the element's bytes wrap around the address space (an empty element never does). */
static inline bool wraps(const struct iovec *v)
{
	uintptr_t last;
	return __builtin_add_overflow((uintptr_t)v->iov_base, v->iov_len - (v->iov_len != 0), &last);
}

/* The first element at or after i with a byte in it, or count. */
static inline size_t skip_empty(const struct iovec *iov, size_t count, size_t i)
{
	while (i < count && iov[i].iov_len == 0)
		i++;
	return i;
}

/* A walk over both arrays: the element and offset of the next byte on each side. */
struct walk {
	size_t di, doff, si, soff;
};

/* The first element of iov that wraps, or count. */
static inline size_t first_wrapping(const struct iovec *iov, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (__builtin_expect(wraps(&iov[i]), 0))
			return i;
	return count;
}

/* Both words of an iovec (base, length), as one SSE2 register. */
typedef uint64_t iov_words __attribute__((vector_size(16)));

static inline iov_words load_words(const struct iovec *v)
{
	iov_words w;
	memcpy(&w, v, sizeof w);
	return w;
}

/*
 * The OR of every base and length of iov. Two accumulators: each OR waits for the one before it in
 * its chain, so one chain would take a cycle per element.
 */
static inline uint64_t or_of_words(const struct iovec *iov, size_t count)
{
	iov_words a = {0, 0}, b = {0, 0};
	size_t i = 0;
	for (; i + 2 <= count; i += 2) {
		a |= load_words(&iov[i]);
		b |= load_words(&iov[i + 1]);
	}
	if (i < count)
		a |= load_words(&iov[i]);
	a |= b;
	return a[0] | a[1];
}

/*
 * True when no element of either array can wrap: an element whose base and length are both below 2^63
 * ends below 2^64. Every user-space address and every length that fits in memory is, so the exact
 * per-element test (first_wrapping()) runs only when this says no.
 */
static inline bool no_element_can_wrap(const struct iovec *dst, size_t dn, const struct iovec *src, size_t sn)
{
	return ((or_of_words(dst, dn) | or_of_words(src, sn)) >> 63) == 0;
}

/*
 * Rejects the call if an element of either array wraps (the destination's first, as safecopy_memcpy
 * reports): the record names its base, *w its position. True if rejected.
 */
static bool rejected(const struct iovec *dst, size_t dn, const struct iovec *src, size_t sn,
                     struct safecopy_fault *fault, struct walk *w)
{
	if (__builtin_expect(no_element_can_wrap(dst, dn, src, sn), 1))
		return false;
	size_t di = first_wrapping(dst, dn), si = di < dn ? 0 : first_wrapping(src, sn);
	if (di == dn && si == sn)
		return false;
	const struct iovec *bad = di < dn ? &dst[di] : &src[si];
	sc_record(fault, SAFECOPY_RANGE, (uintptr_t)bad->iov_base, 0, 0);
	*w = (struct walk){di < dn ? di : 0, 0, si, 0};
	return true;
}

/*
 * Copies piece after piece until one side is used up or a piece comes up short; leaves the position
 * in *w. The walk is kept in pointers and offsets, in locals: with indexes, or through w, the loop
 * holds more values than there are callee-saved registers and reloads them around every call of
 * the routine.
 */
static size_t copy_pieces(const struct iovec *dst, size_t dn, const struct iovec *src, size_t sn,
                          struct safecopy_fault *fault, struct walk *w)
{
	const struct iovec *d = dst, *s = src, *dend = dst + dn, *send = src + sn;
	size_t doff = 0, soff = 0, total = 0;
	sc_record_ok(fault);
	while (d < dend && s < send) {
		size_t dleft = d->iov_len - doff, sleft = s->iov_len - soff;
		size_t want = dleft < sleft ? dleft : sleft;
		size_t got =
		    sc_copy((char *)d->iov_base + doff, (const char *)s->iov_base + soff, want, fault);
		total += got;
		if (__builtin_expect(got < want, 0)) {
			doff += got;
			soff += got;
			break;
		}
		doff = want == dleft ? 0 : doff + want;
		soff = want == sleft ? 0 : soff + want;
		d += want == dleft;
		s += want == sleft;
	}
	*w = (struct walk){(size_t)(d - dst), doff, (size_t)(s - src), soff};
	return total;
}

/* The cold path (first use, calls from inside a previous handler): see sc_fast_path(). */
__attribute__((noinline, cold)) static size_t copy_pieces_slow(const struct iovec *dst, size_t dn,
                                                               const struct iovec *src, size_t sn,
                                                               struct safecopy_fault *fault, struct walk *w)
{
	return SC_SLOW(size_t, copy_pieces(dst, dn, src, sn, fault, w));
}

size_t safecopy_copyv(const struct iovec *dst, size_t dst_count, const struct iovec *src, size_t src_count,
                      struct safecopy_fault *fault, struct safecopy_iov_pos *where)
{
	struct walk w;
	size_t total = rejected(dst, dst_count, src, src_count, fault, &w) ? 0
	               : __builtin_expect(!sc_fast_path(), 0)
	                   ? copy_pieces_slow(dst, dst_count, src, src_count, fault, &w)
	                   : copy_pieces(dst, dst_count, src, src_count, fault, &w);
	/* Empty elements (copied as zero-byte pieces above) are not where anything stopped. */
	if (where) {
		if (w.doff == 0)
			w.di = skip_empty(dst, dst_count, w.di);
		if (w.soff == 0)
			w.si = skip_empty(src, src_count, w.si);
		*where = (struct safecopy_iov_pos){w.di, w.doff, w.si, w.soff};
	}
	return total;
}
