/*
 * safecopy_copyv against a model that walks both iovec arrays byte by byte (is the source byte
 * readable, the destination byte writable): random shapes (empty elements with wild bases, elements
 * across bad pages of every kind on either side), a matrix of one source element running into a bad
 * page copied into elements of every length (the position names the element and offset), the tie
 * rule, misuse (a wrapping element: nothing copied, no access at all), one signal per faulting call,
 * handlers.
 * Each case checks the count, the record, the positions, every destination byte and every canary.
 */
#include <sys/uio.h>

#include "contexts.h"

#define MAX_IOV 9

struct side {
	struct iovec iov[MAX_IOV];
	size_t count;
};

/* The address of byte t of a side's concatenation and its position; false if the side has no byte t. */
static bool locate(const struct side *s, size_t t, char **addr, size_t *index, size_t *offset)
{
	for (size_t i = 0; i < s->count; i++) {
		if (t < s->iov[i].iov_len) {
			*addr = (char *)s->iov[i].iov_base + t;
			*index = i;
			*offset = t;
			return true;
		}
		t -= s->iov[i].iov_len;
	}
	*index = s->count;
	*offset = 0;
	return false;
}

static bool writable(const struct zone *z, const char *a)
{
	return !(a >= z->bad && a < z->bad + pgsz()) || z->kind == BAD_NONE;
}

struct v_expect {
	size_t total;
	struct safecopy_fault f;
	struct safecopy_iov_pos where;
};

static void model(const struct zone *sz, const struct side *src, const struct zone *dz,
                  const struct side *dst, struct v_expect *e)
{
	memset(e, 0, sizeof *e);
	for (size_t t = 0;; t++) {
		char *sa, *da;
		bool has_s = locate(src, t, &sa, &e->where.src_index, &e->where.src_offset);
		bool has_d = locate(dst, t, &da, &e->where.dst_index, &e->where.dst_offset);
		e->total = t;
		if (!has_s || !has_d)
			return;
		enum bad_kind k = BAD_NONE;
		const char *at = NULL;
		if (!zone_readable(sz, sa))
			k = sz->kind, at = sa;
		else if (!writable(dz, da))
			k = dz->kind, at = da;
		if (at) {
			e->f =
			    (struct safecopy_fault){kind_status(k), (void *)at, kind_signo(k), kind_code(k)};
			return;
		}
	}
}

/* Runs one copyv and checks everything against the model; restores dst's zone. */
static void run_case(const struct zone *sz, const struct side *src, struct zone *dz, const struct side *dst,
                     const char *what)
{
	struct v_expect e;
	model(sz, src, dz, dst, &e);
	struct safecopy_fault f = fault_garbage();
	struct safecopy_iov_pos w;
	memset(&w, 0x5a, sizeof w);
	size_t got = safecopy_copyv(dst->iov, dst->count, src->iov, src->count, &f, &w);
	CHECK(got == e.total, "%s: total %zu, want %zu", what, got, e.total);
	CHECK(f.status == e.f.status && f.addr == e.f.addr && f.signo == e.f.signo && f.code == e.f.code,
	      "%s: record {%d %p %d %d}, want {%d %p %d %d}", what, f.status, f.addr, f.signo, f.code,
	      e.f.status, e.f.addr, e.f.signo, e.f.code);
	CHECK(memcmp(&w, &e.where, sizeof w) == 0, "%s: where {%zu %zu %zu %zu}, want {%zu %zu %zu %zu}",
	      what, w.dst_index, w.dst_offset, w.src_index, w.src_offset, e.where.dst_index,
	      e.where.dst_offset, e.where.src_index, e.where.src_offset);
	/* The copied bytes, then every other byte of dst's zone untouched. */
	for (size_t t = 0; t < got; t++) {
		char *sa = NULL, *da = NULL;
		size_t i, o;
		bool in_src = locate(src, t, &sa, &i, &o);
		bool in_dst = locate(dst, t, &da, &i, &o);
		CHECK(in_src && in_dst, "%s: byte %zu of %zu lies outside the iovecs", what, t, got);
		CHECK(*da == *sa, "%s: byte %zu: %#x, want %#x", what, t, (uint8_t)*da, (uint8_t)*sa);
		*da = (char)zone_fill_byte(dz, da);
	}
	for (char *a = dz->base; a < dz->base + dz->len; a++)
		if (zone_readable(dz, a))
			CHECK((uint8_t)*a == zone_fill_byte(dz, a), "%s: dst byte bad%+td changed", what,
			      a - dz->bad);
	/* Without a record or a position: the same count. */
	if (got % 5 == 1) {
		CHECK(safecopy_copyv(dst->iov, dst->count, src->iov, src->count, NULL, NULL) == got,
		      "%s: another count without record", what);
		for (size_t t = 0; t < got; t++) {
			char *da = NULL;
			size_t i, o;
			CHECK(locate(dst, t, &da, &i, &o), "%s: byte %zu outside dst's iovecs", what, t);
			*da = (char)zone_fill_byte(dz, da);
		}
	}
}

