/*
 * safecopy_strncpy and safecopy_strnlen against a reference model that walks the string byte by byte
 * (is the byte readable, is the destination byte writable, is it the NUL, is the limit reached):
 * every start 0..300 bytes before a bad page (unmapped, PROT_NONE, read-only, memfd page past the end
 * of its file), NULs before, at and after it, every interesting limit; the bad page on the source, the
 * destination and both; long strings across many pages; a random differential run; the SSE2 variant;
 * misuse; the signal count; strings that end just before a bad page (which must not be read); a
 * source changing under the copy; calls from signal handlers.
 *
 * Each case checks the count, the whole fault record, the copied bytes, the terminator, and that no
 * byte of dst around what was written changed.
 */
#include <pthread.h>
#include <sched.h>

#include "contexts.h"

#define MAX_OFF 300
#define WINDOW  64
#define NO_NUL  SIZE_MAX

/* ---- zones for strings ---------------------------------------------------------------------------- */

static char nonnul(size_t i)
{
	return (char)('A' + i % 53);
}

/*
 * A source zone: every good byte non-NUL (so strings end where a test puts a NUL), the last byte of
 * the zone a NUL (so unlimited strings that get past a readable bad page end inside the zone).
 */
static void str_zone_make(struct zone *z, size_t before, enum bad_kind kind)
{
	size_t pg = pgsz();
	zone_make(z, before, kind, true);
	if (kind == BAD_READONLY)
		cr_assert_eq(mprotect(z->bad, pg, PROT_READ | PROT_WRITE), 0);
	for (size_t i = 0; i < z->len; i++)
		if (kind == BAD_NONE || kind == BAD_READONLY || z->base + i < z->bad ||
		    z->base + i >= z->bad + pg)
			z->base[i] = nonnul(i);
	z->base[z->len - 1] = '\0';
	if (kind == BAD_READONLY)
		cr_assert_eq(mprotect(z->bad, pg, PROT_READ), 0);
}

static bool in_zone(const struct zone *z, const char *a)
{
	return a >= z->base && a < z->base + z->len;
}

static bool dst_writable(const struct zone *z, const char *a)
{
	return !(a >= z->bad && a < z->bad + pgsz()) || z->kind == BAD_NONE;
}

/* ---- the reference model -------------------------------------------------------------------------- */

struct str_expect {
	size_t count;
	bool faulted, on_dst;
	struct safecopy_fault f;
};

static void expect_fault_at(struct str_expect *e, size_t i, const char *addr, enum bad_kind k, bool on_dst)
{
	e->count = i;
	e->faulted = true;
	e->on_dst = on_dst;
	e->f = (struct safecopy_fault){kind_status(k), (void *)addr, kind_signo(k), kind_code(k)};
}

/* Byte by byte: src readable, then dst writable (copy), then the NUL, then the limit. */
static void model(const struct zone *sz, const char *src, const struct zone *dz, const char *dst, size_t size,
                  struct str_expect *e)
{
	memset(e, 0, sizeof *e);
	for (size_t i = 0; i < size; i++) {
		const char *a = src + i;
		cr_assert(in_zone(sz, a), "test broken: the string leaves its zone at %zu", i);
		if (!zone_readable(sz, a))
			return expect_fault_at(e, i, a, sz->kind, false);
		if (dz) {
			cr_assert(in_zone(dz, dst + i), "test broken: dst leaves its zone at %zu", i);
			if (!dst_writable(dz, dst + i))
				return expect_fault_at(e, i, dst + i, dz->kind, true);
		}
		if (*a == '\0') {
			e->count = i;
			return;
		}
	}
	e->count = size;
}

/* ---- one case ------------------------------------------------------------------------------------- */

