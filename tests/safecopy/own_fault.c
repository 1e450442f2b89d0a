/*
 * The own-fault test on contexts built by hand, for the cases no test here can make the kernel raise
 * (a machine check, #AC) and for exact boundaries: safecopy_handle_signal() is called directly with a
 * siginfo and a ucontext whose PC is a declared access of a routine and whose registers place that
 * access. Static suite only: it reads the routines' access tables.
 */
#include <ucontext.h>

#include "harness.h"

#ifdef SAFECOPY_TEST_INTERNALS
#include "safecopy/routines.h"

#ifndef BUS_MCEERR_AR
#define BUS_MCEERR_AR 4
#endif

SC_HIDDEN void sc_range_sc_copy(struct sc_routine_range *out);
SC_HIDDEN void sc_range_sc_copy_rep(struct sc_routine_range *out);

static const int greg_of[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                                REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};

struct fixture {
	struct sc_routine_range r;
	const struct sc_access *a;
	ucontext_t uc;
	siginfo_t si;
};

/* A context standing on access `kind` of sc_copy (or rep movsb) that touches [start, start+width). */
static void stand_on(struct fixture *x, int kind, uintptr_t start)
{
	memset(x, 0, sizeof *x);
	if (kind == SC_ACC_MOVS)
		sc_range_sc_copy_rep(&x->r);
	else
		sc_range_sc_copy(&x->r);
	for (x->a = x->r.access; x->a < x->r.access_end && x->a->kind != kind; x->a++)
		;
	cr_assert(x->a < x->r.access_end, "no access of kind %d", kind);
	greg_t *g = x->uc.uc_mcontext.gregs;
	g[REG_RIP] = (greg_t)(x->r.begin + x->a->offset);
	if (kind == SC_ACC_MOVS) {
		g[REG_RSI] = (greg_t)start;
		g[REG_RDI] = (greg_t)(start + 0x100000);
		g[REG_RCX] = 4096;
		return;
	}
	uintptr_t base = start - (uintptr_t)(intptr_t)x->a->disp;
	if (x->a->index != 0xff) {
		g[greg_of[x->a->index]] = 40;
		base -= 40;
	}
	g[greg_of[x->a->base]] = (greg_t)base;
}

static void raise_as(struct fixture *x, int sig, int code, uintptr_t addr, unsigned trapno, uintptr_t cr2)
{
	fake_signal(&x->si, &x->uc, sig, code, addr, trapno, cr2);
}

static bool handled(struct fixture *x)
{
	return safecopy_handle_signal(x->si.si_signo, &x->si, &x->uc);
}

static uint64_t rax(struct fixture *x)
{
	return (uint64_t)x->uc.uc_mcontext.gregs[REG_RAX];
}

static uint64_t rdx(struct fixture *x)
{
	return (uint64_t)x->uc.uc_mcontext.gregs[REG_RDX];
}

Test(own_fault, page_fault_inside_the_access_and_just_outside)
{
	struct fixture x;
	uintptr_t start = 0x7f0000001000 - 5;
	stand_on(&x, SC_ACC_LOAD, start);
	size_t w = x.a->width;
	for (uintptr_t addr = start - 2; addr < start + w + 2; addr++) {
		stand_on(&x, SC_ACC_LOAD, start);
		raise_as(&x, SIGSEGV, SEGV_MAPERR, addr, 14, addr);
		bool inside = addr >= start && addr < start + w;
		cr_assert_eq(handled(&x), inside, "fault at start%+ld of a %zu-byte access",
		             (long)(addr - start), w);
		if (!inside)
			continue;
		cr_assert_eq((uintptr_t)x.uc.uc_mcontext.gregs[REG_RIP], x.r.landing);
		cr_assert_eq(rax(&x), addr);
		cr_assert_eq(SC_WORD_DIST(rdx(&x)), addr - start);
		cr_assert_eq(SC_WORD_SIGNO(rdx(&x)), SIGSEGV);
		cr_assert_eq(SC_WORD_CODE(rdx(&x)), SEGV_MAPERR);
		cr_assert(rdx(&x) & SC_WORD_ADDR_KNOWN);
		cr_assert_not(rdx(&x) & SC_WORD_WRITE, "a load is not a write");
	}
}

Test(own_fault, page_fault_code_without_a_page_fault_behind_it)
{
	struct fixture x;
	uintptr_t start = 0x7f0000002000;
	stand_on(&x, SC_ACC_STORE, start);
	raise_as(&x, SIGSEGV, SEGV_MAPERR, start, 14, start + 4096); /* CR2 of an older fault */
	cr_assert_not(handled(&x));
	stand_on(&x, SC_ACC_STORE, start);
	raise_as(&x, SIGSEGV, SEGV_MAPERR, start, 1, start); /* the last trap was a single step */
	cr_assert_not(handled(&x));
	stand_on(&x, SC_ACC_STORE, start);
	raise_as(&x, SIGSEGV, SEGV_ACCERR, start, 14, start);
	cr_assert(handled(&x));
	cr_assert(rdx(&x) & SC_WORD_WRITE);
}

Test(own_fault, not_at_a_declared_access)
{
	struct fixture x;
	uintptr_t start = 0x7f0000003000;
	stand_on(&x, SC_ACC_LOAD, start);
	for (uintptr_t pc = x.r.begin; pc < x.r.end; pc++) {
		bool declared = false;
		for (const struct sc_access *a = x.r.access; a < x.r.access_end; a++)
			declared |= x.r.begin + a->offset == pc;
		if (declared)
			continue;
		x.uc.uc_mcontext.gregs[REG_RIP] = (greg_t)pc;
		raise_as(&x, SIGSEGV, SEGV_MAPERR, start, 14, start);
		cr_assert_not(handled(&x), "converted at routine offset %lu, no declared access",
		              (unsigned long)(pc - x.r.begin));
	}
}

