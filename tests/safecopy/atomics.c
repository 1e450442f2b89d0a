/*
 * The 20 atomics: exact results on good memory (CAS hit and miss, wrap-around, neighbours untouched),
 * every kind of bad memory (fault.addr == p, outputs not written), misaligned pointers (SAFECOPY_ALIGN
 * with no access, proven with guard pages), and atomicity under contention.
 */
#include <pthread.h>

#include "harness.h"

enum op { OP_LOAD, OP_STORE, OP_SWAP, OP_CAS, OP_ADD, OP_AND, OP_OR, OP_XOR, OP_COUNT };
static const char *const op_names[] = {"load",      "store",     "swap",     "cas",
                                       "fetch_add", "fetch_and", "fetch_or", "fetch_xor"};

static bool op_has_output(enum op op)
{
	return op != OP_STORE;
}

/*
 * The three ways to call an atomic: the header's inline definition (what an optimised caller gets),
 * the exported function (a call through its address: builds without inlining, function pointers) and
 * the register-result form safecopy_atomic_<op><W> called directly. Each Test picks one.
 */
enum form { FORM_INLINE, FORM_EXPORTED, FORM_RESULT };
static enum form form;

/* p, with the compiler unable to see where it points: a call through it is never inlined. */
static void *opaque(void *p)
{
	__asm__ volatile("" : "+r"(p));
	return p;
}

/* fn(args) in the current form (FORM_INLINE or FORM_EXPORTED). */
#define CALL(fn, ...) \
	(form == FORM_EXPORTED ? ((__typeof__(&fn))opaque((void *)&fn))(__VA_ARGS__) : fn(__VA_ARGS__))

/* The register-result form of op at width w. For OP_CAS, v is desired. */
static struct safecopy_atomic_result call_result(int w, enum op op, void *p, uint64_t v, uint64_t expected,
                                                 struct safecopy_fault *f)
{
	uint32_t *q = p, v32 = (uint32_t)v, e32 = (uint32_t)expected;
	uint64_t *r = p;
	switch (op) {
	case OP_LOAD:
		return w == 32 ? safecopy_atomic_load32(q, f) : safecopy_atomic_load64(r, f);
	case OP_STORE:
		return w == 32 ? safecopy_atomic_store32(q, v32, f) : safecopy_atomic_store64(r, v, f);
	case OP_SWAP:
		return w == 32 ? safecopy_atomic_swap32(q, v32, f) : safecopy_atomic_swap64(r, v, f);
	case OP_CAS:
		return w == 32 ? safecopy_atomic_cas32(q, e32, v32, f)
		               : safecopy_atomic_cas64(r, expected, v, f);
	case OP_ADD:
		return w == 32 ? safecopy_atomic_fetch_add32(q, v32, f)
		               : safecopy_atomic_fetch_add64(r, v, f);
	case OP_AND:
		return w == 32 ? safecopy_atomic_fetch_and32(q, v32, f)
		               : safecopy_atomic_fetch_and64(r, v, f);
	case OP_OR:
		return w == 32 ? safecopy_atomic_fetch_or32(q, v32, f) : safecopy_atomic_fetch_or64(r, v, f);
	case OP_XOR:
		return w == 32 ? safecopy_atomic_fetch_xor32(q, v32, f)
		               : safecopy_atomic_fetch_xor64(r, v, f);
	default:
		break;
	}
	cr_assert_fail("bad op");
	return (struct safecopy_atomic_result){0, 0};
}

/*
 * The register-result form held to the contract of the functions with outputs, which the suite
 * checks: its own differences are checked here. On success it leaves the record as it was (the
 * caller clears it: done here to match); a store's value and a 32-bit value's high half are 0.
 */