static void check_record(const struct safecopy_fault *f, const struct str_expect *e, const char *what,
                         size_t size)
{
	if (!e->faulted) {
		CHECK(f->status == SAFECOPY_OK && f->addr == NULL && f->signo == 0 && f->code == 0,
		      "%s: size %zu: record {%d %p %d %d}, want ok", what, size, f->status, f->addr, f->signo,
		      f->code);
		return;
	}
	CHECK(f->status == e->f.status && f->addr == e->f.addr && f->signo == e->f.signo &&
	          f->code == e->f.code,
	      "%s: size %zu: record {%d %p %d %d}, want {%d %p %d %d}", what, size, f->status, f->addr,
	      f->signo, f->code, e->f.status, e->f.addr, e->f.signo, e->f.code);
}

/* dst after a copy: the string, the terminator, and the canaries of dz around them. Restores them. */
static void check_dst(const struct zone *dz, char *dst, const char *src, size_t size,
                      const struct str_expect *e, const char *what)
{
	size_t got = e->count;
	for (size_t i = 0; i < got; i++)
		CHECK(dst[i] == src[i], "%s: size %zu: dst[%zu] = %#x, want %#x", what, size, i,
		      (uint8_t)dst[i], (uint8_t)src[i]);
	/* The terminator goes wherever it can: not after a destination fault, nor onto a bad byte. */
	bool terminated = got < size && !(e->faulted && e->on_dst) && dst_writable(dz, dst + got);
	if (terminated)
		CHECK(dst[got] == '\0', "%s: size %zu count %zu: no terminator (%#x)", what, size, got,
		      (uint8_t)dst[got]);
	size_t written = got + terminated;
	for (char *a = dst - WINDOW; a < dst + written + 2 * WINDOW; a++) {
		if (a >= dst && a < dst + written)
			continue;
		if (!in_zone(dz, a) || !zone_readable(dz, a))
			continue;
		CHECK((uint8_t)*a == zone_fill_byte(dz, a), "%s: size %zu count %zu: dst%+td changed to %#x",
		      what, size, got, a - dst, (uint8_t)*a);
	}
	for (size_t i = 0; i < written; i++)
		dst[i] = (char)zone_fill_byte(dz, dst + i);
}

/* One strncpy (dz != NULL) or strnlen against the model; the same call with fault == NULL now and then. */
static void run_case(const struct zone *sz, const char *src, const struct zone *dz, char *dst, size_t size,
                     const char *what)
{
	struct str_expect e;
	model(sz, src, dz, dst, size, &e);
	struct safecopy_fault f = fault_garbage();
	size_t got = dz ? safecopy_strncpy(dst, src, size, &f) : safecopy_strnlen(src, size, &f);
	CHECK(got == e.count, "%s: src %p dst %p size %zu: count %zu, want %zu", what, (const void *)src,
	      (void *)dst, size, got, e.count);
	check_record(&f, &e, what, size);
	if (dz)
		check_dst(dz, dst, src, size, &e, what);
	if (size % 7 == 3) {
		size_t again =
		    dz ? safecopy_strncpy(dst, src, size, NULL) : safecopy_strnlen(src, size, NULL);
		CHECK(again == got, "%s: size %zu: %zu with fault == NULL, %zu with a record", what, size,
		      again, got);
		if (dz)
			check_dst(dz, dst, src, size, &e, what);
	}
}

/* The limits worth trying for a string whose bad page is `off` bytes away and whose NUL is at nul. */
static size_t limits(size_t off, size_t nul, size_t *out)
{
	static const size_t fixed[] = {1,  2,  3,  15,  16,  17,  31,  32,   33,
	                               63, 64, 65, 127, 128, 129, 200, 4096, SIZE_MAX};
	size_t k = 0;
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		out[k++] = fixed[i];
	if (off >= 1)
		out[k++] = off - 1;
	out[k++] = off;
	out[k++] = off + 1;
	if (nul != NO_NUL) {
		out[k++] = nul;
		out[k++] = nul + 1;
		out[k++] = nul + 2;
	}
	return k;
}

