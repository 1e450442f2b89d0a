/*
 * Boundary matrix for safecopy_memcpy and safecopy_memset: every size 0..256 against every start
 * 0..64 bytes before a bad page, inside it, and just after it; the bad page unmapped, PROT_NONE,
 * read-only, or a memfd page beyond the end of its file (SIGBUS); faults on the source, the
 * destination, and both. Plus large sizes (the vector loops, rep movsb/stosb) that run into a bad page,
 * every destination alignment, and the same again at each lower vector level (static suite).
 *
 * Each case checks the exact count, the full fault record, every copied byte, that nothing of dst
 * after the count changed and that nothing around dst changed (canaries).
 */
#include "harness.h"

#define MAX_N   256
#define MAX_OFF 64
#define WINDOW  64 /* canary bytes checked on each side of dst */

struct expect {
	size_t count;
	/* Accepted fault records when count < n (two for a tie between src and dst sides). */
	int nalt;
	struct {
		enum safecopy_status status;
		const void *addr;
		int signo, code;
	} alt[2];
};

static void expect_full(struct expect *e, size_t n)
{
	e->count = n;
	e->nalt = 0;
}

static void expect_stop(struct expect *e, size_t count, const void *addr, enum bad_kind k)
{
	e->count = count;
	e->nalt = 1;
	e->alt[0].status = kind_status(k);
	e->alt[0].addr = addr;
	e->alt[0].signo = kind_signo(k);
	e->alt[0].code = kind_code(k);
}

/*
 * Runs one copy (src != NULL) or memset (src == NULL, value c) and checks everything. dz is the zone
 * dst lies in (its fill is the canary). Restores dst's zone afterwards.
 */
static void run_case(struct zone *dz, char *dst, const char *src, int c, size_t n, const struct expect *e,
                     const char *what)
{
	struct safecopy_fault f = fault_garbage();
	size_t got = src ? safecopy_memcpy(dst, src, n, &f) : safecopy_memset(dst, c, n, &f);
	CHECK(got == e->count, "%s: n=%zu dst=bad%+td src=%p: count %zu, want %zu", what, n, dst - dz->bad,
	      (const void *)src, got, e->count);
	if (e->count == n) {
		check_fault_ok(&f, what);
	} else {
		bool matched = false;
		for (int i = 0; i < e->nalt && !matched; i++)
			matched = f.status == e->alt[i].status && f.addr == e->alt[i].addr &&
			          f.signo == e->alt[i].signo && f.code == e->alt[i].code;
		CHECK(
		    matched,
		    "%s: n=%zu dst=bad%+td: fault {status %d addr %p signo %d code %d}, want {%d %p %d %d}%s",
		    what, n, dst - dz->bad, f.status, f.addr, f.signo, f.code, e->alt[0].status,
		    e->alt[0].addr, e->alt[0].signo, e->alt[0].code, e->nalt > 1 ? " or the other side" : "");
	}
	for (size_t i = 0; i < got; i++) {
		uint8_t want = src ? (uint8_t)src[i] : (uint8_t)c;
		CHECK((uint8_t)dst[i] == want, "%s: n=%zu dst=bad%+td: dst[%zu] = %#x, want %#x", what, n,
		      dst - dz->bad, i, (uint8_t)dst[i], want);
	}
	for (char *a = dst - WINDOW; a < dst + n + WINDOW; a++) {
		if (a >= dst && a < dst + got)
			continue;
		if (!zone_readable(dz, a))
			continue;
		CHECK((uint8_t)*a == zone_fill_byte(dz, a),
		      "%s: n=%zu dst=bad%+td count=%zu: byte dst%+td changed to %#x", what, n, dst - dz->bad,
		      got, a - dst, (uint8_t)*a);
	}
	for (size_t i = 0; i < got; i++)
		dst[i] = (char)zone_fill_byte(dz, dst + i);
	/* Same call without a fault record: the same count (checked on a sample, it is the same code). */
	if (n % 23 == 0) {
		size_t again = src ? safecopy_memcpy(dst, src, n, NULL) : safecopy_memset(dst, c, n, NULL);
		CHECK(again == got, "%s: n=%zu: with fault == NULL count %zu, with a record %zu", what, n,
		      again, got);
		for (size_t i = 0; i < again; i++)
			dst[i] = (char)zone_fill_byte(dz, dst + i);
	}
}