static uint64_t next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Up to MAX_IOV elements laid out from `from` on, with gaps (dst: disjoint, so every byte has one
 * source); some empty with a wild base. Total length up to `room`.
 */
static void random_side(struct side *s, char *from, size_t room, uint64_t *seed)
{
	static void *const wild[] = {NULL, (void *)0xdead000000000000ull, (void *)1};
	s->count = next_random(seed) % (MAX_IOV + 1);
	char *cur = from;
	for (size_t i = 0; i < s->count; i++) {
		uint64_t r = next_random(seed);
		if (r % 7 == 0) {
			s->iov[i] = (struct iovec){wild[(r >> 8) % 3], 0};
			continue;
		}
		size_t len = 1 + (r >> 8) % 300;
		size_t gap = (r >> 20) % 4 == 0 ? (r >> 24) % 40 : 0;
		if ((size_t)(cur + gap + len - from) > room)
			len = gap = 0;
		s->iov[i] = (struct iovec){cur + gap, len};
		cur += gap + len;
	}
}

Test(copyv, random_shapes_against_the_model)
{
	size_t pg = pgsz();
	static const enum bad_kind kinds[] = {BAD_NONE, BAD_UNMAPPED, BAD_PROT_NONE, BAD_READONLY,
	                                      BAD_SIGBUS};
	struct zone s[5], d[5];
	for (int i = 0; i < 5; i++) {
		zone_make(&s[i], 2 * pg, kinds[i], true);
		zone_make(&d[i], 2 * pg, kinds[i], false);
	}
	uint64_t seed = 0x6a09e667f3bcc908ull;
	for (int iter = 0; iter < 8000; iter++) {
		uint64_t x = next_random(&seed);
		int sk = (int)(x % 5), dk = (int)((x >> 8) % 5);
		size_t a = (x >> 16) % 1500,
		       b = (x >> 32) % 1500; /* how far before the bad page each side starts */
		struct side src, dst;
		random_side(&src, s[sk].bad - a, a + pg, &seed);
		random_side(&dst, d[dk].bad - b, b + pg, &seed);
		char what[80];
		snprintf(what, sizeof what, "random case %d (src %s, dst %s)", iter, kind_name(kinds[sk]),
		         kind_name(kinds[dk]));
		run_case(&s[sk], &src, &d[dk], &dst, what);
	}
	for (int i = 0; i < 5; i++) {
		zone_check_bad_page_untouched(&d[i]);
		zone_free(&s[i]);
		zone_free(&d[i]);
	}
}