/* NUL positions tried for a string `off` bytes before its bad page. */
static size_t nul_positions(size_t off, size_t *out)
{
	size_t k = 0;
	out[k++] = NO_NUL;
	if (off >= 1)
		out[k++] = off - 1; /* the string ends right before the bad page */
	if (off >= 2)
		out[k++] = off / 2;
	if (off >= 1 && off / 2 != 0)
		out[k++] = 0;
	return k;
}

static char *dst_for(struct zone *d, size_t shift)
{
	return d->base + WINDOW + shift % 61;
}

/* ---- the bad page on the source -------------------------------------------------------------------- */

static void src_matrix(enum bad_kind kind, bool copy)
{
	size_t pg = pgsz();
	struct zone s, d;
	str_zone_make(&s, 2 * pg, kind);
	zone_make(&d, 6 * pg, BAD_NONE, false);
	const char *what = copy ? "strncpy, bad source page" : "strnlen, bad source page";
	size_t lim[32], nuls[8];
	for (size_t off = 0; off <= MAX_OFF; off++) {
		char *src = s.bad - off;
		size_t nn = nul_positions(off, nuls);
		for (size_t ni = 0; ni < nn; ni++) {
			if (nuls[ni] != NO_NUL)
				src[nuls[ni]] = '\0';
			size_t nl = limits(off, nuls[ni], lim);
			for (size_t li = 0; li < nl; li++)
				run_case(&s, src, copy ? &d : NULL, copy ? dst_for(&d, off) : NULL, lim[li],
				         what);
			if (nuls[ni] != NO_NUL)
				src[nuls[ni]] = nonnul((size_t)(src + nuls[ni] - s.base));
		}
		/* Starting inside the bad page, and right after it. */
		static const size_t inside[] = {1, 5, 33, 4096, SIZE_MAX};
		for (size_t li = 0; li < sizeof inside / sizeof inside[0]; li++) {
			run_case(&s, s.bad + off, copy ? &d : NULL, copy ? dst_for(&d, off) : NULL,
			         inside[li], "string starting in the bad page");
			run_case(&s, s.bad + pg + off, copy ? &d : NULL, copy ? dst_for(&d, off) : NULL,
			         inside[li], "string starting after the bad page");
		}
	}
	zone_check_bad_page_untouched(&d);
	zone_free(&s);
	zone_free(&d);
}

Test(strings, strncpy_src_unmapped)
{
	src_matrix(BAD_UNMAPPED, true);
}
Test(strings, strncpy_src_prot_none)
{
	src_matrix(BAD_PROT_NONE, true);
}
Test(strings, strncpy_src_readonly_is_readable)
{
	src_matrix(BAD_READONLY, true);
}
Test(strings, strncpy_src_truncated_memfd_sigbus)
{
	src_matrix(BAD_SIGBUS, true);
}
Test(strings, strnlen_unmapped)
{
	src_matrix(BAD_UNMAPPED, false);
}
Test(strings, strnlen_prot_none)
{
	src_matrix(BAD_PROT_NONE, false);
}
Test(strings, strnlen_readonly_is_readable)
{
	src_matrix(BAD_READONLY, false);
}
Test(strings, strnlen_truncated_memfd_sigbus)
{
	src_matrix(BAD_SIGBUS, false);
}

/* ---- the bad page on the destination ---------------------------------------------------------------- */

static void dst_matrix(enum bad_kind kind)
{
	size_t pg = pgsz();
	struct zone s, d;
	str_zone_make(&s, 2 * pg, BAD_NONE);
	zone_make(&d, 2 * pg, kind, false);
	size_t lim[32], nuls[8];
	for (size_t off = 0; off <= MAX_OFF; off++) {
		char *dst = d.bad - off;
		char *src = s.base + 64 + off % 67; /* any alignment, far from the end of its zone */
		size_t nn = nul_positions(off + 2, nuls);
		for (size_t ni = 0; ni < nn; ni++) {
			if (nuls[ni] != NO_NUL)
				src[nuls[ni]] = '\0';
			size_t nl = limits(off, nuls[ni], lim);
			for (size_t li = 0; li < nl; li++)
				run_case(&s, src, &d, dst, lim[li], "strncpy, bad destination page");
			if (nuls[ni] != NO_NUL)
				src[nuls[ni]] = nonnul((size_t)(src + nuls[ni] - s.base));
		}
		run_case(&s, src, &d, d.bad + off % pg, 1 + off, "strncpy into the bad page");
	}
	zone_check_bad_page_untouched(&d);
	zone_free(&s);
	zone_free(&d);
}