/* Source side: the bad page is in src; dst is plain memory. */
static void src_matrix(enum bad_kind kind)
{
	size_t pg = pgsz();
	struct zone s, d;
	zone_make(&s, pg, kind, true);
	zone_make(&d, 2 * pg, BAD_NONE, false);
	bool readable = kind == BAD_READONLY;
	for (size_t n = 0; n <= MAX_N; n++) {
		char *dst = d.base + pg / 2 + (n % 32);
		struct expect e;
		for (size_t off = 0; off <= MAX_OFF; off++) {
			/* Ends off bytes into (or before) the bad page. */
			const char *src = s.bad - off;
			if (readable || n <= off)
				expect_full(&e, n);
			else
				expect_stop(&e, off, s.bad, kind);
			run_case(&d, dst, src, 0, n, &e, "src before bad page");
			/* Starts inside the bad page. */
			src = s.bad + off;
			if (readable || n == 0)
				expect_full(&e, n);
			else
				expect_stop(&e, 0, src, kind);
			run_case(&d, dst, src, 0, n, &e, "src inside bad page");
			/* Starts right after it. */
			src = s.bad + pg + off;
			expect_full(&e, n);
			run_case(&d, dst, src, 0, n, &e, "src after bad page");
		}
	}
	zone_check_bad_page_untouched(&s);
	zone_free(&s);
	zone_free(&d);
}

/* Destination side, for copy (is_copy) or memset. */
static void dst_matrix(enum bad_kind kind, bool is_copy)
{
	size_t pg = pgsz();
	struct zone s, d;
	zone_make(&s, 2 * pg, BAD_NONE, true);
	zone_make(&d, pg, kind, false);
	const int c = 0x3c;
	for (size_t n = 0; n <= MAX_N; n++) {
		const char *src = is_copy ? s.base + pg / 2 + (n % 32) : NULL;
		struct expect e;
		for (size_t off = 0; off <= MAX_OFF; off++) {
			char *dst = d.bad - off;
			if (n <= off)
				expect_full(&e, n);
			else
				expect_stop(&e, off, d.bad, kind);
			run_case(&d, dst, src, c, n, &e, "dst before bad page");
			dst = d.bad + off;
			if (n == 0)
				expect_full(&e, n);
			else
				expect_stop(&e, 0, dst, kind);
			run_case(&d, dst, src, c, n, &e, "dst inside bad page");
			dst = d.bad + pg + off;
			expect_full(&e, n);
			run_case(&d, dst, src, c, n, &e, "dst after bad page");
		}
	}
	zone_check_bad_page_untouched(&d);
	zone_free(&s);
	zone_free(&d);
}

/* Both sides bad: src's bad page a bytes in, dst's b bytes in. A tie is reported on the src side. */
static void both_matrix(enum bad_kind skind, enum bad_kind dkind)
{
	static const size_t sizes[] = {0,  1,  2,  3,  4,  5,  7,   8,   9,   15,  16,  17,  24,  31,  32, 33,
	                               47, 48, 63, 64, 65, 96, 127, 128, 129, 159, 160, 161, 200, 255, 256};
	size_t pg = pgsz();
	struct zone s, d;
	zone_make(&s, pg, skind, true);
	zone_make(&d, pg, dkind, false);
	for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
		size_t n = sizes[si];
		for (size_t a = 0; a <= MAX_OFF; a++) {
			for (size_t b = 0; b <= MAX_OFF; b++) {
				const char *src = s.bad - a;
				char *dst = d.bad - b;
				struct expect e;
				size_t stop = a < b ? a : b;
				if (n <= stop)
					expect_full(&e, n);
				else if (a < b)
					expect_stop(&e, a, s.bad, skind);
				else if (b < a)
					expect_stop(&e, b, d.bad, dkind);
				else /* a tie: the header says the src byte (every block is read before
				        written) */
					expect_stop(&e, a, s.bad, skind);
				run_case(&d, dst, src, 0, n, &e, "both sides bad");
			}
		}
	}
	zone_check_bad_page_untouched(&d);
	zone_free(&s);
	zone_free(&d);
}