/* One source element running into a bad page, off bytes before it, copied into elements of length L. */
static void split_matrix(enum bad_kind kind, bool bad_on_src)
{
	size_t pg = pgsz();
	struct zone s, d;
	zone_make(&s, pg, bad_on_src ? kind : BAD_NONE, true);
	zone_make(&d, pg, bad_on_src ? BAD_NONE : kind, false);
	static const size_t lens[] = {1, 3, 16, 64, 100, 301};
	for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
		size_t L = lens[li];
		for (size_t off = 0; off <= 200; off++) {
			struct side one = {.count = 1}, many = {.count = 0};
			char *single = bad_on_src ? s.bad - off : d.bad - off;
			char *split = bad_on_src ? d.base + 8 : s.base + 8;
			one.iov[0] = (struct iovec){single, 300};
			for (size_t done = 0; done < 300 && many.count < MAX_IOV; many.count++) {
				many.iov[many.count] = (struct iovec){split + done + many.count, L};
				done += L;
			}
			if (bad_on_src)
				run_case(&s, &one, &d, &many, "one source element, many destinations");
			else
				run_case(&s, &many, &d, &one, "many source elements, one destination");
		}
	}
	zone_check_bad_page_untouched(&d);
	zone_free(&s);
	zone_free(&d);
}

Test(copyv, split_source_unmapped)
{
	split_matrix(BAD_UNMAPPED, true);
}
Test(copyv, split_source_sigbus)
{
	split_matrix(BAD_SIGBUS, true);
}
Test(copyv, split_destination_readonly)
{
	split_matrix(BAD_READONLY, false);
}
Test(copyv, split_destination_prot_none)
{
	split_matrix(BAD_PROT_NONE, false);
}

/* The source and the destination fail at the same byte: the source is reported. */
Test(copyv, tie_is_reported_on_the_source)
{
	struct zone s, d;
	zone_make(&s, pgsz(), BAD_PROT_NONE, true);
	zone_make(&d, pgsz(), BAD_UNMAPPED, false);
	struct side src = {.count = 2}, dst = {.count = 1};
	src.iov[0] = (struct iovec){s.base, 30};
	src.iov[1] = (struct iovec){s.bad - 20, 100};
	dst.iov[0] = (struct iovec){d.bad - 50, 130};
	run_case(&s, &src, &d, &dst, "tie");
	struct safecopy_fault f;
	cr_assert_eq(safecopy_copyv(dst.iov, 1, src.iov, 2, &f, NULL), 50);
	check_fault(&f, SAFECOPY_SEGV, s.bad, SIGSEGV, SEGV_ACCERR, "tie");
	zone_free(&s);
	zone_free(&d);
}

/* ---- misuse ------------------------------------------------------------------------------------------ */

Test(copyv, empty_arrays_and_empty_elements)
{
	struct safecopy_fault f = fault_garbage();
	struct safecopy_iov_pos w;
	memset(&w, 0x5a, sizeof w);
	cr_assert_eq(safecopy_copyv(NULL, 0, NULL, 0, &f, &w), 0);
	check_fault_ok(&f, "no elements");
	cr_assert(w.dst_index == 0 && w.dst_offset == 0 && w.src_index == 0 && w.src_offset == 0);
	/* Empty elements are never accessed, whatever their base. */
	struct iovec wild[3] = {
	    {NULL, 0}, {(void *)0xdead000000000000ull, 0}, {(void *)(UINTPTR_MAX - 1), 0}};
	char buf[4] = "abc";
	struct iovec one = {buf, 3};
	f = fault_garbage();
	cr_assert_eq(safecopy_copyv(wild, 3, &one, 1, &f, &w), 0);
	check_fault_ok(&f, "empty destination elements");
	cr_assert(w.dst_index == 3 && w.dst_offset == 0 && w.src_index == 0 && w.src_offset == 0);
	cr_assert_eq(safecopy_copyv(&one, 1, wild, 3, &f, &w), 0);
	cr_assert(w.dst_index == 0 && w.src_index == 3);
	cr_assert_str_eq(buf, "abc");
}

/*
 * An element that wraps is bad input: nothing is copied at all, even the bytes of the elements before
 * it, and SAFECOPY_RANGE names it (the destination's first).
 */