Test(strings, strncpy_dst_unmapped)
{
	dst_matrix(BAD_UNMAPPED);
}
Test(strings, strncpy_dst_prot_none)
{
	dst_matrix(BAD_PROT_NONE);
}
Test(strings, strncpy_dst_readonly)
{
	dst_matrix(BAD_READONLY);
}
Test(strings, strncpy_dst_truncated_memfd_sigbus)
{
	dst_matrix(BAD_SIGBUS);
}

/* Both sides bad: src's bad page a bytes in, dst's b bytes in; no NUL before either. A tie is src's. */
static void both_matrix(enum bad_kind skind, enum bad_kind dkind)
{
	size_t pg = pgsz();
	struct zone s, d;
	str_zone_make(&s, pg, skind);
	zone_make(&d, pg, dkind, false);
	static const size_t dists[] = {0,  1,  2,  7,  15, 16,  17,  31,  32,  33, 63,
	                               64, 65, 95, 96, 97, 127, 128, 129, 200, 300};
	static const size_t sizes[] = {1, 16, 64, 100, 150, 250, SIZE_MAX};
	size_t nd = sizeof dists / sizeof dists[0];
	for (size_t ai = 0; ai < nd; ai++)
		for (size_t bi = 0; bi < nd; bi++)
			for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
				run_case(&s, s.bad - dists[ai], &d, d.bad - dists[bi], sizes[si],
				         "both sides bad");
	zone_check_bad_page_untouched(&d);
	zone_free(&s);
	zone_free(&d);
}

Test(strings, strncpy_both_unmapped_src_readonly_dst)
{
	both_matrix(BAD_UNMAPPED, BAD_READONLY);
}
Test(strings, strncpy_both_sigbus_src_prot_none_dst)
{
	both_matrix(BAD_SIGBUS, BAD_PROT_NONE);
}

/* ---- long strings: the group loop, many pages, the fault at a page start after many groups --------- */

static void long_strings(enum bad_kind kind, bool copy)
{
	size_t pg = pgsz();
	struct zone s, d;
	str_zone_make(&s, 4 * pg, kind);
	zone_make(&d, 8 * pg, BAD_NONE, false);
	static const size_t offs[] = {129, 4095, 4096, 4097, 8193, 16384};
	for (size_t oi = 0; oi < sizeof offs / sizeof offs[0]; oi++) {
		for (size_t mis = 0; mis < 130; mis += (mis < 34 ? 1 : 31)) {
			char *src = s.bad - offs[oi] + mis;
			size_t off = offs[oi] - mis;
			size_t ends[] = {NO_NUL, off - 1, off / 2, off - 129, 4095, 4096};
			for (size_t ei = 0; ei < sizeof ends / sizeof ends[0]; ei++) {
				size_t nul = ends[ei];
				if (nul != NO_NUL && nul >= off)
					continue;
				if (nul != NO_NUL)
					src[nul] = '\0';
				size_t sizes[] = {SIZE_MAX, off, off + 1, off - 1, 4096, 777};
				for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
					run_case(&s, src, copy ? &d : NULL, copy ? dst_for(&d, mis) : NULL,
					         sizes[si], copy ? "long strncpy" : "long strnlen");
				if (nul != NO_NUL)
					src[nul] = nonnul((size_t)(src + nul - s.base));
			}
		}
	}
	zone_free(&s);
	zone_free(&d);
}