Test(boundary, copy_src_unmapped)
{
	src_matrix(BAD_UNMAPPED);
}
Test(boundary, copy_src_prot_none)
{
	src_matrix(BAD_PROT_NONE);
}
Test(boundary, copy_src_readonly_is_readable)
{
	src_matrix(BAD_READONLY);
}
Test(boundary, copy_src_truncated_memfd_sigbus)
{
	src_matrix(BAD_SIGBUS);
}

Test(boundary, copy_dst_unmapped)
{
	dst_matrix(BAD_UNMAPPED, true);
}
Test(boundary, copy_dst_prot_none)
{
	dst_matrix(BAD_PROT_NONE, true);
}
Test(boundary, copy_dst_readonly)
{
	dst_matrix(BAD_READONLY, true);
}
Test(boundary, copy_dst_truncated_memfd_sigbus)
{
	dst_matrix(BAD_SIGBUS, true);
}

Test(boundary, memset_unmapped)
{
	dst_matrix(BAD_UNMAPPED, false);
}
Test(boundary, memset_prot_none)
{
	dst_matrix(BAD_PROT_NONE, false);
}
Test(boundary, memset_readonly)
{
	dst_matrix(BAD_READONLY, false);
}
Test(boundary, memset_truncated_memfd_sigbus)
{
	dst_matrix(BAD_SIGBUS, false);
}

Test(boundary, copy_both_unmapped_src_readonly_dst)
{
	both_matrix(BAD_UNMAPPED, BAD_READONLY);
}
Test(boundary, copy_both_prot_none_src_sigbus_dst)
{
	both_matrix(BAD_PROT_NONE, BAD_SIGBUS);
}
Test(boundary, copy_both_sigbus_src_unmapped_dst)
{
	both_matrix(BAD_SIGBUS, BAD_UNMAPPED);
}

/* ---- large sizes: the vector loops and rep movsb/stosb running into a bad page ------------------ */

#define BIG (1u << 20)

/* Around every path's limit: the AVX-512 copy's 129..256 and loop, its rep threshold (32 KiB), AVX2's
 * (16 KiB), and memset's (512 KiB). */
static const size_t big_sizes[] = {300,   1000,  2047,  2048,  2049,   4096,  5000,
                                   16383, 16384, 32767, 32768, 524288, 65536, BIG};

/* Distances from the start to the bad page (only those <= the good part before it are used). */
static size_t big_dists(size_t n, size_t *out)
{
	static const size_t fixed[] = {0,    1,     15,    16,    31,     32,     33,     63,
	                               64,   65,    127,   128,   129,    159,    160,    161,
	                               1000, 2047,  2048,  2049,  4095,   4096,   4097,   8191,
	                               8193, 65535, 65536, 65537, 300000, 524288, 1048575};
	size_t k = 0;
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		if (fixed[i] <= n + 1)
			out[k++] = fixed[i];
	out[k++] = n - 1;
	out[k++] = n - 31;
	out[k++] = n - 32;
	out[k++] = n - 64;
	out[k++] = n - 65;
	out[k++] = n;
	return k;
}