static enum safecopy_status via_result(int w, enum op op, void *p, uint64_t v, uint64_t expected, void *out,
                                       struct safecopy_fault *f)
{
	struct safecopy_fault before;
	if (f)
		before = *f;
	struct safecopy_atomic_result r = call_result(w, op, p, v, expected, f);
	if (r.status != SAFECOPY_OK)
		return (enum safecopy_status)r.status;
	if (f)
		CHECK(memcmp(f, &before, sizeof before) == 0,
		      "%s%d: the result form wrote the record on success", op_names[op], w);
	if (op == OP_STORE)
		CHECK(r.value == 0, "store%d: value %#lx, want 0", w, r.value);
	else if (w == 32)
		memcpy(out, &(uint32_t){(uint32_t)r.value}, 4);
	else
		memcpy(out, &r.value, 8);
	CHECK(w == 64 || r.value >> 32 == 0, "%s32: value %#lx is not zero-extended", op_names[op], r.value);
	return safecopy_atomic_status(r, f);
}

/* Calls the width-w (32 or 64) version of op in the current form. For OP_CAS, v is desired. out is a
 * uint32_t* or uint64_t*. */
static enum safecopy_status call_op(int w, enum op op, void *p, uint64_t v, uint64_t expected, void *out,
                                    struct safecopy_fault *f)
{
	if (form == FORM_RESULT)
		return via_result(w, op, p, v, expected, out, f);
	if (w == 32) {
		uint32_t *q = p, *o = out, v32 = (uint32_t)v;
		switch (op) {
		case OP_LOAD:
			return CALL(safecopy_load32, q, o, f);
		case OP_STORE:
			return CALL(safecopy_store32, q, v32, f);
		case OP_SWAP:
			return CALL(safecopy_swap32, q, v32, o, f);
		case OP_CAS:
			return CALL(safecopy_cas32, q, (uint32_t)expected, v32, o, f);
		case OP_ADD:
			return CALL(safecopy_fetch_add32, q, v32, o, f);
		case OP_AND:
			return CALL(safecopy_fetch_and32, q, v32, o, f);
		case OP_OR:
			return CALL(safecopy_fetch_or32, q, v32, o, f);
		case OP_XOR:
			return CALL(safecopy_fetch_xor32, q, v32, o, f);
		default:
			break;
		}
	} else {
		uint64_t *q = p, *o = out;
		switch (op) {
		case OP_LOAD:
			return CALL(safecopy_load64, q, o, f);
		case OP_STORE:
			return CALL(safecopy_store64, q, v, f);
		case OP_SWAP:
			return CALL(safecopy_swap64, q, v, o, f);
		case OP_CAS:
			return CALL(safecopy_cas64, q, expected, v, o, f);
		case OP_ADD:
			return CALL(safecopy_fetch_add64, q, v, o, f);
		case OP_AND:
			return CALL(safecopy_fetch_and64, q, v, o, f);
		case OP_OR:
			return CALL(safecopy_fetch_or64, q, v, o, f);
		case OP_XOR:
			return CALL(safecopy_fetch_xor64, q, v, o, f);
		default:
			break;
		}
	}
	cr_assert_fail("bad op");
	return SAFECOPY_OK;
}

/* The reference: the new value of *p and the output, for old value x. */
static void model(int w, enum op op, uint64_t x, uint64_t v, uint64_t expected, uint64_t *newx, uint64_t *out)
{
	uint64_t mask = w == 32 ? 0xffffffffu : UINT64_MAX;
	x &= mask;
	v &= mask;
	expected &= mask;
	*out = x;
	switch (op) {
	case OP_LOAD:
		*newx = x;
		break;
	case OP_STORE:
	case OP_SWAP:
		*newx = v;
		break;
	case OP_CAS:
		*newx = x == expected ? v : x;
		break;
	case OP_ADD:
		*newx = (x + v) & mask;
		break;
	case OP_AND:
		*newx = x & v;
		break;
	case OP_OR:
		*newx = x | v;
		break;
	case OP_XOR:
		*newx = x ^ v;
		break;
	default:
		break;
	}
}

static uint64_t read_w(int w, const void *p)
{
	return w == 32 ? *(const volatile uint32_t *)p : *(const volatile uint64_t *)p;
}

static void write_w(int w, void *p, uint64_t x)
{
	if (w == 32)
		*(volatile uint32_t *)p = (uint32_t)x;
	else
		*(volatile uint64_t *)p = x;
}

#define OUT_CANARY 0xc5c5c5c5c5c5c5c5ull