Test(strings, long_strncpy_prot_none)
{
	long_strings(BAD_PROT_NONE, true);
}
Test(strings, long_strncpy_sigbus)
{
	long_strings(BAD_SIGBUS, true);
}
Test(strings, long_strnlen_unmapped)
{
	long_strings(BAD_UNMAPPED, false);
}
Test(strings, long_strnlen_readonly)
{
	long_strings(BAD_READONLY, false);
}

/* ---- differential: random layouts against the model --------------------------------------------- */

static uint64_t next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void random_run(uint64_t seed, int iterations)
{
	size_t pg = pgsz();
	static const enum bad_kind kinds[] = {BAD_NONE, BAD_UNMAPPED, BAD_PROT_NONE, BAD_READONLY,
	                                      BAD_SIGBUS};
	struct zone s[5], d[5];
	for (int i = 0; i < 5; i++) {
		str_zone_make(&s[i], 3 * pg, kinds[i]);
		zone_make(&d[i], 3 * pg, kinds[i], false);
	}
	for (int iter = 0; iter < iterations; iter++) {
		uint64_t x = next_random(&seed), y = next_random(&seed), z = next_random(&seed);
		int sk = (int)(x % 5), dk = (int)((x >> 8) % 5);
		bool copy = (x >> 16) % 4 != 0;
		size_t a = (y % (3 * pg)) + 1,
		       b = ((y >> 20) % (3 * pg)) + 1; /* distances to the bad pages */
		char *src = s[sk].bad - a;
		char *dst = d[dk].bad - b;
		/* Up to three NULs anywhere in the good part before the bad page. */
		size_t nuls[3];
		int nn = (int)(z % 4);
		for (int i = 0; i < nn; i++) {
			nuls[i] = (z >> (8 + 16 * i)) % a;
			src[nuls[i]] = '\0';
		}
		static const size_t sizes[] = {1, 7, 16, 33, 100, 128, 500, 4096, SIZE_MAX};
		size_t size = (x >> 24) % 3 == 0 ? (x >> 32) % (3 * pg) + 1 : sizes[(x >> 40) % 9];
		size_t room =
		    (size_t)(d[dk].base + d[dk].len - dst) - 2 * WINDOW - 1; /* for dst and its canaries */
		if (copy && size > room)
			size = room;
		char what[96];
		snprintf(what, sizeof what, "random case %d (%s, src %s, dst %s)", iter,
		         copy ? "strncpy" : "strnlen", kind_name(kinds[sk]), kind_name(kinds[dk]));
		run_case(&s[sk], src, copy ? &d[dk] : NULL, copy ? dst : NULL, size, what);
		for (int i = 0; i < nn; i++)
			src[nuls[i]] = nonnul((size_t)(src + nuls[i] - s[sk].base));
	}
	for (int i = 0; i < 5; i++) {
		zone_check_bad_page_untouched(&d[i]);
		zone_free(&s[i]);
		zone_free(&d[i]);
	}
}

Test(strings, random_layouts_against_the_model)
{
	random_run(0x9e3779b97f4a7c15ull, 20000);
}

/* ---- the SSE2 variant (CPUs without AVX2), reachable only from the static binary ------------------- */

#ifdef SAFECOPY_TEST_INTERNALS
#include "levels.h"

Test(strings, sse2_strncpy_src_prot_none)
{
	force_level(SC_CPU_SSE2);
	src_matrix(BAD_PROT_NONE, true);
}
Test(strings, sse2_strnlen_sigbus)
{
	force_level(SC_CPU_SSE2);
	src_matrix(BAD_SIGBUS, false);
}
Test(strings, sse2_strncpy_dst_readonly)
{
	force_level(SC_CPU_SSE2);
	dst_matrix(BAD_READONLY);
}
Test(strings, sse2_long_strings)
{
	force_level(SC_CPU_SSE2);
	long_strings(BAD_UNMAPPED, true);
}
Test(strings, sse2_random_layouts)
{
	force_level(SC_CPU_SSE2);
	random_run(0x2545f4914f6cdd1dull, 8000);
}
#endif