/* Checks a large result: prefix, canaries after the count up to n + WINDOW and WINDOW before. */
static void check_big(struct zone *dz, char *dst, const char *src, int c, size_t n, size_t got, size_t want,
                      const struct safecopy_fault *f, const void *addr, enum bad_kind kind, const char *what)
{
	CHECK(got == want, "%s: n=%zu dst=%p: count %zu, want %zu", what, n, (void *)dst, got, want);
	if (want == n)
		check_fault_ok(f, what);
	else
		check_fault(f, kind_status(kind), addr, kind_signo(kind), kind_code(kind), what);
	if (src) {
		CHECK(memcmp(dst, src, got) == 0, "%s: n=%zu: copied bytes differ from src", what, n);
	} else {
		for (size_t i = 0; i < got; i++)
			CHECK((uint8_t)dst[i] == (uint8_t)c, "%s: n=%zu: dst[%zu] = %#x", what, n, i,
			      (uint8_t)dst[i]);
	}
	for (char *a = dst - WINDOW; a < dst + n + WINDOW; a++) {
		if (a == dst)
			a += got;
		if (!zone_readable(dz, a))
			continue;
		CHECK((uint8_t)*a == zone_fill_byte(dz, a),
		      "%s: n=%zu count=%zu: byte dst%+td changed to %#x", what, n, got, a - dst, (uint8_t)*a);
	}
	for (size_t i = 0; i < got; i++)
		dst[i] = (char)zone_fill_byte(dz, dst + i);
}

static void big_src(enum bad_kind kind)
{
	size_t pg = pgsz();
	struct zone s, d;
	zone_make(&s, BIG + 2 * pg, kind, true);
	zone_make(&d, BIG + 2 * pg, BAD_NONE, false);
	size_t dists[64];
	for (size_t si = 0; si < sizeof big_sizes / sizeof big_sizes[0]; si++) {
		size_t n = big_sizes[si];
		size_t nd = big_dists(n, dists);
		for (size_t di = 0; di < nd; di++) {
			for (size_t mis = 0; mis < 3; mis++) {
				size_t k = dists[di];
				const char *src = s.bad - k;
				char *dst = d.base + WINDOW + (mis == 0 ? 0 : mis == 1 ? 1 : 37);
				struct safecopy_fault f = fault_garbage();
				size_t got = safecopy_memcpy(dst, src, n, &f);
				check_big(&d, dst, src, 0, n, got, k < n ? k : n, &f, s.bad, kind,
				          "big copy, bad src");
			}
		}
	}
	zone_free(&s);
	zone_free(&d);
}

static void big_dst(enum bad_kind kind, bool is_copy)
{
	size_t pg = pgsz();
	struct zone s, d;
	zone_make(&s, BIG + 2 * pg, BAD_NONE, true);
	zone_make(&d, BIG + 2 * pg, kind, false);
	size_t dists[64];
	const int c = 0x11;
	for (size_t si = 0; si < sizeof big_sizes / sizeof big_sizes[0]; si++) {
		size_t n = big_sizes[si];
		size_t nd = big_dists(n, dists);
		for (size_t di = 0; di < nd; di++) {
			for (size_t mis = 0; mis < 3; mis++) {
				size_t k = dists[di];
				char *dst = d.bad - k;
				const char *src = is_copy ? s.base + WINDOW +
				                                (mis == 0   ? 0
				                                 : mis == 1 ? 3
				                                            : 45)
				                          : NULL;
				struct safecopy_fault f = fault_garbage();
				size_t got = is_copy ? safecopy_memcpy(dst, src, n, &f)
				                     : safecopy_memset(dst, c, n, &f);
				check_big(&d, dst, src, c, n, got, k < n ? k : n, &f, d.bad, kind,
				          is_copy ? "big copy, bad dst" : "big memset");
				if (!is_copy)
					break; /* memset has no src alignment to vary */
			}
		}
	}
	zone_check_bad_page_untouched(&d);
	zone_free(&s);
	zone_free(&d);
}