static uint64_t out_value(int w, const uint64_t *out)
{
	if (w == 32) {
		uint32_t o;
		memcpy(&o, out, sizeof o);
		return o;
	}
	return *out;
}

static const uint64_t values[] = {0,
                                  1,
                                  2,
                                  0x7fffffffu,
                                  0x80000000u,
                                  0xffffffffu,
                                  0x100000000ull,
                                  0x0123456789abcdefull,
                                  0xdeadbeefcafebabeull,
                                  0x8000000000000000ull,
                                  UINT64_MAX};
#define NVALUES (sizeof values / sizeof values[0])

static void good_memory(int w)
{
	size_t pg = pgsz();
	char *page = map_anon(pg, PROT_READ | PROT_WRITE);
	size_t offsets[] = {0, 8, 64, pg - 8, pg - (size_t)w / 8};
	for (size_t oi = 0; oi < sizeof offsets / sizeof offsets[0]; oi++) {
		char *p = page + offsets[oi];
		for (enum op op = 0; op < OP_COUNT; op++) {
			for (size_t xi = 0; xi < NVALUES; xi++) {
				for (size_t vi = 0; vi < NVALUES; vi++) {
					for (int hit = 0; hit < 2; hit++) {
						if (hit && op != OP_CAS)
							continue;
						for (size_t i = 0; i < pg; i++)
							page[i] = (char)canary(i);
						uint64_t x = values[xi], v = values[vi];
						/* CAS: expected equals the current value (hit) or differs in
						 * one bit (miss). */
						uint64_t expected =
						    hit ? x : x ^ (1ull << (vi % (unsigned)w));
						write_w(w, p, x);
						uint64_t newx, want_out, out = OUT_CANARY;
						model(w, op, x, v, expected, &newx, &want_out);
						struct safecopy_fault f = fault_garbage();
						struct safecopy_fault *fp = (xi + vi) % 5 == 0 ? NULL : &f;
						enum safecopy_status st =
						    call_op(w, op, p, v, expected, &out, fp);
						CHECK(st == SAFECOPY_OK, "%s%d x=%#lx v=%#lx: status %d",
						      op_names[op], w, x, v, st);
						if (fp)
							check_fault_ok(fp, op_names[op]);
						CHECK(read_w(w, p) == newx,
						      "%s%d x=%#lx v=%#lx exp=%#lx: *p = %#lx, want %#lx",
						      op_names[op], w, x, v, expected, read_w(w, p), newx);
						if (op_has_output(op))
							CHECK(out_value(w, &out) == want_out,
							      "%s%d x=%#lx v=%#lx: output %#lx, want %#lx",
							      op_names[op], w, x, v, out_value(w, &out),
							      want_out);
						else
							CHECK(out == OUT_CANARY, "store wrote an output?");
						if (w == 32 && op_has_output(op))
							CHECK(out >> 32 == OUT_CANARY >> 32,
							      "%s32 wrote more than 4 bytes of its output",
							      op_names[op]);
						for (size_t i = 0; i < pg; i++) {
							if (page + i >= p && page + i < p + w / 8)
								continue;
							CHECK((uint8_t)page[i] == canary(i),
							      "%s%d changed byte %+td next to p",
							      op_names[op], w, page + i - p);
						}
					}
				}
			}
		}
	}
	munmap(page, pg);
}

Test(atomics, good_memory_32)
{
	good_memory(32);
}
Test(atomics, good_memory_64)
{
	good_memory(64);
}