Test(own_fault, general_protection_needs_a_non_canonical_access)
{
	struct fixture x;
	stand_on(&x, SC_ACC_LOAD, 0x7f0000004000);
	raise_as(&x, SIGSEGV, SI_KERNEL, 0, 13, 0);
	cr_assert_not(handled(&x), "a forced SIGSEGV at a canonical access");
	uintptr_t high = 0x0000800000000000ull - 3; /* straddles the end of the lower half */
	stand_on(&x, SC_ACC_LOAD, high);
	raise_as(&x, SIGSEGV, SI_KERNEL, 0, 13, 0);
	cr_assert(handled(&x));
	cr_assert(rdx(&x) & SC_WORD_ACCESS_START);
	cr_assert_eq(rax(&x), high);
	stand_on(&x, SC_ACC_LOAD, 0xdead000000000000ull);
	raise_as(&x, SIGSEGV, SI_KERNEL, 0, 13, 0);
	cr_assert(handled(&x));
}

Test(own_fault, alignment_check_without_address)
{
	struct fixture x;
	stand_on(&x, SC_ACC_LOAD, 0x7f0000005001);
	raise_as(&x, SIGBUS, BUS_ADRALN, 0, 17, 0);
	cr_assert(handled(&x));
	cr_assert(rdx(&x) & SC_WORD_ACCESS_START);
	stand_on(&x, SC_ACC_LOAD, 0x7f0000005001);
	raise_as(&x, SIGBUS, BUS_ADRALN, 0, 14, 0);
	cr_assert_not(handled(&x), "BUS_ADRALN with no #AC behind it");
	stand_on(&x, SC_ACC_LOAD, 0x7f0000005001);
	raise_as(&x, SIGBUS, BUS_ADRALN, 1234, 17, 0); /* a child's exit: si_pid where si_addr is */
	cr_assert_not(handled(&x));
}

/* A machine check names the poisoned page (si_addr_lsb), not the byte: the first byte of the access in it. */
Test(own_fault, machine_check_reports_the_poisoned_unit)
{
	struct fixture x;
	uintptr_t page = 0x7f0000006000, start = page + 100;
	stand_on(&x, SC_ACC_LOAD, start);
	raise_as(&x, SIGBUS, BUS_MCEERR_AR, page, 18, 0);
	x.si.si_addr_lsb = 12;
	cr_assert(handled(&x));
	cr_assert_eq(rax(&x), start);
	cr_assert_eq(SC_WORD_DIST(rdx(&x)), 0);
	cr_assert_eq(SC_WORD_CODE(rdx(&x)), BUS_MCEERR_AR);
	/* an access that begins before the poisoned page: the page's first byte */
	stand_on(&x, SC_ACC_LOAD, page - 3);
	raise_as(&x, SIGBUS, BUS_MCEERR_AR, page, 18, 0);
	x.si.si_addr_lsb = 12;
	cr_assert(handled(&x));
	cr_assert_eq(rax(&x), page);
	cr_assert_eq(SC_WORD_DIST(rdx(&x)), 3);
	/* a poisoned page the access does not touch */
	stand_on(&x, SC_ACC_LOAD, page + 4096);
	raise_as(&x, SIGBUS, BUS_MCEERR_AR, page, 18, 0);
	x.si.si_addr_lsb = 12;
	cr_assert_not(handled(&x));
}

Test(own_fault, rep_movsb_spans_follow_its_registers)
{
	struct fixture x;
	uintptr_t src = 0x7f0000010000;
	stand_on(&x, SC_ACC_MOVS, src);
	raise_as(&x, SIGSEGV, SEGV_MAPERR, src + 4095, 14, src + 4095);
	cr_assert(handled(&x));
	cr_assert_eq(SC_WORD_DIST(rdx(&x)), 4095);
	cr_assert_not(rdx(&x) & SC_WORD_WRITE);
	stand_on(&x, SC_ACC_MOVS, src);
	raise_as(&x, SIGSEGV, SEGV_MAPERR, src + 0x100000 + 7, 14, src + 0x100000 + 7);
	cr_assert(handled(&x));
	cr_assert(rdx(&x) & SC_WORD_WRITE);
	cr_assert_eq(SC_WORD_DIST(rdx(&x)), 7);
	stand_on(&x, SC_ACC_MOVS, src);
	raise_as(&x, SIGSEGV, SEGV_MAPERR, src + 4096, 14, src + 4096); /* past what RCX says is left */
	cr_assert_not(handled(&x));
	stand_on(&x, SC_ACC_MOVS, src);
	raise_as(&x, SIGSEGV, SEGV_MAPERR, src - 1, 14, src - 1); /* before RSI: already done */
	cr_assert_not(handled(&x));
}

Test(own_fault, wrong_signal_or_sent_code)
{
	struct fixture x;
	uintptr_t start = 0x7f0000007000;
	stand_on(&x, SC_ACC_LOAD, start);
	raise_as(&x, SIGSEGV, SI_USER, start, 14, start);
	cr_assert_not(handled(&x));
	stand_on(&x, SC_ACC_LOAD, start);
	raise_as(&x, SIGILL, ILL_ILLOPN, start, 14, start);
	cr_assert_not(handled(&x));
	stand_on(&x, SC_ACC_LOAD, start);
	raise_as(&x, SIGBUS, BUS_ADRERR, start, 14, start);
	cr_assert(handled(&x), "SIGBUS past the end of a file");
}

#endif