static void big_both(enum bad_kind skind, enum bad_kind dkind)
{
	size_t pg = pgsz();
	struct zone s, d;
	zone_make(&s, BIG + 2 * pg, skind, true);
	zone_make(&d, BIG + 2 * pg, dkind, false);
	static const size_t pairs[][2] = {{40, 20},       {20, 40},       {4096, 4000},   {4000, 4096},
	                                  {65536, 65537}, {65537, 65536}, {BIG, BIG - 1}, {BIG - 1, BIG},
	                                  {3000, 2999},   {2048, 2049}};
	static const size_t sizes[] = {2047, 2048, 8192, 70000, BIG};
	for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
		size_t n = sizes[si];
		for (size_t pi = 0; pi < sizeof pairs / sizeof pairs[0]; pi++) {
			size_t a = pairs[pi][0], b = pairs[pi][1];
			const char *src = s.bad - a;
			char *dst = d.bad - b;
			struct safecopy_fault f = fault_garbage();
			size_t got = safecopy_memcpy(dst, src, n, &f);
			size_t stop = a < b ? a : b;
			if (stop >= n)
				check_big(&d, dst, src, 0, n, got, n, &f, NULL, BAD_NONE,
				          "big copy, both bad");
			else if (a < b)
				check_big(&d, dst, src, 0, n, got, a, &f, s.bad, skind,
				          "big copy, both bad (src first)");
			else
				check_big(&d, dst, src, 0, n, got, b, &f, d.bad, dkind,
				          "big copy, both bad (dst first)");
		}
	}
	zone_free(&s);
	zone_free(&d);
}

Test(boundary, big_copy_src_unmapped)
{
	big_src(BAD_UNMAPPED);
}
Test(boundary, big_copy_src_prot_none)
{
	big_src(BAD_PROT_NONE);
}
Test(boundary, big_copy_src_truncated_memfd_sigbus)
{
	big_src(BAD_SIGBUS);
}
Test(boundary, big_copy_dst_unmapped)
{
	big_dst(BAD_UNMAPPED, true);
}
Test(boundary, big_copy_dst_readonly)
{
	big_dst(BAD_READONLY, true);
}
Test(boundary, big_copy_dst_truncated_memfd_sigbus)
{
	big_dst(BAD_SIGBUS, true);
}
Test(boundary, big_memset_prot_none)
{
	big_dst(BAD_PROT_NONE, false);
}
Test(boundary, big_memset_unmapped)
{
	big_dst(BAD_UNMAPPED, false);
}
Test(boundary, big_memset_truncated_memfd_sigbus)
{
	big_dst(BAD_SIGBUS, false);
}
Test(boundary, big_copy_both_unmapped_src_prot_none_dst)
{
	big_both(BAD_UNMAPPED, BAD_PROT_NONE);
}
Test(boundary, big_copy_both_sigbus_src_readonly_dst)
{
	big_both(BAD_SIGBUS, BAD_READONLY);
}

/* memset stores (unsigned char)c, whatever int it is given. */
Test(boundary, memset_value_is_truncated_to_a_byte)
{
	size_t pg = pgsz();
	struct zone d;
	zone_make(&d, pg, BAD_PROT_NONE, false);
	static const int values[] = {0, 0x7f, 0x80, 0xff, -1, 0x1ab, -0x55, 0x12345678};
	static const size_t sizes[] = {1, 3, 8, 31, 33, 100, 2048, 3000};
	for (size_t vi = 0; vi < sizeof values / sizeof values[0]; vi++) {
		for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
			size_t n = sizes[si];
			char *dst = d.bad - n + 1; /* the last byte is in the bad page */
			struct safecopy_fault f = fault_garbage();
			size_t got = safecopy_memset(dst, values[vi], n, &f);
			CHECK(got == n - 1, "value %#x n=%zu: count %zu", values[vi], n, got);
			check_fault(&f, SAFECOPY_SEGV, d.bad, SIGSEGV, SEGV_ACCERR, "memset value");
			for (size_t i = 0; i < got; i++)
				CHECK((uint8_t)dst[i] == (uint8_t)values[vi],
				      "value %#x n=%zu: dst[%zu] = %#x", values[vi], n, i, (uint8_t)dst[i]);
			for (size_t i = 0; i < got; i++)
				dst[i] = (char)zone_fill_byte(&d, dst + i);
		}
	}
	zone_check_bad_page_untouched(&d);
	zone_free(&d);
}