/* CAS miss: no write, *actual = the current value; CAS hit: the swap happened. */
Test(atomics, cas_hit_and_miss_explicit)
{
	uint64_t *p64 = map_anon(pgsz(), PROT_READ | PROT_WRITE);
	uint32_t *p32 = (uint32_t *)(p64 + 4);
	struct safecopy_fault f = fault_garbage();
	uint32_t a32 = 0;
	uint64_t a64 = 0;
	*p32 = 10;
	cr_assert_eq(safecopy_cas32(p32, 11, 99, &a32, &f), SAFECOPY_OK);
	cr_assert_eq(a32, 10);
	cr_assert_eq(*p32, 10);
	cr_assert_eq(f.status, SAFECOPY_OK);
	cr_assert_eq(safecopy_cas32(p32, 10, 99, &a32, &f), SAFECOPY_OK);
	cr_assert_eq(a32, 10);
	cr_assert_eq(*p32, 99);
	*p64 = 0xffffffff00000000ull;
	/* Expected equal in the low 32 bits only: a 64-bit CAS must miss. */
	cr_assert_eq(safecopy_cas64(p64, 0, 5, &a64, &f), SAFECOPY_OK);
	cr_assert_eq(a64, 0xffffffff00000000ull);
	cr_assert_eq(*p64, 0xffffffff00000000ull);
	cr_assert_eq(safecopy_cas64(p64, 0xffffffff00000000ull, 5, &a64, &f), SAFECOPY_OK);
	cr_assert_eq(a64, 0xffffffff00000000ull);
	cr_assert_eq(*p64, 5);
	munmap(p64, pgsz());
}

/* Every op on every kind of bad page: the status, the record, no output written, memory unchanged. */
static void bad_memory(int w, enum bad_kind kind)
{
	size_t pg = pgsz();
	struct zone z;
	zone_make(&z, pg, kind, false);
	size_t offsets[] = {0, 8, 136, pg - (size_t)w / 8};
	for (size_t oi = 0; oi < sizeof offsets / sizeof offsets[0]; oi++) {
		char *p = z.bad + offsets[oi];
		for (enum op op = 0; op < OP_COUNT; op++) {
			for (int hit = 0; hit < 2; hit++) {
				uint64_t current = kind == BAD_READONLY ? read_w(w, p) : 0;
				uint64_t expected = hit ? current : current + 1;
				uint64_t out = OUT_CANARY;
				struct safecopy_fault f = fault_garbage();
				enum safecopy_status st =
				    call_op(w, op, p, 0x5a5a5a5a5a5a5a5aull, expected, &out, &f);
				CHECK(st == f.status, "%s%d: returned %d but recorded %d", op_names[op], w,
				      st, f.status);
				if (kind == BAD_READONLY && op == OP_LOAD) {
					check_fault_ok(&f, "load of read-only memory");
					CHECK(out_value(w, &out) == current,
					      "load%d of read-only memory: %#lx, want %#lx", w,
					      out_value(w, &out), current);
					continue;
				}
				check_fault(&f, kind_status(kind), p, kind_signo(kind), kind_code(kind),
				            op_names[op]);
				CHECK(out == OUT_CANARY, "%s%d on %s memory wrote its output: %#lx",
				      op_names[op], w, kind_name(kind), out);
				if (kind == BAD_READONLY)
					CHECK(read_w(w, p) == current, "%s%d changed read-only memory",
					      op_names[op], w);
				/* And without a fault record. */
				out = OUT_CANARY;
				st = call_op(w, op, p, 1, expected, &out, NULL);
				CHECK(st == kind_status(kind), "%s%d (fault NULL): status %d", op_names[op],
				      w, st);
				CHECK(out == OUT_CANARY, "%s%d (fault NULL) wrote its output", op_names[op],
				      w);
			}
		}
	}
	zone_check_bad_page_untouched(&z);
	zone_free(&z);
}

Test(atomics, unmapped_32)
{
	bad_memory(32, BAD_UNMAPPED);
}
Test(atomics, unmapped_64)
{
	bad_memory(64, BAD_UNMAPPED);
}
Test(atomics, prot_none_32)
{
	bad_memory(32, BAD_PROT_NONE);
}
Test(atomics, prot_none_64)
{
	bad_memory(64, BAD_PROT_NONE);
}
Test(atomics, readonly_32)
{
	bad_memory(32, BAD_READONLY);
}
Test(atomics, readonly_64)
{
	bad_memory(64, BAD_READONLY);
}
Test(atomics, truncated_memfd_sigbus_32)
{
	bad_memory(32, BAD_SIGBUS);
}
Test(atomics, truncated_memfd_sigbus_64)
{
	bad_memory(64, BAD_SIGBUS);
}

