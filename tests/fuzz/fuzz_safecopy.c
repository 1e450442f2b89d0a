/*
 * libFuzzer target: libsafecopy's operations over random page layouts, against a reference model.
 *
 * Each input chooses an operation (memcpy, memset, an atomic of either width, strnlen, strncpy, a
 * peek, copyv) and whether the copy and string routines take their AVX2 or SSE2 loops, the kinds of the pages
 * of a small region (layout.h), the bytes in them, and the operation's pointers, lengths and values; pointers
 * may also be non-canonical, or wrap around the address space. The model walks the operation byte by byte
 * over per-page permissions and computes the exact result: the count or value, the fault record (status,
 * address, signal, si_code), output parameters, and every byte of readable memory afterwards. Any difference
 * aborts with a description, and libFuzzer keeps the input.
 *
 * Run with -handle_segv=0 -handle_bus=0: libFuzzer's own SIGBUS handler would take safecopy's faults
 * (`scons fuzz` does this).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "input.h"
#include "layout.h"
#include "safecopy.h"
#include "safecopy/cpu.h"

#define MAX_LEN      (8 * PAGE) /* longest copy: the rep movsb path starts at 16 KiB */
#define NONCANONICAL ((uintptr_t)0xdead000000000000)
#define SENTINEL     ((uint64_t)0xa5a5a5a5a5a5a5a5)
#define MAX_IOV      4

static struct layout L;

/*
 * The library's vector level (hidden; reachable because the target links the archive): SSE2 for inputs
 * that ask for the SSE2 loops, which this machine would otherwise never run. Set as the library sets it
 * (the flags and the size thresholds of asm/copy.asm and asm/memset.asm together).
 */
static enum sc_cpu_level cpu_level;

static const struct safecopy_fault ok_record = {SAFECOPY_OK, NULL, 0, 0};

static struct safecopy_fault record(enum safecopy_status status, uintptr_t addr)
{
	return (struct safecopy_fault){status, (void *)addr, 0, 0};
}

static void check_record(const char *op, const struct safecopy_fault *got, const struct safecopy_fault *want)
{
	if (got->status != want->status || got->addr != want->addr || got->signo != want->signo ||
	    got->code != want->code)
		fuzz_fail(
		    &L, "%s: record {status %d, addr %p, signo %d, code %d}, the model says {%d, %p, %d, %d}",
		    op, got->status, got->addr, got->signo, got->code, want->status, want->addr, want->signo,
		    want->code);
}

static void check_count(const char *op, size_t got, size_t want)
{
	if (got != want)
		fuzz_fail(&L, "%s: returned %zu, the model says %zu", op, got, want);
}

/* A pointer into half 0 (sources) or 1 (destinations); with wild, sometimes a non-canonical one. */
static uintptr_t pick_ptr(struct input *in, unsigned half, bool wild)
{
	uint16_t off = take16(in);
	uint8_t mode = take8(in);
	if (wild && mode == 0xff)
		return NONCANONICAL + off;
	return (uintptr_t)L.base + half * HALF + off % HALF;
}

/* Mostly short lengths (the register paths), sometimes up to MAX_LEN (loops, rep). */
static size_t pick_len(struct input *in)
{
	uint16_t v = take16(in);
	return v & 0x8000 ? v & 0x7f : v % (MAX_LEN + 1);
}

static bool wraps(uintptr_t p, size_t n)
{
	uintptr_t last;
	return n != 0 && __builtin_add_overflow(p, n - 1, &last);
}

static bool in_region(uintptr_t p)
{
	return p - (uintptr_t)L.base < REGION_PAGES * PAGE;
}

/* Input byte 0xfe / 0xfd: replace src / dst by a pointer whose range wraps around the address space. */
static void maybe_wrap(struct input *in, uintptr_t *src, uintptr_t *dst, size_t *n)
{
	uint8_t w = take8(in);
	if (w != 0xfe && w != 0xfd)
		return;
	size_t below_top = take8(in) % 64;
	*n = below_top + 2 + *n % 64;
	*(w == 0xfe && src ? src : dst) = UINTPTR_MAX - below_top;
}