/*
 * Random cases between the exhaustive small matrix and the large sizes: n up to 5000 (every copy and
 * memset path), the bad byte of src and/or dst at any distance, every kind, any alignment.
 * Deterministic (fixed seed), so a failure reproduces.
 */
static uint64_t fuzz_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void random_cases(void)
{
	size_t pg = pgsz();
	const size_t before = 3 * pg;
	static const enum bad_kind kinds[] = {BAD_NONE, BAD_UNMAPPED, BAD_PROT_NONE, BAD_READONLY,
	                                      BAD_SIGBUS};
	struct zone s[5], d[5];
	for (int i = 0; i < 5; i++) {
		zone_make(&s[i], before, kinds[i], true);
		zone_make(&d[i], before, kinds[i], false);
	}
	uint64_t seed = 0x243f6a8885a308d3ull;
	for (int iter = 0; iter < 30000; iter++) {
		uint64_t x = fuzz_next(&seed), y = fuzz_next(&seed);
		size_t n = 1 + x % 5000;
		int sk = (int)((x >> 20) % 5), dk = (int)((x >> 24) % 5);
		bool is_copy = (x >> 28) % 4 != 0;
		/* Distance from the start to the zone's bad page, up to a little past n. */
		size_t a = (y % (n + 65)), b = ((y >> 16) % (n + 65));
		if (a > before - 64)
			a = before - 64;
		if (b > before - 64)
			b = before - 64;
		bool src_bad =
		    kinds[sk] != BAD_NONE && kinds[sk] != BAD_READONLY; /* a readable src is never bad */
		bool dst_bad = kinds[dk] != BAD_NONE;
		const char *src = is_copy ? s[sk].bad - a : NULL;
		char *dst = d[dk].bad - b;
		size_t sa = is_copy && src_bad ? a : SIZE_MAX, db = dst_bad ? b : SIZE_MAX;
		struct expect e;
		size_t stop = sa < db ? sa : db;
		if (stop >= n)
			expect_full(&e, n);
		else if (sa <= db) /* a tie is reported on the src side */
			expect_stop(&e, sa, s[sk].bad, kinds[sk]);
		else
			expect_stop(&e, db, d[dk].bad, kinds[dk]);
		char what[96];
		snprintf(what, sizeof what, "random case %d (%s src=%s, dst=%s)", iter,
		         is_copy ? "copy" : "memset", kind_name(kinds[sk]), kind_name(kinds[dk]));
		run_case(&d[dk], dst, src, 0x2d, n, &e, what);
	}
	for (int i = 0; i < 5; i++) {
		zone_check_bad_page_untouched(&d[i]);
		zone_free(&s[i]);
		zone_free(&d[i]);
	}
}

Test(boundary, random_sizes_and_distances)
{
	random_cases();
}

/*
 * Every destination alignment against a few source ones, for the sizes of every vector path: the
 * AVX-512 loops align their stores to the destination's lines after the first block, so each
 * alignment gives another sequence of blocks. The bad page is half-way in, on one side, then the other.
 */
