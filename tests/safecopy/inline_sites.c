/*
 * The header's inline loads and peeks (include/safecopy.h, "Inline loads and peeks"): the access is
 * made in this file's own code, listed in this module's safecopy_inline_sites, and resumed at its
 * landing by the handler. Exact results against the exported functions; what the list holds; a
 * signal at an inline access that no access caused is left alone; the caller's registers (vector ones
 * too) survive a fault; the gate word opens on the first call and is closed inside a previous handler
 * that runs with SIGSEGV blocked, where calls still report faults instead of killing the process.
 */
#include <pthread.h>
#include <time.h>

#include "harness.h"

#ifdef SAFECOPY_INLINE_SITES

struct site {
	int32_t access, landing, width;
};

static const struct site *sites_begin(void)
{
	return (const struct site *)__start_safecopy_inline_sites;
}

static const struct site *sites_end(void)
{
	return (const struct site *)__stop_safecopy_inline_sites;
}

static uintptr_t site_access(const struct site *s)
{
	return (uintptr_t)&s->access + (uintptr_t)(intptr_t)s->access;
}

static uintptr_t site_landing(const struct site *s)
{
	return (uintptr_t)&s->landing + (uintptr_t)(intptr_t)s->landing;
}

/* Opens this unit's gate (its first call attaches the list). */
static void open_gate(void)
{
	uint64_t v = 0, cell = 7;
	cr_assert_eq(safecopy_load64(&cell, &v, NULL), SAFECOPY_OK);
	cr_assert_eq(v, 7);
	cr_assert_eq(safecopy_inline_unit.gate, 0, "the unit's gate is still closed after a call");
}

Test(inline_sites, the_first_call_attaches_the_list_and_opens_the_gate)
{
	cr_assert_neq(safecopy_inline_unit.gate, 0, "open before any call");
	cr_assert(sites_end() > sites_begin(), "no inline site listed in this module");
	open_gate();
}

Test(inline_sites, every_listed_access_is_a_load_from_rdi_of_its_width)
{
	size_t n = 0;
	for (const struct site *s = sites_begin(); s < sites_end(); s++, n++) {
		const unsigned char *code = (const unsigned char *)site_access(s);
		if (s->width == 8)
			cr_assert(code[0] == 0x48 && code[1] == 0x8b && code[2] == 0x07,
			          "site %zu: not mov (%%rdi), %%rax: %02x %02x %02x", n, code[0], code[1],
			          code[2]);
		else
			cr_assert(s->width == 4 && code[0] == 0x8b && code[1] == 0x07,
			          "site %zu: width %d, bytes %02x %02x", n, s->width, code[0], code[1]);
		cr_assert_neq(site_landing(s), site_access(s));
	}
	cr_assert_geq(n, 5, "%zu sites: every inline function of this file should be listed", n);
}

/* Each load and peek at p, inline and exported, must agree (value, status and the whole record). */
static void compare_at(const void *p)
{
	for (int w = 4; w <= 8; w += 4) {
		struct safecopy_fault fi, fe;
		memset(&fi, 0xa5, sizeof fi);
		memset(&fe, 0x5a, sizeof fe);
		uint64_t vi = 0x1111, ve = 0x1111;
		enum safecopy_status si, se;
		if (w == 4) {
			uint32_t a = 0x1111, b = 0x1111;
			si = safecopy_load32(p, &a, &fi);
			se = (safecopy_load32)(p, &b, &fe);
			vi = a;
			ve = b;
		} else {
			si = safecopy_load64(p, &vi, &fi);
			se = (safecopy_load64)(p, &ve, &fe);
		}
		CHECK(si == se && vi == ve && fi.status == fe.status && fi.addr == fe.addr &&
		          fi.signo == fe.signo && fi.code == fe.code,
		      "load%d(%p): inline %d %#llx {%d %p %d %d}, exported %d %#llx {%d %p %d %d}", w * 8, p,
		      si, (unsigned long long)vi, fi.status, fi.addr, fi.signo, fi.code, se,
		      (unsigned long long)ve, fe.status, fe.addr, fe.signo, fe.code);
	}
	const uint64_t fb = 0xfa11bacc0ffee;
	CHECK(safecopy_peek32(p, (uint32_t)fb) == (safecopy_peek32)(p, (uint32_t)fb), "peek32(%p)", p);
	CHECK(safecopy_peek64(p, fb) == (safecopy_peek64)(p, fb), "peek64(%p)", p);
	CHECK(safecopy_peekptr(p, (void *)fb) == (safecopy_peekptr)(p, (void *)fb), "peekptr(%p)", p);
}