/* ---- misuse --------------------------------------------------------------------------------------- */

Test(strings, size_zero_touches_nothing)
{
	struct safecopy_fault f = fault_garbage();
	cr_assert_eq(safecopy_strncpy(NULL, NULL, 0, &f), 0);
	check_fault_ok(&f, "strncpy size 0");
	f = fault_garbage();
	cr_assert_eq(safecopy_strnlen((const char *)0xdead000000000000ull, 0, &f), 0);
	check_fault_ok(&f, "strnlen size 0");
	char c = 'x';
	cr_assert_eq(safecopy_strncpy(&c, "abc", 0, NULL), 0);
	cr_assert_eq(c, 'x', "size 0 wrote the terminator");
}

Test(strings, null_and_non_canonical_pointers)
{
	char buf[64];
	memset(buf, 0x7e, sizeof buf);
	struct safecopy_fault f = fault_garbage();
	cr_assert_eq(safecopy_strnlen(NULL, 100, &f), 0);
	check_fault(&f, SAFECOPY_SEGV, NULL, SIGSEGV, SEGV_MAPERR, "strnlen(NULL)");
	f = fault_garbage();
	cr_assert_eq(safecopy_strncpy(buf, NULL, 100, &f), 0);
	check_fault(&f, SAFECOPY_SEGV, NULL, SIGSEGV, SEGV_MAPERR, "strncpy from NULL");
	cr_assert_eq(buf[0], '\0', "no terminator after a source fault");
	cr_assert_eq(buf[1], 0x7e);
	f = fault_garbage();
	cr_assert_eq(safecopy_strncpy(NULL, "hello", 100, &f), 0);
	check_fault(&f, SAFECOPY_SEGV, NULL, SIGSEGV, SEGV_MAPERR, "strncpy to NULL");

	const char *wild = (const char *)0xdead000000000000ull;
	f = fault_garbage();
	cr_assert_eq(safecopy_strnlen(wild + 5, SIZE_MAX, &f), 0);
	check_fault(&f, SAFECOPY_SEGV, wild + 5, SIGSEGV, SI_KERNEL, "strnlen(non-canonical)");
	f = fault_garbage();
	memset(buf, 0x7e, sizeof buf);
	cr_assert_eq(safecopy_strncpy(buf, wild, 10, &f), 0);
	check_fault(&f, SAFECOPY_SEGV, wild, SIGSEGV, SI_KERNEL, "strncpy from non-canonical");
	cr_assert_eq(buf[0], '\0');
	f = fault_garbage();
	cr_assert_eq(safecopy_strncpy((char *)wild + 3, "hello", 10, &f), 0);
	check_fault(&f, SAFECOPY_SEGV, wild + 3, SIGSEGV, SI_KERNEL, "strncpy to non-canonical");
}

/* A string in the last bytes before the non-canonical hole runs into the unmapped top page. */
Test(strings, unlimited_string_at_the_top_of_user_space)
{
	const char *top = (const char *)0x00007ffffffff000ull; /* never mappable */
	struct safecopy_fault f = fault_garbage();
	cr_assert_eq(safecopy_strnlen(top + 4000, SIZE_MAX, &f), 0);
	check_fault(&f, SAFECOPY_SEGV, top + 4000, SIGSEGV, SEGV_MAPERR, "strnlen at the top");
}