Test(copyv, wrapping_element_rejects_the_whole_call)
{
	struct zone z;
	zone_make(&z, pgsz(), BAD_NONE, false);
	char src[64];
	memset(src, 'w', sizeof src);
	void *top = (void *)(UINTPTR_MAX - 5);
	struct iovec dst3[3] = {{z.base, 10}, {top, 10}, {z.base + 100, 10}};
	struct iovec s1 = {src, 64};
	struct safecopy_fault f = fault_garbage();
	struct safecopy_iov_pos w;
	cr_assert_eq(safecopy_copyv(dst3, 3, &s1, 1, &f, &w), 0);
	check_fault(&f, SAFECOPY_RANGE, top, 0, 0, "wrapping destination element");
	cr_assert(w.dst_index == 1 && w.dst_offset == 0 && w.src_index == 0 && w.src_offset == 0);

	/* A wrapping source element after the bytes the destination can take: still rejected. */
	struct iovec src3[2] = {{src, 20}, {(void *)(UINTPTR_MAX - 2), 4}};
	struct iovec d1 = {z.base + 200, 10};
	f = fault_garbage();
	cr_assert_eq(safecopy_copyv(&d1, 1, src3, 2, &f, &w), 0);
	check_fault(&f, SAFECOPY_RANGE, (void *)(UINTPTR_MAX - 2), 0, 0, "wrapping source element");
	cr_assert(w.dst_index == 0 && w.dst_offset == 0 && w.src_index == 1 && w.src_offset == 0);

	/* Both wrap: the destination's is reported. */
	struct iovec dwrap = {top, 10}, swrap = {(void *)(UINTPTR_MAX - 2), 4};
	f = fault_garbage();
	cr_assert_eq(safecopy_copyv(&dwrap, 1, &swrap, 1, &f, NULL), 0);
	check_fault(&f, SAFECOPY_RANGE, top, 0, 0, "both wrap");
	for (char *a = z.base; a < z.base + z.len; a++)
		cr_assert_eq((uint8_t)*a, zone_fill_byte(&z, a), "byte %td written", a - z.base);
	zone_free(&z);
}

/*
 * The wrap test at its edges, on either word of an element: a length alone can make it wrap (a small
 * base), while a huge length or a top-half base that ends at the very top of the address space is
 * not bad input and is copied or faults like any other element.
 */
Test(copyv, wrapping_is_decided_by_base_and_length_together)
{
	char src[32], dst[32];
	memset(src, 'q', sizeof src);
	memset(dst, '.', sizeof dst);
	struct safecopy_fault f = fault_garbage();
	struct safecopy_iov_pos w;
	/* A small base whose length reaches past the top: rejected, nothing written. */
	struct iovec long_src = {src, SIZE_MAX - 8}, d16 = {dst, 16};
	cr_assert_eq(safecopy_copyv(&d16, 1, &long_src, 1, &f, &w), 0);
	check_fault(&f, SAFECOPY_RANGE, src, 0, 0, "a length that wraps");
	cr_assert(w.dst_index == 0 && w.dst_offset == 0 && w.src_index == 0 && w.src_offset == 0);
	cr_assert_eq(dst[0], '.');
	/* A length of 2^63 from a user address ends below the top: the destination takes 16 bytes. */
	struct iovec half_src = {src, (size_t)1 << 63};
	f = fault_garbage();
	cr_assert_eq(safecopy_copyv(&d16, 1, &half_src, 1, &f, &w), 16);
	check_fault_ok(&f, "a length of 2^63");
	cr_assert(w.dst_index == 1 && w.dst_offset == 0 && w.src_index == 0 && w.src_offset == 16);
	cr_assert_eq(memcmp(dst, src, 16), 0);
	cr_assert_eq(dst[16], '.');
	/* Ending exactly at the top is no wrap: the access is made, and faults on the kernel's half. */
	void *last8 = (void *)(UINTPTR_MAX - 7);
	struct iovec top_src = {last8, 8}, d8 = {dst + 20, 8};
	f = fault_garbage();
	cr_assert_eq(safecopy_copyv(&d8, 1, &top_src, 1, &f, &w), 0);
	cr_assert_eq(f.status, SAFECOPY_SEGV);
	cr_assert_eq(f.addr, last8);
	cr_assert(w.dst_index == 0 && w.dst_offset == 0 && w.src_index == 0 && w.src_offset == 0);
	cr_assert_eq(dst[20], '.');
}