static void around_bad_page(enum bad_kind kind)
{
	cr_assert_eq(safecopy_init(), 0);
	open_gate();
	struct zone z;
	zone_make(&z, pgsz(), kind, true);
	for (int off = -24; off <= 16; off++)
		compare_at(z.bad + off);
	uint64_t v = 99;
	struct safecopy_fault f;
	cr_assert_eq(safecopy_load64((const uint64_t *)(void *)z.bad, &v, &f), kind_status(kind));
	cr_assert(f.addr == z.bad && f.signo == kind_signo(kind) && f.code == kind_code(kind));
	cr_assert_eq(v, 99, "the output was written on a fault");
	cr_assert_eq(safecopy_peek64(z.bad - 4, 5), 5);
	uint64_t want;
	memcpy(&want, z.bad - 8, 8);
	cr_assert_eq(safecopy_peek64(z.bad - 8, 5), want);
	zone_check_bad_page_untouched(&z);
}

Test(inline_sites, agree_with_the_exported_functions_around_an_unmapped_page)
{
	around_bad_page(BAD_UNMAPPED);
}

Test(inline_sites, agree_with_the_exported_functions_around_a_prot_none_page)
{
	around_bad_page(BAD_PROT_NONE);
}

Test(inline_sites, agree_with_the_exported_functions_around_a_sigbus_page)
{
	around_bad_page(BAD_SIGBUS);
}

Test(inline_sites, null_non_canonical_and_kernel_addresses)
{
	cr_assert_eq(safecopy_init(), 0);
	open_gate();
	const uintptr_t addrs[] = {
	    0, 8, 0x0000800000000000ull, 0x8000000000000000ull, 0xffff800000000000ull, 0xfffffffffffff000ull};
	for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
		const void *p = (const void *)addrs[i];
		compare_at(p);
		struct safecopy_fault f;
		uint64_t v = 3;
		cr_assert_eq(safecopy_load64(p, &v, &f), SAFECOPY_SEGV, "%p", p);
		cr_assert(f.addr == p && f.signo == SIGSEGV && v == 3, "%p: addr %p signo %d", p, f.addr,
		          f.signo);
		cr_assert_eq(safecopy_peekptr(p, (void *)0x77), (void *)0x77);
	}
	struct safecopy_fault f;
	uint32_t v32;
	cr_assert_eq(safecopy_load32((const uint32_t *)2, &v32, &f), SAFECOPY_ALIGN);
	cr_assert(f.addr == (void *)2 && f.signo == 0 && f.code == 0);
}

/* ---- one signal per faulting call ------------------------------------------------------------------ */

static volatile int segv_seen;

/* The program's own handler, in front of safecopy's: counts, then lets safecopy convert the fault. */
static void counting_handler(int sig, siginfo_t *info, void *uc)
{
	segv_seen++;
	if (!safecopy_handle_signal(sig, info, uc))
		abort();
}