/* The model of memcpy and memset (src 0: memset with c): count, record, and the shadow written. */
static size_t model_span(uintptr_t dst, uintptr_t src, int c, size_t n, struct safecopy_fault *want)
{
	*want = ok_record;
	if (wraps(dst, n) || (src && wraps(src, n))) {
		*want = record(SAFECOPY_RANGE, wraps(dst, n) ? dst : src);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (src && !model_readable(&L, src + i)) {
			*want = model_fault(&L, src + i, false);
			return i;
		}
		if (!model_writable(&L, dst + i)) {
			*want = model_fault(&L, dst + i, true);
			return i;
		}
		*model_byte(&L, dst + i) = src ? *model_byte(&L, src + i) : (uint8_t)c;
	}
	return n;
}

static void op_memcpy(struct input *in)
{
	uintptr_t src = pick_ptr(in, 0, true), dst = pick_ptr(in, 1, true);
	size_t n = pick_len(in);
	if (in_region(src) && in_region(dst) && src + n > dst)
		n = dst - src; /* no overlap: its bytes are unspecified */
	maybe_wrap(in, &src, &dst, &n);
	struct safecopy_fault want, got;
	size_t want_n = model_span(dst, src, 0, n, &want);
	size_t got_n = safecopy_memcpy((void *)dst, (const void *)src, n, &got);
	char what[96];
	snprintf(what, sizeof what, "memcpy(%#lx, %#lx, %zu)", (unsigned long)dst, (unsigned long)src, n);
	check_count(what, got_n, want_n);
	check_record(what, &got, &want);
	layout_check_memory(&L, what);
}

static void op_memset(struct input *in)
{
	uintptr_t dst = pick_ptr(in, take8(in) & 1, true);
	int c = (int)take(in, 4); /* only the low byte counts */
	size_t n = pick_len(in);
	maybe_wrap(in, NULL, &dst, &n);
	struct safecopy_fault want, got;
	size_t want_n = model_span(dst, 0, c, n, &want);
	size_t got_n = safecopy_memset((void *)dst, c, n, &got);
	char what[96];
	snprintf(what, sizeof what, "memset(%#lx, %#x, %zu)", (unsigned long)dst, (unsigned)c, n);
	check_count(what, got_n, want_n);
	check_record(what, &got, &want);
	layout_check_memory(&L, what);
}

enum atomic_op { A_LOAD, A_STORE, A_SWAP, A_CAS, A_ADD, A_AND, A_OR, A_XOR, A_OPS };

static uint64_t model_load(uintptr_t p, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)*model_byte(&L, p + i) << (8 * i);
	return v;
}

static void model_store(uintptr_t p, unsigned bytes, uint64_t v)
{
	for (unsigned i = 0; i < bytes; i++)
		*model_byte(&L, p + i) = (uint8_t)(v >> (8 * i));
}

static uint64_t apply(enum atomic_op op, uint64_t old, uint64_t v, uint64_t expected)
{
	switch (op) {
	case A_STORE:
	case A_SWAP:
		return v;
	case A_CAS:
		return old == expected ? v : old;
	case A_ADD:
		return old + v;
	case A_AND:
		return old & v;
	case A_OR:
		return old | v;
	case A_XOR:
		return old ^ v;
	default:
		return old;
	}
}

