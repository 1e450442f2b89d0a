/*
 * safecopy_copyv: the iovec arrays walked in step, each piece (the overlap of the current dst and src
 * elements) copied by the copy routine itself, whose count is exact; the first short piece ends the
 * call with the routine's own fault record. Bad input changes nothing: every element of both arrays
 * is checked for wrapping before the first byte is copied (one pass over the arrays, the price of
 * that rule).
 */
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

/*
 * Rejects the call if an element of either array wraps (the destination's first, as safecopy_memcpy
 * reports): the record names its base, *w its position. True if rejected.
 */
static bool rejected(const struct iovec *dst, size_t dn, const struct iovec *src, size_t sn,
                     struct safecopy_fault *fault, struct walk *w)
{
	size_t di = first_wrapping(dst, dn), si = di < dn ? 0 : first_wrapping(src, sn);
	if (__builtin_expect(di == dn && si == sn, 1))
		return false;
	const struct iovec *bad = di < dn ? &dst[di] : &src[si];
	sc_record(fault, SAFECOPY_RANGE, (uintptr_t)bad->iov_base, 0, 0);
	*w = (struct walk){di < dn ? di : 0, 0, si, 0};
	return true;
}

/*
 * Copies piece after piece until one side is used up or a piece comes up short; leaves the position
 * in *w. (The walk is kept in locals: through w, every field would go to memory
 * around each call of the routine.)
 */
static size_t copy_pieces(const struct iovec *dst, size_t dn, const struct iovec *src, size_t sn,
                          struct safecopy_fault *fault, struct walk *w)
{
	size_t di = 0, doff = 0, si = 0, soff = 0, total = 0;
	sc_record_ok(fault);
	while (di < dn && si < sn) {
		const struct iovec *d = &dst[di], *s = &src[si];
		size_t dleft = d->iov_len - doff, sleft = s->iov_len - soff;
		size_t want = dleft < sleft ? dleft : sleft;
		size_t got =
		    sc_copy((char *)d->iov_base + doff, (const char *)s->iov_base + soff, want, fault);
		total += got;
		doff += got;
		soff += got;
		if (got < want)
			break;
		if (doff == d->iov_len)
			di++, doff = 0;
		if (soff == s->iov_len)
			si++, soff = 0;
	}
	*w = (struct walk){di, doff, si, soff};
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