/* The rejection takes no signal: no access is made at all. */
Test(copyv, wrapping_element_takes_no_signal)
{
	install_counting_owner();
	own_signals = 0;
	char buf[16];
	struct iovec d = {buf, 16}, s = {(void *)(UINTPTR_MAX - 7), 16};
	struct safecopy_fault f = fault_garbage();
	cr_assert_eq(safecopy_copyv(&d, 1, &s, 1, &f, NULL), 0);
	check_fault(&f, SAFECOPY_RANGE, (void *)(UINTPTR_MAX - 7), 0, 0, "wrapping source");
	cr_assert_eq(own_signals, 0);
}

/* ---- contexts --------------------------------------------------------------------------------------- */

static struct zone h_src;

static int copyv_in_handler(void)
{
	char a[40], b[200];
	struct iovec dst[2] = {{a, sizeof a}, {b, sizeof b}};
	struct iovec src[1] = {{h_src.bad - 100, 500}};
	struct safecopy_fault f;
	struct safecopy_iov_pos w;
	if (safecopy_copyv(dst, 2, src, 1, &f, &w) != 100 || f.addr != h_src.bad)
		return 1;
	if (w.dst_index != 1 || w.dst_offset != 60 || w.src_index != 0 || w.src_offset != 100)
		return 2;
	if (memcmp(a, h_src.bad - 100, 40) != 0 || memcmp(b, h_src.bad - 60, 60) != 0)
		return 3;
	return 0;
}

Test(copyv, one_signal_per_faulting_call)
{
	zone_make(&h_src, pgsz(), BAD_UNMAPPED, true);
	install_counting_owner();
	own_signals = 0;
	cr_assert_eq(copyv_in_handler(), 0);
	cr_assert_eq(own_signals, 1, "%d signals", (int)own_signals);
	zone_free(&h_src);
}

Test(copyv, in_a_sigusr1_handler)
{
	zone_make(&h_src, pgsz(), BAD_SIGBUS, true);
	cr_assert_eq(run_in_sigusr1_handler(copyv_in_handler), 0);
	zone_free(&h_src);
}

Test(copyv, inside_the_programs_own_sigsegv_handler)
{
	foreign_page_map();
	zone_make(&h_src, pgsz(), BAD_PROT_NONE, true);
	cr_assert_eq(run_in_foreign_segv_handler(copyv_in_handler), 0);
	zone_free(&h_src);
}

/* The same inside a crash reporter: a handler without SA_NODEFER, run with SIGSEGV blocked. */
Test(copyv, inside_a_crash_reporter_with_sigsegv_blocked)
{
	foreign_page_map();
	zone_make(&h_src, pgsz(), BAD_PROT_NONE, true);
	cr_assert_eq(run_in_crash_reporter(copyv_in_handler), 0);
	zone_free(&h_src);
}

/* The first call installs the handler: no safecopy_init() in this process before it faults. */
Test(copyv, first_call_installs_the_handler)
{
	char buf[8];
	struct iovec d = {buf, 8}, s = {(void *)0x1000, 8};
	struct safecopy_fault f = fault_garbage();
	cr_assert_eq(safecopy_copyv(&d, 1, &s, 1, &f, NULL), 0);
	check_fault(&f, SAFECOPY_SEGV, (void *)0x1000, SIGSEGV, SEGV_MAPERR, "first copyv");
	cr_assert(safecopy_handler_active());
}