Test(strings, limit_and_length_rules)
{
	char buf[32];
	struct safecopy_fault f = fault_garbage();
	memset(buf, 0x7e, sizeof buf);
	cr_assert_eq(safecopy_strncpy(buf, "hello", 5, &f), 5, "no NUL within the limit: the limit");
	check_fault_ok(&f, "limit 5");
	cr_assert(memcmp(buf, "hello", 5) == 0);
	cr_assert_eq(buf[5], 0x7e, "dst[size] written");
	cr_assert_eq(safecopy_strncpy(buf, "hello", 6, &f), 5, "the NUL is not counted");
	cr_assert_eq(buf[5], '\0');
	cr_assert_eq(buf[6], 0x7e);
	cr_assert_eq(safecopy_strncpy(buf, "", 6, &f), 0);
	cr_assert_eq(buf[0], '\0');
	cr_assert_eq(buf[1], 'e', "written after the terminator");
	cr_assert_eq(safecopy_strnlen("hello", SIZE_MAX, &f), 5);
	cr_assert_eq(safecopy_strnlen("hello", 3, &f), 3);
	check_fault_ok(&f, "strnlen limit");
}

/* In place (src == dst): the count holds and the string stays what it was. */
Test(strings, copy_onto_itself)
{
	char buf[300];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = nonnul(i);
	buf[250] = '\0';
	struct safecopy_fault f = fault_garbage();
	cr_assert_eq(safecopy_strncpy(buf, buf, sizeof buf, &f), 250);
	check_fault_ok(&f, "in place");
	for (size_t i = 0; i < 250; i++)
		cr_assert_eq(buf[i], nonnul(i));
}

/* ---- signals: one per faulting call, none for a string that ends before a bad page ----------------- */

static void signal_counts(enum bad_kind kind, bool copy)
{
	size_t pg = pgsz();
	struct zone s, d;
	str_zone_make(&s, 3 * pg, kind);
	zone_make(&d, 4 * pg, BAD_NONE, false);
	install_counting_owner();
	for (size_t off = 1; off <= 3 * pg; off += 1 + off / 5) {
		char *src = s.bad - off;
		for (int ends_before = 0; ends_before < 2; ends_before++) {
			if (ends_before)
				src[off - 1] = '\0';
			own_signals = 0;
			char *dst = dst_for(&d, off);
			size_t got = copy ? safecopy_strncpy(dst, src, SIZE_MAX, NULL)
			                  : safecopy_strnlen(src, SIZE_MAX, NULL);
			size_t want = ends_before ? off - 1 : off;
			CHECK(got == want, "off %zu: count %zu, want %zu", off, got, want);
			CHECK(own_signals == !ends_before, "off %zu (%s, %s): %d signals, want %d", off,
			      kind_name(kind), copy ? "strncpy" : "strnlen", (int)own_signals, !ends_before);
			if (copy)
				memset(dst, 0, off + 1);
			if (ends_before)
				src[off - 1] = nonnul((size_t)(src + off - 1 - s.base));
		}
	}
	zone_free(&s);
	zone_free(&d);
}

Test(strings, one_signal_per_faulting_strncpy)
{
	signal_counts(BAD_PROT_NONE, true);
}
Test(strings, one_signal_per_faulting_strnlen_sigbus)
{
	signal_counts(BAD_SIGBUS, false);
}

/* Only the destination bad: one signal too (the redo stays before the faulting page). */
Test(strings, one_signal_per_faulting_destination)
{
	size_t pg = pgsz();
	struct zone s, d;
	str_zone_make(&s, 3 * pg, BAD_NONE);
	zone_make(&d, 3 * pg, BAD_UNMAPPED, false);
	install_counting_owner();
	for (size_t off = 1; off <= 3 * pg - 200; off += 1 + off / 5) {
		own_signals = 0;
		size_t got = safecopy_strncpy(d.bad - off, s.base + off % 97, SIZE_MAX, NULL);
		CHECK(got == off, "off %zu: count %zu", off, got);
		CHECK(own_signals == 1, "off %zu: %d signals", off, (int)own_signals);
	}
	zone_free(&s);
	zone_free(&d);
}

/* ---- a source that changes during the copy: dst stays terminated, nothing after it is written ------ */

static volatile bool flipping;
static volatile unsigned long flips;