static int one_signal_each(void *arg)
{
	(void)arg;
	if (safecopy_init() != 0)
		return 10;
	uint64_t cell = 4, v = 0;
	if (safecopy_load64(&cell, &v, NULL) != SAFECOPY_OK || safecopy_inline_unit.gate != 0)
		return 11;
	char *bad = mmap(NULL, pgsz(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (bad == MAP_FAILED || set_action(SIGSEGV, counting_handler, NULL, SA_SIGINFO | SA_NODEFER) != 0)
		return 12;
	struct safecopy_fault f;
	uint32_t v32 = 0;
	if (safecopy_load64((const uint64_t *)(void *)bad, &v, &f) != SAFECOPY_SEGV || segv_seen != 1 ||
	    f.addr != bad || f.signo != SIGSEGV || f.code != SEGV_ACCERR || v != 4)
		return 13;
	if (safecopy_load32((const uint32_t *)(void *)(bad + 8), &v32, &f) != SAFECOPY_SEGV ||
	    segv_seen != 2 || f.addr != bad + 8 || f.code != SEGV_ACCERR)
		return 14;
	if (safecopy_peek64(bad, 5) != 5 || segv_seen != 3)
		return 15;
	return 0;
}

Test(inline_sites, one_signal_per_faulting_inline_load_or_peek)
{
	expect_exit(run_in_child(one_signal_each, NULL, 20), 0);
}

Test(inline_sites, a_landing_without_a_note_runs_the_routine)
{
	cr_assert_eq(safecopy_init(), 0);
	open_gate();
	struct zone z;
	zone_make(&z, pgsz(), BAD_SIGBUS, true);
	struct safecopy_fault f;
	struct safecopy_atomic_result r = safecopy_inline_landing64((const uint64_t *)(void *)z.bad, &f);
	cr_assert(r.status == SAFECOPY_BUS && f.addr == z.bad && f.signo == SIGBUS && f.code == BUS_ADRERR);
	r = safecopy_inline_landing32((const uint32_t *)(void *)(z.bad - 4), &f);
	uint32_t want;
	memcpy(&want, z.bad - 4, 4);
	cr_assert(r.status == SAFECOPY_OK && r.value == want, "memory readable again: the routine's value");
	/* A note left for another address is not taken. */
	uint64_t v;
	cr_assert_eq(safecopy_peek64(z.bad, 1), 1); /* notes a fault at z.bad */
	r = safecopy_inline_landing64((const uint64_t *)(void *)(z.bad - 8), &f);
	cr_assert_eq(r.status, SAFECOPY_OK);
	memcpy(&v, z.bad - 8, 8);
	cr_assert_eq(r.value, v);
}

/* ---- signals at an inline access, made by hand -------------------------------------------------- */

struct fixture {
	const struct site *s;
	ucontext_t uc, before;
	siginfo_t si;
};

/* A context standing on the first listed 8-byte access with RDI = base and every register marked. */
static void stand_on_site(struct fixture *x, uintptr_t base)
{
	memset(x, 0, sizeof *x);
	for (x->s = sites_begin(); x->s < sites_end() && x->s->width != 8; x->s++)
		;
	cr_assert(x->s < sites_end());
	for (int r = 0; r < NGREG; r++)
		x->uc.uc_mcontext.gregs[r] = (greg_t)(0x1000 + r);
	x->uc.uc_mcontext.gregs[REG_RIP] = (greg_t)site_access(x->s);
	x->uc.uc_mcontext.gregs[REG_RDI] = (greg_t)base;
	x->before = x->uc;
}

static bool raise_as(struct fixture *x, int sig, int code, uintptr_t addr, unsigned trapno, uintptr_t cr2)
{
	fake_signal(&x->si, &x->uc, sig, code, addr, trapno, cr2);
	x->before = x->uc;
	return safecopy_handle_signal(sig, &x->si, &x->uc);
}

static bool context_unchanged(const struct fixture *x)
{
	return memcmp(&x->uc.uc_mcontext.gregs, &x->before.uc_mcontext.gregs,
	              sizeof x->uc.uc_mcontext.gregs) == 0;
}

Test(inline_sites, a_page_fault_inside_the_access_changes_rip_alone)
{
	cr_assert_eq(safecopy_init(), 0);
	open_gate();
	struct fixture x;
	stand_on_site(&x, 0x50000);
	cr_assert(raise_as(&x, SIGSEGV, SEGV_MAPERR, 0x50007, 14, 0x50007));
	cr_assert_eq((uintptr_t)x.uc.uc_mcontext.gregs[REG_RIP], site_landing(x.s));
	x.uc.uc_mcontext.gregs[REG_RIP] = x.before.uc_mcontext.gregs[REG_RIP];
	cr_assert(context_unchanged(&x), "a register other than RIP was changed");
}

Test(inline_sites, signals_no_access_made_are_left_alone)
{
	cr_assert_eq(safecopy_init(), 0);
	open_gate();
	struct fixture x;
	stand_on_site(&x, 0x50000);
	cr_assert_not(raise_as(&x, SIGSEGV, SEGV_MAPERR, 0x50008, 14, 0x50008), "a fault past the access");
	cr_assert(context_unchanged(&x));
	stand_on_site(&x, 0x50000);
	cr_assert_not(raise_as(&x, SIGSEGV, SEGV_MAPERR, 0x4ffff, 14, 0x4ffff), "a fault before the access");
	stand_on_site(&x, 0x50000);
	cr_assert_not(raise_as(&x, SIGSEGV, SI_USER, 0, 0, 0), "kill()");
	cr_assert(context_unchanged(&x));
	stand_on_site(&x, 0x50000);
	cr_assert_not(raise_as(&x, SIGSEGV, SI_QUEUE, 0x50000, 0, 0), "sigqueue()");
	stand_on_site(&x, 0x50000);
	cr_assert_not(raise_as(&x, SIGSEGV, SI_KERNEL, 0, 13, 0), "#GP with a canonical access");
	stand_on_site(&x, 0x50000);
	cr_assert_not(raise_as(&x, SIGSEGV, SEGV_MAPERR, 0x50000, 14, 0x90000), "CR2 elsewhere");
	stand_on_site(&x, 0x50000);
	/* a child's exit signal set to SIGSEGV: CLD_EXITED has SEGV_MAPERR's value, si_pid overlays
	 * si_addr, and no page fault is saved in the context */
	cr_assert_not(raise_as(&x, SIGSEGV, SEGV_MAPERR, 0x50000, 0, 0), "a child's exit signal");
	cr_assert(context_unchanged(&x));
	stand_on_site(&x, 0x50000);
	cr_assert_not(raise_as(&x, SIGBUS, SI_USER, 0x50000, 0, 0), "a sent SIGBUS");
	stand_on_site(&x, 0x50000);
	x.uc.uc_mcontext.gregs[REG_RIP] += 1; /* inside the instruction, not at it */
	cr_assert_not(raise_as(&x, SIGSEGV, SEGV_MAPERR, 0x50000, 14, 0x50000));
	cr_assert(context_unchanged(&x));
	stand_on_site(&x, 0x8000000000000000ull);
	cr_assert(raise_as(&x, SIGSEGV, SI_KERNEL, 0, 13, 0), "#GP at a non-canonical access");
}

/* ---- the caller's registers ---------------------------------------------------------------------- */

static volatile uint64_t seeds[16] = {1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597};
static volatile double dseeds[8] = {0.5, 1.25, 2.125, 3.0625, 4.5, 5.75, 6.875, 7.9375};

/* Sixteen integers and eight doubles live across four faulting accesses, then summed. */
static __attribute__((noinline)) double live_across_faults(const void *bad)
{
	uint64_t a[16];
	double d[8];
	for (int i = 0; i < 16; i++)
		a[i] = seeds[i];
	for (int i = 0; i < 8; i++)
		d[i] = dseeds[i];
	uint64_t v64 = 0;
	uint32_t v32 = 0;
	uint64_t s = safecopy_peek64(bad, 1) + safecopy_peek32(bad, 2);
	s += safecopy_load64(bad, &v64, NULL) + safecopy_load32(bad, &v32, NULL);
	double r = (double)s;
	for (int i = 0; i < 16; i++)
		r += (double)(a[i] * (uint64_t)(i + 1));
	for (int i = 0; i < 8; i++)
		r += d[i] * (i + 1);
	return r;
}

Test(inline_sites, registers_vector_ones_included_survive_a_fault)
{
	cr_assert_eq(safecopy_init(), 0);
	open_gate();
	struct zone z;
	zone_make(&z, pgsz(), BAD_UNMAPPED, true);
	double want = 1 + 2 + 2 * SAFECOPY_SEGV;
	for (int i = 0; i < 16; i++)
		want += (double)(seeds[i] * (uint64_t)(i + 1));
	for (int i = 0; i < 8; i++)
		want += dseeds[i] * (i + 1);
	for (int round = 0; round < 100; round++)
		cr_assert_eq(live_across_faults(z.bad), want);
}

#ifdef SAFECOPY_TEST_INTERNALS
#include "safecopy/fast_exit.h"

Test(inline_sites, a_fault_at_an_inline_access_never_takes_the_fast_exit)
{
	cr_assert_eq(safecopy_init(), 0);
	open_gate();
	struct zone z;
	zone_make(&z, pgsz(), BAD_PROT_NONE, true);
	unsigned long before = sc_fast_exit_count;
	cr_assert_eq(safecopy_peek64(z.bad, 4), 4);
	cr_assert_eq(sc_fast_exit_count, before, "an inline peek left by the fast exit");
	uint64_t v;
	cr_assert_eq(safecopy_load64((const uint64_t *)(void *)z.bad, &v, NULL), SAFECOPY_SEGV);
	/* the landing's call of the routine faults again; that fault may exit fast */
	cr_assert_leq(sc_fast_exit_count, before + 1);
}
#endif

/* ---- inside a previous handler that runs with SIGSEGV blocked ----------------------------------- */

static char *fix_page;
static char *bad_page;
static volatile int64_t gate_inside = -1;
static volatile int status_inside = -1, peek_inside = -1;

static void previous_handler(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)info;
	(void)uc;
	gate_inside = safecopy_inline_unit.gate;
	uint64_t v;
	status_inside = safecopy_load64((const uint64_t *)(void *)bad_page, &v, NULL);
	peek_inside = (int)safecopy_peek32(bad_page, 41);
	mprotect(fix_page, pgsz(), PROT_READ | PROT_WRITE);
}

static int closed_inside_previous_handler(void *arg)
{
	(void)arg;
	fix_page = mmap(NULL, pgsz(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bad_page = mmap(NULL, pgsz(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fix_page == MAP_FAILED || bad_page == MAP_FAILED)
		return 10;
	/* no SA_NODEFER: SIGSEGV is blocked while it runs */
	if (set_action(SIGSEGV, previous_handler, NULL, SA_SIGINFO) != 0 || safecopy_init() != 0)
		return 11;
	uint64_t v = 1, cell = 2;
	if (safecopy_load64(&cell, &v, NULL) != SAFECOPY_OK || safecopy_inline_unit.gate != 0)
		return 12;
	child_step(1);
	*(volatile char *)fix_page = 1; /* a foreign fault: the previous handler runs */
	child_step(2);
	if (gate_inside == 0)
		return 13;
	if (status_inside != SAFECOPY_SEGV || peek_inside != 41)
		return 14;
	if (safecopy_load64(&cell, &v, NULL) != SAFECOPY_OK || v != 2 || safecopy_inline_unit.gate != 0)
		return 15; /* the next call opens it again */
	return 0;
}

Test(inline_sites, closed_inside_a_previous_handler_that_blocks_sigsegv)
{
	expect_exit(run_in_child(closed_inside_previous_handler, NULL, 20), 0);
}

/* ---- threads: faults everywhere while other threads run previous handlers ----------------------- */

#define WORKERS 3

static volatile int stop_workers;
static volatile int worker_error;

static void *fault_worker(void *arg)
{
	const char *bad = arg;
	uint64_t cell = 0x1234;
	while (!stop_workers) {
		uint64_t v = 0;
		struct safecopy_fault f;
		if (safecopy_load64((const uint64_t *)(const void *)bad, &v, &f) != SAFECOPY_SEGV ||
		    f.addr != bad || v != 0 || safecopy_peek64(bad, 9) != 9 ||
		    safecopy_load64(&cell, &v, NULL) != SAFECOPY_OK || v != 0x1234 ||
		    safecopy_peek32(&cell, 0) != 0x1234)
			worker_error = 1;
	}
	return NULL;
}

static volatile int handler_errors;

static void repairing_handler(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)info;
	(void)uc;
	uint64_t v;
	if (safecopy_load64((const uint64_t *)(void *)bad_page, &v, NULL) != SAFECOPY_SEGV ||
	    safecopy_peek64(bad_page, 3) != 3)
		handler_errors++;
	mprotect(fix_page, pgsz(), PROT_READ | PROT_WRITE);
}

static int racing_closers(void *arg)
{
	(void)arg;
	fix_page = mmap(NULL, pgsz(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bad_page = mmap(NULL, pgsz(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fix_page == MAP_FAILED || bad_page == MAP_FAILED)
		return 10;
	if (set_action(SIGSEGV, repairing_handler, NULL, SA_SIGINFO) != 0 || safecopy_init() != 0)
		return 11;
	pthread_t t[WORKERS];
	for (int i = 0; i < WORKERS; i++)
		if (pthread_create(&t[i], NULL, fault_worker, bad_page) != 0)
			return 12;
	for (int round = 0; round < 2000; round++) {
		mprotect(fix_page, pgsz(), PROT_READ);
		*(volatile char *)fix_page = 1; /* a foreign fault: the previous handler closes every gate */
	}
	stop_workers = 1;
	for (int i = 0; i < WORKERS; i++)
		pthread_join(t[i], NULL);
	if (worker_error)
		return 13;
	if (handler_errors)
		return 14;
	return 0;
}

Test(inline_sites, threads_fault_while_previous_handlers_close_the_gates)
{
	expect_exit(run_in_child(racing_closers, NULL, 60), 0);
}

/* ---- fork ---------------------------------------------------------------------------------------- */

static const char *fork_bad;

static int child_after_fork(void *arg)
{
	(void)arg;
	if (safecopy_inline_unit.gate != 0)
		return 10; /* inherited open */
	if (safecopy_peek64(fork_bad, 12) != 12)
		return 11; /* the inherited attachment still recognises the fault */
	uint64_t v;
	struct safecopy_fault f;
	if (safecopy_load64((const uint64_t *)(const void *)fork_bad, &v, &f) != SAFECOPY_SEGV ||
	    f.addr != fork_bad)
		return 12;
	safecopy_inline_fini(); /* what exit() runs: the detach must not wait for anything */
	if (safecopy_inline_unit.gate == 0 || safecopy_peek64(fork_bad, 13) != 13)
		return 13; /* detached and closed; the next call attaches again */
	return 0;
}

Test(inline_sites, a_forked_child_keeps_the_attachment_and_exits)
{
	cr_assert_eq(safecopy_init(), 0);
	open_gate();
	struct zone z;
	zone_make(&z, pgsz(), BAD_PROT_NONE, true);
	fork_bad = z.bad;
	for (int i = 0; i < 20; i++)
		expect_exit(run_in_child(child_after_fork, NULL, 10), 0);
}

/* ---- more units than slots ----------------------------------------------------------------------- */

/* Gate words of units made up here, attached with this file's own list (the handler then finds this
 * file's accesses in several slots, all with the same landings). */
#define MANY 600
static int64_t many_gates[MANY];

/* Attaches many_gates[0..MANY) (each closed, 1, before): how many opened. Those that opened took a
 * slot each; the others found none, stay closed, and their calls would go to the exported functions. */
static int attach_many(void)
{
	int opened = 0;
	for (int i = 0; i < MANY; i++) {
		many_gates[i] = 1;
		safecopy_inline_attach(&many_gates[i], sites_begin(), sites_end());
		opened += many_gates[i] == 0;
	}
	return opened;
}

static void detach_many(void)
{
	for (int i = 0; i < MANY; i++)
		safecopy_inline_detach(&many_gates[i]);
}

Test(inline_sites, units_beyond_the_slots_stay_closed_and_exact)
{
	cr_assert_eq(safecopy_init(), 0);
	open_gate(); /* this unit holds a slot of its own */
	int opened = attach_many();
	/* 512 slots; this unit's (and any other of this process's) among them. */
	cr_assert(opened >= 400 && opened <= 511, "%d of %d made-up units attached", opened, MANY);
	for (int i = 0; i < MANY; i++)
		cr_assert_eq(many_gates[i] == 0, i < opened, "unit %d: gate %lld", i,
		             (long long)many_gates[i]);
	/* This unit's own calls stay inline and exact while every slot is taken. */
	struct zone z;
	zone_make(&z, pgsz(), BAD_PROT_NONE, true);
	uint64_t v = 5;
	struct safecopy_fault f;
	cr_assert_eq(safecopy_load64((const uint64_t *)(const void *)z.bad, &v, &f), SAFECOPY_SEGV);
	cr_assert(f.addr == z.bad && v == 5);
	cr_assert_eq(safecopy_peek64(z.bad, 77), 77);
	cr_assert_eq(safecopy_inline_unit.gate, 0);
	/* A detach frees a slot for exactly one more unit. */
	safecopy_inline_detach(&many_gates[0]);
	cr_assert_neq(many_gates[0], 0, "a detached unit's gate stays closed");
	safecopy_inline_attach(&many_gates[opened], sites_begin(), sites_end());
	safecopy_inline_attach(&many_gates[opened + 1], sites_begin(), sites_end());
	cr_assert_eq(many_gates[opened], 0, "the freed slot was not reused");
	cr_assert_neq(many_gates[opened + 1], 0, "more units attached than slots");
	detach_many();
	for (int i = 0; i < MANY; i++)
		cr_assert_neq(many_gates[i], 0, "unit %d still open after its detach", i);
	zone_free(&z);
}

/* ---- fork while another thread closes the gates --------------------------------------------------- */

static volatile int stop_closer;

static void reprotecting_handler(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)info;
	(void)uc;
	mprotect(fix_page, pgsz(), PROT_READ | PROT_WRITE);
}

/* Foreign faults, one after another: safecopy passes each to reprotecting_handler with SIGSEGV
 * blocked, and closes every attached gate (hundreds here, so a close takes a while) before it. */
static void *closer(void *arg)
{
	(void)arg;
	while (!stop_closer) {
		mprotect(fix_page, pgsz(), PROT_READ);
		*(volatile char *)fix_page = 1;
	}
	return NULL;
}

/* The forked child's exit detaches (the header's .fini_array entry); a detach waits while another
 * thread closes gates. A child forked in the middle of a close must not wait for the closer, which it
 * does not have. Returns 0, or 1 when a child did not exit by itself within 2 s (it is killed). */
static int fork_while_closing(void *arg)
{
	(void)arg;
	fix_page = mmap(NULL, pgsz(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fix_page == MAP_FAILED || set_action(SIGSEGV, reprotecting_handler, NULL, SA_SIGINFO) != 0 ||
	    safecopy_init() != 0)
		return 100;
	uint64_t cell = 1, v;
	if (safecopy_load64(&cell, &v, NULL) != SAFECOPY_OK || attach_many() < 400)
		return 101;
	pthread_t t;
	if (pthread_create(&t, NULL, closer, NULL) != 0)
		return 102;
	int hung = 0;
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* 300 rounds (about 0.2 s; one child in a few dozen is forked in the middle of a close), or as
	 * many as fit in 3 s under valgrind, where each takes about 0.4 s. */
	for (int round = 0; round < 300 && !hung; round++) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (round >= 5 && now.tv_sec - t0.tv_sec >= 3)
			break;
		pid_t pid = fork();
		if (pid < 0)
			return 103;
		if (pid == 0) {
			safecopy_inline_detach(&many_gates[1]);
			safecopy_inline_fini();
			_exit(0);
		}
		int status = 0;
		pid_t w = 0;
		for (int ms = 0; ms < 2000 && (w = waitpid(pid, &status, WNOHANG)) == 0; ms++)
			usleep(1000);
		if (w == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			hung++;
		} else if (w != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			return 104;
		}
	}
	stop_closer = 1;
	pthread_join(t, NULL);
	return hung;
}

Test(inline_sites, a_child_forked_during_a_close_exits)
{
	expect_exit(run_in_child(fork_while_closing, NULL, 120), 0);
}

/* A page fault, as the kernel would report it, of an inline load at pc from RDI = 0x70000. */
static void fake_inline_page_fault(siginfo_t *si, ucontext_t *uc, uintptr_t pc)
{
	memset(uc, 0, sizeof *uc);
	memset(si, 0, sizeof *si);
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)pc;
	uc->uc_mcontext.gregs[REG_RDI] = 0x70000;
	fake_signal(si, uc, SIGSEGV, SEGV_MAPERR, 0x70000, 14, 0x70000);
}

/* ---- a module unmapped without running its .fini_array ------------------------------------------ */

/* A unit whose gate word and list live in one page, as a module's would; the list names one access at
 * `pc`. The page is unmapped with the unit still attached, as by a loader that runs no destructors. */
static void *attach_unit_in_page(uintptr_t pc)
{
	char *page = mmap(NULL, pgsz(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return NULL;
	int64_t *gate = (int64_t *)(void *)page;
	struct site *list = (struct site *)(void *)(page + 64);
	*gate = 1;
	list->access = (int32_t)(pc - (uintptr_t)&list->access);
	list->landing = (int32_t)(pc + 16 - (uintptr_t)&list->landing);
	list->width = 8;
	safecopy_inline_attach(gate, list, list + 1);
	return *gate == 0 ? page : NULL;
}

static volatile int previous_calls;

static void counting_previous(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)info;
	(void)uc;
	previous_calls++;
	mprotect(fix_page, pgsz(), PROT_READ | PROT_WRITE);
}

/* Stack pages below this frame, touched now: the signal frames of the faults in handlers below land
 * there (valgrind does not grow the main stack for a signal frame, and the process would die). */
static __attribute__((noinline)) void touch_stack_below(void)
{
	volatile char pad[128 * 1024];
	for (size_t i = 0; i < sizeof pad; i += 512)
		pad[i] = 0;
}

static int unmapped_unit(void *arg)
{
	(void)arg;
	touch_stack_below();
	fix_page = mmap(NULL, pgsz(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fix_page == MAP_FAILED || set_action(SIGSEGV, counting_previous, NULL, SA_SIGINFO) != 0 ||
	    safecopy_init() != 0)
		return 10;
	/* The access is in a page of its own near the list (within a rel32 of it): a PC no routine and no
	 * other unit holds. */
	char *code = mmap(NULL, pgsz(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED)
		return 11;
	uintptr_t pc = (uintptr_t)code + 100;
	void *page = attach_unit_in_page(pc);
	if (!page)
		return 12;
	ucontext_t uc;
	siginfo_t si;
	fake_inline_page_fault(&si, &uc, pc);
	/* While the page is there, a page fault of that access is the unit's, resumed at its landing. */
	if (!safecopy_handle_signal(SIGSEGV, &si, &uc) || uc.uc_mcontext.gregs[REG_RIP] != (greg_t)(pc + 16))
		return 13;
	child_step(1);
	munmap(page, pgsz());
	/* The same fault once the page is gone: the handler finds the slot but not the list, and the
	 * signal is not safecopy's. */
	uc.uc_mcontext.gregs[REG_RIP] = (greg_t)pc;
	if (safecopy_handle_signal(SIGSEGV, &si, &uc) || uc.uc_mcontext.gregs[REG_RIP] != (greg_t)pc)
		return 14;
	child_step(2);
	/* A foreign fault whose previous handler blocks SIGSEGV: every attached gate is closed first, the
	 * unmapped one included. */
	*(volatile char *)fix_page = 1;
	if (previous_calls != 1)
		return 15;
	child_step(3);
	/* This unit's own loads still work and report faults. */
	uint64_t v = 3, cell = 9;
	if (safecopy_load64(&cell, &v, NULL) != SAFECOPY_OK || v != 9 || safecopy_peek64(code + 8, 5) != 0)
		return 16;
	munmap(code, pgsz());
	if (safecopy_peek64(code, 21) != 21)
		return 17;
	return 0;
}

Test(inline_sites, a_unit_unmapped_without_its_destructor_is_never_read_or_written)
{
	expect_exit(run_in_child(unmapped_unit, NULL, 20), 0);
}

/* What a module loaded at the same addresses later might hold: a word at 1 (a unit's first value) and
 * a list naming the same access with another landing, or nothing at all. */
static void fill_successor(char *page, uintptr_t pc, bool with_list)
{
	memset(page, 0, pgsz());
	if (!with_list)
		return;
	struct site *list = (struct site *)(void *)(page + 64);
	*(int64_t *)(void *)page = 1;
	list->access = (int32_t)(pc - (uintptr_t)&list->access);
	list->landing = (int32_t)(pc + 32 - (uintptr_t)&list->landing);
	list->width = 8;
}

/* Whether a page fault at pc is resumed, and where. */
static uintptr_t resumed_at(uintptr_t pc)
{
	ucontext_t uc;
	siginfo_t si;
	fake_inline_page_fault(&si, &uc, pc);
	return safecopy_handle_signal(SIGSEGV, &si, &uc) ? (uintptr_t)uc.uc_mcontext.gregs[REG_RIP] : 0;
}

static int replaced_unit(void *arg)
{
	(void)arg;
	touch_stack_below();
	fix_page = mmap(NULL, pgsz(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *code = mmap(NULL, pgsz(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *before = malloc(pgsz());
	if (fix_page == MAP_FAILED || code == MAP_FAILED || before == NULL ||
	    set_action(SIGSEGV, counting_previous, NULL, SA_SIGINFO) != 0 || safecopy_init() != 0)
		return 10;
	uintptr_t pc = (uintptr_t)code + 100;
	char *page = attach_unit_in_page(pc);
	if (!page || resumed_at(pc) != pc + 16)
		return 11;
	for (int round = 0; round < 2; round++) {
		bool with_list = round == 0;
		/* The module goes without its destructors; another mapping takes its addresses. */
		if (munmap(page, pgsz()) != 0 ||
		    mmap(page, pgsz(), PROT_READ | PROT_WRITE,
		         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != page)
			return 12;
		fill_successor(page, pc, with_list);
		memcpy(before, page, pgsz());
		/* Its list is not the one attached: a fault at pc is not safecopy's. */
		if (resumed_at(pc) != 0)
			return 20 + round;
		child_step(1 + 2 * round);
		/* A foreign fault whose previous handler blocks SIGSEGV closes every attached word: not the
		 * successor's. */
		mprotect(fix_page, pgsz(), PROT_READ);
		*(volatile char *)fix_page = 1;
		if (previous_calls != round + 1)
			return 30 + round;
		if (memcmp(page, before, pgsz()) != 0)
			return 40 + round;
		child_step(2 + 2 * round);
	}
	/* A unit of the successor attaches its own list at the old word: it replaces the stale slot, its
	 * word opens, and its access is resumed at its own landing. */
	fill_successor(page, pc, true);
	struct site *list = (struct site *)(void *)(page + 64);
	safecopy_inline_attach((int64_t *)(void *)page, list, list + 1);
	if (*(int64_t *)(void *)page != 0 || resumed_at(pc) != pc + 32)
		return 50;
	safecopy_inline_detach((int64_t *)(void *)page);
	if (*(int64_t *)(void *)page == 0 || resumed_at(pc) != 0)
		return 51;
	free(before);
	return 0;
}

Test(inline_sites, a_unit_whose_addresses_are_reused_is_neither_resumed_nor_written)
{
	expect_exit(run_in_child(replaced_unit, NULL, 20), 0);
}

/* ---- a module that is unloaded ------------------------------------------------------------------- */

#if defined(SAFECOPY_INLINE_PLUGIN_PATH) && !defined(SAFECOPY_TEST_INTERNALS)
#include <dlfcn.h>

struct plugin {
	void *handle;
	uint64_t (*peek64)(const void *, uint64_t);
	enum safecopy_status (*load64)(const uint64_t *, uint64_t *, struct safecopy_fault *);
	int64_t (*gate)(void);
	const void *(*sites)(const void **);
};

static void plugin_open(struct plugin *pl)
{
	pl->handle = dlopen(SAFECOPY_INLINE_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
	cr_assert_not_null(pl->handle, "dlopen: %s", dlerror());
	pl->peek64 = (uint64_t(*)(const void *, uint64_t))dlsym(pl->handle, "plugin_peek64");
	pl->load64 = (enum safecopy_status(*)(const uint64_t *, uint64_t *, struct safecopy_fault *))dlsym(
	    pl->handle, "plugin_load64");
	pl->gate = (int64_t(*)(void))dlsym(pl->handle, "plugin_gate");
	pl->sites = (const void *(*)(const void **))dlsym(pl->handle, "plugin_sites");
	cr_assert(pl->peek64 && pl->load64 && pl->gate && pl->sites);
}

Test(inline_sites, a_module_is_detached_when_it_is_unloaded)
{
	cr_assert_eq(safecopy_init(), 0);
	open_gate();
	struct zone z;
	zone_make(&z, pgsz(), BAD_PROT_NONE, true); /* not a hole: a dlopen could map the plugin there */
	for (int round = 0; round < 600; round++) { /* more rounds than attachments fit: slots are reused */
		struct plugin pl;
		plugin_open(&pl);
		cr_assert_neq(pl.gate(), 0);
		cr_assert_eq(pl.peek64(z.bad, 6), 6, "round %d", round);
		cr_assert_eq(pl.gate(), 0, "round %d: the plugin's gate did not open", round);
		uint64_t v = 1;
		struct safecopy_fault f;
		cr_assert_eq(pl.load64((const uint64_t *)(void *)z.bad, &v, &f), SAFECOPY_SEGV);
		cr_assert(f.addr == z.bad && v == 1);
		const void *end, *first = pl.sites(&end);
		cr_assert(first && end > first);
		const struct site *s = first;
		uintptr_t access = site_access(s);
		cr_assert_eq(dlclose(pl.handle), 0);
		cr_assert_null(dlopen(SAFECOPY_INLINE_PLUGIN_PATH, RTLD_NOW | RTLD_NOLOAD), "not unloaded");
		/* A page fault at the unloaded access is no longer safecopy's. */
		ucontext_t uc;
		siginfo_t si;
		fake_inline_page_fault(&si, &uc, access);
		cr_assert_not(safecopy_handle_signal(SIGSEGV, &si, &uc), "round %d: still attached", round);
	}
}
#endif

#else /* no inline functions with this compiler: nothing to test */
Test(inline_sites, not_built)
{
	cr_skip_test("this compiler has no inline loads and peeks (asm goto with outputs)");
}
#endif