static void alignment_mix(void)
{
	static const size_t sizes[] = {65,  127, 128, 129, 192, 193,  255, 256,
	                               257, 300, 511, 512, 700, 1500, 4100};
	static const size_t src_offs[] = {0, 1, 31, 32, 63};
	size_t pg = pgsz();
	struct zone s, d, sb, db;
	zone_make(&s, 4 * pg, BAD_NONE, true);
	zone_make(&d, 4 * pg, BAD_NONE, false);
	zone_make(&sb, 4 * pg, BAD_PROT_NONE, true);
	zone_make(&db, 4 * pg, BAD_READONLY, false);
	for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
		size_t n = sizes[si], k = n / 2;
		for (size_t da = 0; da < 64; da++) {
			for (size_t oi = 0; oi < sizeof src_offs / sizeof src_offs[0]; oi++) {
				struct safecopy_fault f = fault_garbage();
				char *dst = d.base + 2 * WINDOW + da;
				const char *src = s.base + 2 * WINDOW + src_offs[oi];
				check_big(&d, dst, src, 0, n, safecopy_memcpy(dst, src, n, &f), n, &f, NULL,
				          BAD_NONE, "aligned copy");
				src = sb.bad - k - src_offs[oi];
				size_t want = k + src_offs[oi] < n ? k + src_offs[oi] : n;
				check_big(&d, dst, src, 0, n, safecopy_memcpy(dst, src, n, &f), want, &f,
				          sb.bad, BAD_PROT_NONE, "aligned copy, bad src");
				dst = db.bad - k + da - 64 * (da > k);
				src = s.base + 2 * WINDOW + src_offs[oi];
				want = (size_t)(db.bad - dst);
				check_big(&db, dst, src, 0, n, safecopy_memcpy(dst, src, n, &f), want, &f,
				          db.bad, BAD_READONLY, "aligned copy, bad dst");
				check_big(&db, dst, NULL, 0x6b, n, safecopy_memset(dst, 0x6b, n, &f), want,
				          &f, db.bad, BAD_READONLY, "aligned memset");
			}
		}
	}
	zone_check_bad_page_untouched(&db);
	zone_free(&s);
	zone_free(&d);
	zone_free(&sb);
	zone_free(&db);
}

Test(boundary, every_destination_alignment)
{
	alignment_mix();
}

/*
 * The lower vector levels (CPUs without AVX-512, without AVX2) are chosen by hidden flags of the
 * library, reachable only from the static binary (tests/SConscript defines SAFECOPY_TEST_INTERNALS
 * there): the same matrices again at each level, so every path of this CPU's library is checked here.
 */
#ifdef SAFECOPY_TEST_INTERNALS
#include "levels.h"

/* One test: `call` at vector level `level`. */
#define LEVEL_TEST(level, name, call) \
	Test(boundary, name)          \
	{                             \
		force_level(level);   \
		call;                 \
	}