static void *flipper(void *arg)
{
	volatile char *p = arg;
	while (flipping) {
		for (size_t i = 0; i < 300; i += 13)
			p[i] = p[i] ? '\0' : 'q';
		flips++;
	}
	return NULL;
}

Test(strings, source_changing_during_the_copy)
{
	char *src = map_anon(pgsz(), PROT_READ | PROT_WRITE);
	memset(src, 'q', pgsz());
	char *dst = map_anon(pgsz(), PROT_READ | PROT_WRITE);
	flipping = true;
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, flipper, src), 0);
	while (flips == 0)
		sched_yield();
	long terminated_short = 0, round;
	/* Until the race has produced short strings often enough (bounded: the flipper may starve). */
	for (round = 0; round < 20000000 && (round < 100000 || terminated_short < 1000); round++) {
		size_t size = 1 + (size_t)round % 400;
		memset(dst, 0x7e, size + 64);
		size_t got = safecopy_strncpy(dst, src, size, NULL);
		CHECK(got <= size, "count %zu above the limit %zu", got, size);
		if (got < size) {
			CHECK(dst[got] == '\0', "round %ld: count %zu but dst[%zu] = %#x", round, got, got,
			      (uint8_t)dst[got]);
			terminated_short++;
		}
		for (size_t i = got + (got < size); i < size + 64; i++)
			CHECK((uint8_t)dst[i] == 0x7e, "round %ld: byte %zu after the string written", round,
			      i);
	}
	flipping = false;
	pthread_join(t, NULL);
	cr_assert_gt(terminated_short, 0,
	             "the flipping thread never produced a NUL: the test proved nothing");
	munmap(src, pgsz());
	munmap(dst, pgsz());
}

/* ---- from signal handlers -------------------------------------------------------------------------- */

static struct zone h_src;

static int strings_in_handler(void)
{
	char buf[512];
	struct safecopy_fault f;
	const char *src = h_src.bad - 200;
	if (safecopy_strncpy(buf, src, sizeof buf, &f) != 200 || f.status != SAFECOPY_SEGV ||
	    f.addr != h_src.bad || buf[200] != '\0' || memcmp(buf, src, 200) != 0)
		return 1;
	if (safecopy_strnlen(src + 50, 10, &f) != 10 || f.status != SAFECOPY_OK)
		return 2;
	if (safecopy_strnlen(src, 1000, &f) != 200 || f.code != SEGV_ACCERR)
		return 3;
	return 0;
}

Test(strings, in_a_sigusr1_handler)
{
	str_zone_make(&h_src, pgsz(), BAD_PROT_NONE);
	cr_assert_eq(run_in_sigusr1_handler(strings_in_handler), 0);
	zone_free(&h_src);
}

Test(strings, inside_the_programs_own_sigsegv_handler)
{
	foreign_page_map();
	str_zone_make(&h_src, pgsz(), BAD_PROT_NONE);
	cr_assert_eq(run_in_foreign_segv_handler(strings_in_handler), 0);
	zone_free(&h_src);
}

/* The same inside a crash reporter: a handler without SA_NODEFER, run with SIGSEGV blocked. */
Test(strings, inside_a_crash_reporter_with_sigsegv_blocked)
{
	foreign_page_map();
	str_zone_make(&h_src, pgsz(), BAD_PROT_NONE);
	cr_assert_eq(run_in_crash_reporter(strings_in_handler), 0);
	zone_free(&h_src);
}

/* The first call installs the handler: no safecopy_init() in this process before it faults. */
Test(strings, first_call_installs_the_handler)
{
	struct safecopy_fault f = fault_garbage();
	cr_assert_eq(safecopy_strnlen((const char *)0x1000, 8, &f), 0);
	check_fault(&f, SAFECOPY_SEGV, (void *)0x1000, SIGSEGV, SEGV_MAPERR, "first strnlen");
	cr_assert(safecopy_handler_active());
}