#define CALL_ATOMIC(W, op, p, v, e, out, f)                                                          \
	(op == A_LOAD    ? safecopy_load##W((const uint##W##_t *)p, out, f)                          \
	 : op == A_STORE ? safecopy_store##W((uint##W##_t *)p, (uint##W##_t)v, f)                    \
	 : op == A_SWAP  ? safecopy_swap##W((uint##W##_t *)p, (uint##W##_t)v, out, f)                \
	 : op == A_CAS   ? safecopy_cas##W((uint##W##_t *)p, (uint##W##_t)e, (uint##W##_t)v, out, f) \
	 : op == A_ADD   ? safecopy_fetch_add##W((uint##W##_t *)p, (uint##W##_t)v, out, f)           \
	 : op == A_AND   ? safecopy_fetch_and##W((uint##W##_t *)p, (uint##W##_t)v, out, f)           \
	 : op == A_OR    ? safecopy_fetch_or##W((uint##W##_t *)p, (uint##W##_t)v, out, f)            \
	                 : safecopy_fetch_xor##W((uint##W##_t *)p, (uint##W##_t)v, out, f))

/* Calls the atomic; *out gets the output parameter as the function left it (the sentinel if untouched). */
static enum safecopy_status call_atomic(enum atomic_op op, unsigned bytes, uintptr_t p, uint64_t v,
                                        uint64_t e, uint64_t *out, struct safecopy_fault *f)
{
	enum safecopy_status st;
	if (bytes == 4) {
		uint32_t o = (uint32_t)SENTINEL;
		st = CALL_ATOMIC(32, op, p, v, e, &o, f);
		*out = o;
	} else {
		uint64_t o = SENTINEL;
		st = CALL_ATOMIC(64, op, p, v, e, &o, f);
		*out = o;
	}
	return st;
}

static void op_atomic(struct input *in)
{
	uint8_t sel = take8(in);
	unsigned bytes = sel & 1 ? 8 : 4;
	enum atomic_op op = (enum atomic_op)((sel >> 1) % A_OPS);
	uintptr_t p = pick_ptr(in, take8(in) & 1, true);
	if (take8(in) != 0xff)
		p &= ~(uintptr_t)(bytes - 1); /* mostly aligned */
	uint64_t mask = bytes == 8 ? UINT64_MAX : UINT32_MAX;
	uint64_t v = take64(in) & mask, e = take64(in) & mask;
	bool writes = op != A_LOAD;
	bool can = true;
	for (unsigned i = 0; i < bytes; i++)
		can = can && (writes ? model_writable(&L, p + i) : model_readable(&L, p + i));
	bool readable = model_readable(&L, p) && model_readable(&L, p + bytes - 1);
	if (op == A_CAS && (sel & 0x80) && readable)
		e = model_load(p, bytes); /* half the compare-and-swaps succeed */

	struct safecopy_fault want = ok_record, got;
	uint64_t untouched = SENTINEL & mask, want_out = untouched;
	if (p % bytes != 0) {
		want = record(SAFECOPY_ALIGN, p);
	} else if (!can) {
		want = model_fault(&L, p, writes);
	} else {
		uint64_t old = model_load(p, bytes);
		if (op != A_STORE)
			want_out = old;
		if (writes)
			model_store(p, bytes, apply(op, old, v, e));
	}
	if (want_out == untouched && op != A_STORE && want.status == SAFECOPY_OK)
		return; /* the memory held the sentinel: an untouched output could not be told apart */
	uint64_t got_out;
	enum safecopy_status st = call_atomic(op, bytes, p, v, e, &got_out, &got);
	char what[96];
	snprintf(what, sizeof what, "atomic op %d width %u at %#lx v %#lx e %#lx", op, bytes,
	         (unsigned long)p, (unsigned long)v, (unsigned long)e);
	if (st != got.status)
		fuzz_fail(&L, "%s: returned status %d, record says %d", what, st, got.status);
	check_record(what, &got, &want);
	if (got_out != want_out)
		fuzz_fail(&L, "%s: output %#lx, the model says %#lx", what, (unsigned long)got_out,
		          (unsigned long)want_out);
	layout_check_memory(&L, what);
}

/* The model of strnlen (dst 0) and strncpy: length, record, and the shadow written. */
static size_t model_string(uintptr_t dst, uintptr_t src, size_t size, struct safecopy_fault *want)
{
	*want = ok_record;
	for (size_t r = 0; r < size; r++) {
		bool src_ok = model_readable(&L, src + r);
		bool dst_ok = !dst || model_writable(&L, dst + r);
		if (!src_ok || !dst_ok) {
			*want = model_fault(&L, src_ok ? dst + r : src + r, src_ok);
			if (!src_ok && dst && dst_ok)
				*model_byte(&L, dst + r) = 0; /* a terminator after a fault on the source */
			return r;
		}
		uint8_t b = *model_byte(&L, src + r);
		if (dst)
			*model_byte(&L, dst + r) = b;
		if (b == 0)
			return r;
	}
	return size;
}

static void op_string(struct input *in, bool copy)
{
	uintptr_t src = pick_ptr(in, 0, false), dst = copy ? pick_ptr(in, 1, false) : 0;
	size_t size = pick_len(in);
	if (!copy && take8(in) == 0xff)
		size = SIZE_MAX; /* no limit: ends at a NUL or a fault at the latest */
	if (copy && src + size > dst)
		size = dst - src; /* no overlap */
	struct safecopy_fault want, got;
	size_t want_r = model_string(dst, src, size, &want);
	size_t got_r = copy ? safecopy_strncpy((char *)dst, (const char *)src, size, &got)
	                    : safecopy_strnlen((const char *)src, size, &got);
	char what[96];
	snprintf(what, sizeof what, "%s(%#lx, %#lx, %zu)", copy ? "strncpy" : "strnlen", (unsigned long)dst,
	         (unsigned long)src, size);
	check_count(what, got_r, want_r);
	check_record(what, &got, &want);
	layout_check_memory(&L, what);
}

static void op_peek(struct input *in)
{
	uint8_t sel = take8(in);
	unsigned bytes = sel % 3 == 0 ? 4 : 8;
	uintptr_t p = pick_ptr(in, sel & 0x80 ? 1 : 0, true);
	uint64_t fallback = take64(in) & (bytes == 4 ? UINT32_MAX : UINT64_MAX);
	bool readable = true;
	for (unsigned i = 0; i < bytes; i++)
		readable = readable && model_readable(&L, p + i);
	uint64_t want = readable ? model_load(p, bytes) : fallback;
	uint64_t got = sel % 3 == 0 ? safecopy_peek32((const void *)p, (uint32_t)fallback)
	               : sel % 3 == 1
	                   ? safecopy_peek64((const void *)p, fallback)
	                   : (uint64_t)(uintptr_t)safecopy_peekptr((const void *)p, (void *)fallback);
	char what[64];
	snprintf(what, sizeof what, "peek%u(%#lx)", 8 * bytes, (unsigned long)p);
	if (got != want)
		fuzz_fail(&L, "%s: %#lx, the model says %#lx", what, (unsigned long)got, (unsigned long)want);
	layout_check_memory(&L, what);
}

/* Where byte k of a side's stream lies: its element (empty ones skipped) and offset; (count, 0) past all. */
static void stream_pos(const struct iovec *v, size_t count, size_t k, size_t *index, size_t *offset)
{
	size_t i = 0;
	for (; i < count; i++) {
		if (k < v[i].iov_len)
			break;
		k -= v[i].iov_len;
	}
	*index = i;
	*offset = i < count ? k : 0;
}

/* Source elements anywhere in half 0 (they may overlap: they are only read), some empty and wild. */
static size_t pick_sources(struct input *in, struct iovec *v)
{
	size_t n = take8(in) % (MAX_IOV + 1);
	for (size_t i = 0; i < n; i++) {
		uintptr_t p = pick_ptr(in, 0, false);
		size_t len = pick_len(in) % PAGE * 2, room = (uintptr_t)L.base + HALF - p;
		len = len < room ? len : room;
		if (take8(in) == 0xff)
			p = NONCANONICAL, len = 0; /* never accessed */
		v[i] = (struct iovec){(void *)p, len};
	}
	return n;
}

/* Destination elements one after another in half 1 (never overlapping: the model needs each byte once). */
static size_t pick_destinations(struct input *in, struct iovec *v)
{
	size_t n = take8(in) % (MAX_IOV + 1);
	uintptr_t at = (uintptr_t)L.base + HALF + take16(in) % PAGE;
	for (size_t i = 0; i < n; i++) {
		at += take8(in);
		size_t len = pick_len(in) % (2 * PAGE);
		v[i] = (struct iovec){(void *)at, len};
		at += len;
	}
	return n;
}

static void op_copyv(struct input *in)
{
	struct iovec src[MAX_IOV], dst[MAX_IOV];
	size_t sn = pick_sources(in, src), dn = pick_destinations(in, dst);
	size_t stotal = 0, dtotal = 0;
	for (size_t i = 0; i < sn; i++)
		stotal += src[i].iov_len;
	for (size_t i = 0; i < dn; i++)
		dtotal += dst[i].iov_len;
	size_t total = stotal < dtotal ? stotal : dtotal, k = 0;
	struct safecopy_fault want = ok_record, got;
	struct safecopy_iov_pos want_pos, got_pos;
	for (; k < total; k++) {
		size_t si, so, di, doff;
		stream_pos(src, sn, k, &si, &so);
		stream_pos(dst, dn, k, &di, &doff);
		uintptr_t s = (uintptr_t)src[si].iov_base + so, d = (uintptr_t)dst[di].iov_base + doff;
		if (!model_readable(&L, s) || !model_writable(&L, d)) {
			want = model_fault(&L, model_readable(&L, s) ? d : s, model_readable(&L, s));
			break;
		}
		*model_byte(&L, d) = *model_byte(&L, s);
	}
	stream_pos(dst, dn, k, &want_pos.dst_index, &want_pos.dst_offset);
	stream_pos(src, sn, k, &want_pos.src_index, &want_pos.src_offset);
	size_t got_n = safecopy_copyv(dst, dn, src, sn, &got, &got_pos);
	char what[64];
	snprintf(what, sizeof what, "copyv(%zu dst, %zu src, %zu bytes)", dn, sn, total);
	check_count(what, got_n, k);
	check_record(what, &got, &want);
	if (memcmp(&got_pos, &want_pos, sizeof got_pos) != 0)
		fuzz_fail(&L, "%s: where {dst %zu+%zu, src %zu+%zu}, the model says {%zu+%zu, %zu+%zu}", what,
		          got_pos.dst_index, got_pos.dst_offset, got_pos.src_index, got_pos.src_offset,
		          want_pos.dst_index, want_pos.dst_offset, want_pos.src_index, want_pos.src_offset);
	layout_check_memory(&L, what);
}

/* Byte values: half of them read-write, the other kinds an eighth each. */
static enum page_kind page_kind_of(uint8_t b)
{
	static const enum page_kind kinds[8] = {PAGE_RW, PAGE_RW,   PAGE_RW,       PAGE_RW,
	                                        PAGE_RO, PAGE_NONE, PAGE_UNMAPPED, PAGE_PAST_EOF};
	return kinds[b % 8];
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	layout_init(&L);
	if (safecopy_init() != 0)
		abort();
	cpu_level = sc_cpu_level;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!safecopy_handler_active()) {
		fprintf(stderr, "safecopy's handler was replaced: run with -handle_segv=0 -handle_bus=0\n");
		abort();
	}
	struct input in = {data, size};
	uint8_t op = take8(&in);
	sc_cpu_use_level(op & 0x80 ? SC_CPU_SSE2 : cpu_level); /* bit 7: the SSE2 loops */
	for (unsigned pg = 0; pg < REGION_PAGES; pg++)
		L.kind[pg] = page_kind_of(take8(&in));
	uint32_t seed = (uint32_t)take(&in, 4);
	uint8_t zeros = take8(&in);
	layout_apply(&L, seed, zeros < 128 ? 0 : 1u << (zeros % 9)); /* NULs for the string functions */
	switch (op % 8) {
	case 0:
		op_memcpy(&in);
		break;
	case 1:
		op_memset(&in);
		break;
	case 2:
	case 3:
		op_atomic(&in);
		break;
	case 4:
		op_string(&in, false);
		break;
	case 5:
		op_string(&in, true);
		break;
	case 6:
		op_peek(&in);
		break;
	default:
		op_copyv(&in);
		break;
	}
	layout_reset(&L);
	return 0;
}