#define LEVEL_TESTS(prefix, level)                                                     \
	LEVEL_TEST(level, prefix##_copy_src_prot_none, src_matrix(BAD_PROT_NONE))      \
	LEVEL_TEST(level, prefix##_copy_dst_sigbus, dst_matrix(BAD_SIGBUS, true))      \
	LEVEL_TEST(level, prefix##_memset_readonly, dst_matrix(BAD_READONLY, false))   \
	LEVEL_TEST(level, prefix##_copy_both, both_matrix(BAD_UNMAPPED, BAD_READONLY)) \
	LEVEL_TEST(level, prefix##_big_copy_src, big_src(BAD_UNMAPPED))                \
	LEVEL_TEST(level, prefix##_big_copy_dst, big_dst(BAD_READONLY, true))          \
	LEVEL_TEST(level, prefix##_big_memset, big_dst(BAD_PROT_NONE, false))          \
	LEVEL_TEST(level, prefix##_every_destination_alignment, alignment_mix())       \
	LEVEL_TEST(level, prefix##_random_sizes_and_distances, random_cases())

LEVEL_TESTS(sse2, SC_CPU_SSE2)
LEVEL_TESTS(avx2, SC_CPU_AVX2)

/*
 * The non-temporal copies (asm/copy_nt.asm) for every size that reaches them, whatever sizes this CPU
 * chose for them (none on an AMD): the large matrices, from each level's rep threshold (16 KiB at
 * AVX2, 32 KiB at AVX-512) to 1 MiB, at AVX-512 and AVX2.
 */
static void non_temporal_from_the_rep_threshold(void)
{
	sc_copy_nt_above = 0;
}
#define NT_TEST(level, name, call)                     \
	LEVEL_TEST(level, name, {                      \
		non_temporal_from_the_rep_threshold(); \
		call;                                  \
	})
#define NT_TESTS(prefix, level)                                                     \
	NT_TEST(level, prefix##_big_copy_src_unmapped, big_src(BAD_UNMAPPED))       \
	NT_TEST(level, prefix##_big_copy_src_sigbus, big_src(BAD_SIGBUS))           \
	NT_TEST(level, prefix##_big_copy_dst_readonly, big_dst(BAD_READONLY, true)) \
	NT_TEST(level, prefix##_big_copy_dst_unmapped, big_dst(BAD_UNMAPPED, true)) \
	NT_TEST(level, prefix##_big_copy_dst_sigbus, big_dst(BAD_SIGBUS, true))     \
	NT_TEST(level, prefix##_big_copy_both, big_both(BAD_UNMAPPED, BAD_PROT_NONE))

NT_TESTS(non_temporal_avx512, SC_CPU_AVX512)
NT_TESTS(non_temporal_avx2, SC_CPU_AVX2)
#endif

/*
 * DESIGN: "one signal per faulting call" when only one side is bad (the short re-run before the
 * fault cannot fault). Counted through a handler that owns SIGSEGV/SIGBUS and forwards with
 * safecopy_handle_signal().
 */
static volatile sig_atomic_t own_signals;

static void counting_owner(int sig, siginfo_t *info, void *uc)
{
	if (safecopy_handle_signal(sig, info, uc))
		own_signals++;
	else
		abort();
}

static void one_signal(enum bad_kind kind, bool src_side, bool is_copy)
{
	size_t pg = pgsz();
	struct zone s, d;
	zone_make(&s, 2 * pg, src_side ? kind : BAD_NONE, true);
	zone_make(&d, 2 * pg, src_side ? BAD_NONE : kind, false);
	cr_assert_eq(safecopy_init(), 0);
	cr_assert_eq(set_action(SIGSEGV, counting_owner, NULL, SA_SIGINFO | SA_NODEFER), 0);
	cr_assert_eq(set_action(SIGBUS, counting_owner, NULL, SA_SIGINFO | SA_NODEFER), 0);
	static const size_t sizes[] = {1,  2,  5,   8,   13,  16,   31,   32,   33,
	                               64, 65, 100, 128, 200, 1000, 2047, 2048, 5000};
	for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
		size_t n = sizes[si];
		for (size_t k = 0; k < n && k <= 2 * pg; k += 1 + k / 3) {
			const char *src = src_side ? s.bad - k : s.base + 64;
			char *dst = src_side ? d.base + 64 : d.bad - k;
			own_signals = 0;
			size_t got =
			    is_copy ? safecopy_memcpy(dst, src, n, NULL) : safecopy_memset(dst, 1, n, NULL);
			CHECK(got == k, "n=%zu k=%zu: count %zu", n, k, got);
			CHECK(own_signals == 1,
			      "n=%zu k=%zu (%s, %s side, %s): %d signals for one faulting call", n, k,
			      kind_name(kind), src_side ? "src" : "dst", is_copy ? "copy" : "memset",
			      (int)own_signals);
			for (size_t i = 0; i < got; i++)
				dst[i] = (char)zone_fill_byte(&d, dst + i);
		}
	}
	zone_free(&s);
	zone_free(&d);
}

Test(boundary, one_signal_per_fault_copy_src)
{
	one_signal(BAD_PROT_NONE, true, true);
}
Test(boundary, one_signal_per_fault_copy_dst)
{
	one_signal(BAD_READONLY, false, true);
}
Test(boundary, one_signal_per_fault_copy_sigbus)
{
	one_signal(BAD_SIGBUS, true, true);
}
Test(boundary, one_signal_per_fault_memset)
{
	one_signal(BAD_UNMAPPED, false, false);
}