/*
 * Misaligned pointers: SAFECOPY_ALIGN and no access at all. Proofs: a pointer straddling into a
 * PROT_NONE guard page (any access would fault: SAFECOPY_SEGV), a misaligned pointer into an
 * unmapped page, and misaligned good memory left unchanged.
 */
static void misaligned(int w)
{
	size_t pg = pgsz();
	struct zone z;
	zone_make(&z, pg, BAD_PROT_NONE, false);
	struct zone u;
	zone_make(&u, pg, BAD_UNMAPPED, false);
	size_t bytes = (size_t)w / 8;
	for (size_t mis = 1; mis < bytes; mis++) {
		char *cases[] = {
		    z.bad - bytes + mis, /* straddles into the guard page */
		    u.bad + mis,         /* in an unmapped page */
		    z.base + 256 + mis,  /* good memory */
		    z.bad - 1,           /* the last good byte */
		};
		for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
			char *p = cases[ci];
			for (enum op op = 0; op < OP_COUNT; op++) {
				uint64_t out = OUT_CANARY;
				struct safecopy_fault f = fault_garbage();
				enum safecopy_status st = call_op(w, op, p, 0, 0, &out, &f);
				CHECK(st == SAFECOPY_ALIGN, "%s%d at p%%%zu=%zu (case %zu): status %d (%s)",
				      op_names[op], w, bytes, (uintptr_t)p % bytes, ci, st,
				      safecopy_status_name(st));
				CHECK(f.status == SAFECOPY_ALIGN && f.signo == 0 && f.code == 0,
				      "%s%d misaligned: record {%d %p %d %d}", op_names[op], w, f.status,
				      f.addr, f.signo, f.code);
				/* The implementation reports p; the header only promises addr for faults. */
				CHECK(f.addr == p, "%s%d misaligned: addr %p, p %p", op_names[op], w, f.addr,
				      (void *)p);
				CHECK(out == OUT_CANARY, "%s%d misaligned wrote its output", op_names[op], w);
				st = call_op(w, op, p, 0, 0, &out, NULL);
				CHECK(st == SAFECOPY_ALIGN, "%s%d misaligned, fault NULL: %d", op_names[op],
				      w, st);
			}
		}
	}
	for (char *a = z.base; a < z.bad; a++)
		CHECK((uint8_t)*a == zone_fill_byte(&z, a), "misaligned atomics changed byte %td",
		      a - z.base);
	zone_check_bad_page_untouched(&z);
	zone_free(&z);
	zone_free(&u);
}

Test(atomics, misaligned_32)
{
	misaligned(32);
}
Test(atomics, misaligned_64)
{
	misaligned(64);
}

/* ---- atomicity under contention: exact totals --------------------------------------------------- */

#define THREADS 4
#define ROUNDS  20000

struct shared_words {
	uint32_t add32;
	uint32_t pad0;
	uint64_t add64;
	uint32_t or32;
	uint32_t xor32;
	uint64_t and64;
	uint64_t cas64;
	uint64_t swap64;
};

struct contender {
	struct shared_words *w;
	int id;
	int errors;
	uint64_t swaps_seen;
};

static void *contend(void *arg)
{
	struct contender *c = arg;
	struct shared_words *w = c->w;
	uint32_t o32 = 0;
	uint64_t o64 = 0;
	for (int i = 0; i < ROUNDS; i++) {
		c->errors += safecopy_fetch_add32(&w->add32, 1, &o32, NULL) != SAFECOPY_OK;
		c->errors += safecopy_fetch_add64(&w->add64, 0x100000001ull, &o64, NULL) != SAFECOPY_OK;
		/* Each thread sets and then clears its own bit of or32 (via xor): the bit must toggle each
		 * time. */
		c->errors += safecopy_fetch_or32(&w->or32, 1u << c->id, &o32, NULL) != SAFECOPY_OK;
		c->errors += (o32 & (1u << c->id)) != 0;
		c->errors += safecopy_fetch_xor32(&w->or32, 1u << c->id, &o32, NULL) != SAFECOPY_OK;
		c->errors += (o32 & (1u << c->id)) == 0;
		c->errors += safecopy_fetch_xor32(&w->xor32, 1u << (c->id + 8), &o32, NULL) != SAFECOPY_OK;
		/* Clear one of this thread's 16 bits of and64 per round (round-robin over 16 bits). */
		if (i < 16)
			c->errors += safecopy_fetch_and64(&w->and64, ~(1ull << (c->id * 16 + i)), &o64,
			                                  NULL) != SAFECOPY_OK;
		/* A CAS increment loop. */
		uint64_t cur = 0;
		c->errors += safecopy_load64(&w->cas64, &cur, NULL) != SAFECOPY_OK;
		for (;;) {
			uint64_t actual = 0;
			c->errors += safecopy_cas64(&w->cas64, cur, cur + 1, &actual, NULL) != SAFECOPY_OK;
			if (actual == cur)
				break;
			cur = actual;
		}
		c->errors += safecopy_swap64(&w->swap64, (uint64_t)c->id << 32 | (uint64_t)i, &o64, NULL) !=
		             SAFECOPY_OK;
		c->swaps_seen++;
	}
	return NULL;
}

