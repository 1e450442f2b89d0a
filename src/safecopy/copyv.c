/*
 * safecopy_copyv: the iovec arrays walked in step, each piece (the overlap of the current dst and src
 * elements) copied by the copy routine itself, whose count is exact; the first short piece ends the
 * call with the routine's own fault record. No wrapper checks per piece: the elements were checked
 * for wrapping once, before any access.
 */
#include <sys/uio.h>

#include "safecopy.h"
#include "safecopy/fault_record.h"

/* A cursor over one iovec array: element index and offset in it, on a byte that exists, or at the end. */
struct cursor {
	const struct iovec *iov;
	size_t count;
	size_t index;
	size_t offset;
};

/* Moves past used-up and empty elements, so that the cursor sits on a byte or at the end. */
static void settle(struct cursor *c)
{
	while (c->index < c->count && c->offset == c->iov[c->index].iov_len) {
		c->index++;
		c->offset = 0;
	}
}

static bool at_end(const struct cursor *c)
{
	return c->index == c->count;
}

static uintptr_t cursor_addr(const struct cursor *c)
{
	return (uintptr_t)c->iov[c->index].iov_base + c->offset;
}

static size_t cursor_left(const struct cursor *c)
{
	return c->iov[c->index].iov_len - c->offset;
}

/* The first element whose range wraps around the address space, or NULL. */
static const struct iovec *wrapping_element(const struct iovec *iov, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (iov[i].iov_len != 0 && iov[i].iov_len - 1 > UINTPTR_MAX - (uintptr_t)iov[i].iov_base)
			return &iov[i];
	return NULL;
}

static void report_position(struct safecopy_iov_pos *where, const struct cursor *d, const struct cursor *s)
{
	if (where)
		*where = (struct safecopy_iov_pos){d->index, d->offset, s->index, s->offset};
}

/* Copies piece after piece until one side is used up or a piece comes up short. */
static size_t copy_pieces(struct cursor *d, struct cursor *s, struct safecopy_fault *fault)
{
	size_t total = 0;
	sc_record_ok(fault);
	for (settle(d), settle(s); !at_end(d) && !at_end(s); settle(d), settle(s)) {
		size_t want = cursor_left(d) < cursor_left(s) ? cursor_left(d) : cursor_left(s);
		size_t got = sc_copy((void *)cursor_addr(d), (const void *)cursor_addr(s), want, fault);
		total += got;
		d->offset += got;
		s->offset += got;
		if (got < want)
			break;
	}
	return total;
}

__attribute__((noinline, cold)) static void copyv_first_use(void)
{
	sc_init_slow();
}

size_t safecopy_copyv(const struct iovec *dst, size_t dst_count, const struct iovec *src, size_t src_count,
                      struct safecopy_fault *fault, struct safecopy_iov_pos *where)
{
	struct cursor d = {dst, dst_count, 0, 0}, s = {src, src_count, 0, 0};
	const struct iovec *bad = wrapping_element(dst, dst_count);
	if (!bad)
		bad = wrapping_element(src, src_count);
	if (bad) {
		sc_record(fault, SAFECOPY_RANGE, (uintptr_t)bad->iov_base, 0, 0);
		settle(&d);
		settle(&s);
		report_position(where, &d, &s);
		return 0;
	}
	if (__builtin_expect(!sc_is_ready(), 0))
		copyv_first_use();
	size_t total = copy_pieces(&d, &s, fault);
	report_position(where, &d, &s);
	return total;
}