Test(atomics, exact_totals_under_contention)
{
	struct shared_words *w = map_anon(pgsz(), PROT_READ | PROT_WRITE);
	w->and64 = UINT64_MAX;
	pthread_t t[THREADS];
	struct contender c[THREADS];
	for (int i = 0; i < THREADS; i++) {
		c[i] = (struct contender){.w = w, .id = i};
		cr_assert_eq(pthread_create(&t[i], NULL, contend, &c[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(c[i].errors, 0, "thread %d saw %d errors", i, c[i].errors);
	}
	cr_assert_eq(w->add32, (uint32_t)(THREADS * ROUNDS));
	cr_assert_eq(w->add64, (uint64_t)THREADS * ROUNDS * 0x100000001ull);
	cr_assert_eq(w->or32, 0);
	cr_assert_eq(w->xor32, 0, "xor32 = %#x (each bit toggled an even number of times)", w->xor32);
	cr_assert_eq(w->and64, 0, "and64 = %#lx", w->and64);
	cr_assert_eq(w->cas64, (uint64_t)THREADS * ROUNDS);
	cr_assert_eq(w->swap64 & 0xffffffffu, ROUNDS - 1, "last swap stored round %lu",
	             w->swap64 & 0xffffffffu);
	munmap(w, pgsz());
}

/* The same checks on the exported functions and on the register-result forms. */
#define OTHER_FORMS(name, ...)         \
	Test(atomics, name##_exported) \
	{                              \
		form = FORM_EXPORTED;  \
		__VA_ARGS__;           \
	}                              \
	Test(atomics, name##_result)   \
	{                              \
		form = FORM_RESULT;    \
		__VA_ARGS__;           \
	}
OTHER_FORMS(good_memory_32, good_memory(32))
OTHER_FORMS(good_memory_64, good_memory(64))
OTHER_FORMS(unmapped_32, bad_memory(32, BAD_UNMAPPED))
OTHER_FORMS(unmapped_64, bad_memory(64, BAD_UNMAPPED))
OTHER_FORMS(readonly_64, bad_memory(64, BAD_READONLY))
OTHER_FORMS(truncated_memfd_sigbus_64, bad_memory(64, BAD_SIGBUS))
OTHER_FORMS(misaligned_32, misaligned(32))
OTHER_FORMS(misaligned_64, misaligned(64))

/* The process's first safecopy call is a register-result form that faults: its entry's slow path
 * installs the handler before the access (else the fault would kill the process). */
Test(atomics, first_use_is_a_result_form_that_faults)
{
	cr_assert_not(safecopy_handler_active());
	struct zone z;
	zone_make(&z, pgsz(), BAD_UNMAPPED, false);
	struct safecopy_fault f = fault_garbage();
	struct safecopy_atomic_result r = safecopy_atomic_cas64((uint64_t *)(void *)z.bad, 0, 1, &f);
	cr_assert_eq(r.status, SAFECOPY_SEGV);
	check_fault(&f, SAFECOPY_SEGV, z.bad, SIGSEGV, SEGV_MAPERR, "cas64");
	cr_assert(safecopy_handler_active());
	zone_free(&z);
}
