/*
 * A signal is a routine's own fault only if the instruction at the interrupted PC is one of the
 * routine's declared accesses and the signal is that instruction's fault:
 * - a page fault (origin.c confirms it from the saved trap number and CR2) whose address lies inside
 *   the memory the access touches, computed from the saved registers;
 * - a synchronous machine check whose poisoned unit overlaps that memory;
 * - #GP (SI_KERNEL, no address) while the access reaches a non-canonical address, or #AC.
 * The same holds for the inline accesses of the header's loads and peeks (inline_sites.c), which are
 * resumed at their landing with RIP changed alone: the compiler's registers around them are live.
 * Anything else at that PC — a child's exit signal, F_SETSIG, the SIGSEGV the kernel forces when it
 * cannot push another signal's frame — is not the routine's business, and the routine, which may not
 * have set up its registers yet, is left alone.
 */
#include "arch/x86_64.h"
#include "safecopy/inline_sites.h"
#include "safecopy/origin.h"
#include "safecopy/own_fault.h"

#ifndef BUS_MCEERR_AR
#define BUS_MCEERR_AR 4
#endif
#ifndef SI_KERNEL
#define SI_KERNEL 0x80
#endif

/* Bytes an access touches. len 0: none (a rep instruction with RCX = 0). */
struct span {
	uintptr_t start;
	uintptr_t len;
	bool write;
};

enum { RCX = 1, RSI = 6, RDI = 7 };

/* The spans the access touches now, from the saved registers (rep: what is still to do). */
static unsigned access_spans(const struct sc_access *a, const void *uc, struct span s[2])
{
	switch (a->kind) {
	case SC_ACC_MOVS:
		s[0] = (struct span){arch_reg(uc, RSI), arch_reg(uc, RCX), false};
		s[1] = (struct span){arch_reg(uc, RDI), arch_reg(uc, RCX), true};
		return 2;
	case SC_ACC_STOS:
		s[0] = (struct span){arch_reg(uc, RDI), arch_reg(uc, RCX), true};
		return 1;
	default: {
		uintptr_t start = arch_reg(uc, a->base) + (uintptr_t)(intptr_t)a->disp;
		if (a->index != ARCH_REG_NONE)
			start += arch_reg(uc, a->index);
		s[0] = (struct span){start, a->width, a->kind != SC_ACC_LOAD};
		return 1;
	}
	}
}

static bool span_contains(const struct span *s, uintptr_t addr)
{
	return addr - s->start < s->len;
}

static void resume_at(struct sc_resume *out, int signo, int code, const struct span *s, uintptr_t addr)
{
	uint64_t flags = SC_WORD_ADDR_KNOWN | (s->write ? SC_WORD_WRITE : 0);
	out->value = addr;
	out->word = sc_word_make(signo, code, flags, addr - s->start);
}

static void resume_unlocated(struct sc_resume *out, int signo, int code, const struct span *s)
{
	out->value = s->start;
	out->word = sc_word_make(signo, code, SC_WORD_ACCESS_START | (s->write ? SC_WORD_WRITE : 0), 0);
}

/* The first span holding addr. */
static const struct span *span_with(const struct span *s, unsigned n, uintptr_t addr)
{
	for (unsigned i = 0; i < n; i++)
		if (span_contains(&s[i], addr))
			return &s[i];
	return NULL;
}

/* A machine check reports the poisoned unit (2^si_addr_lsb bytes), not always the byte accessed. */
static bool machine_check(const siginfo_t *info, const struct span *s, unsigned n, struct sc_resume *out)
{
	unsigned lsb = info->si_addr_lsb < 63 ? (unsigned)info->si_addr_lsb : 63;
	uintptr_t unit = (uintptr_t)info->si_addr & ~(((uintptr_t)1 << lsb) - 1);
	uintptr_t unit_len = (uintptr_t)1 << lsb;
	for (unsigned i = 0; i < n; i++) {
		if (s[i].len == 0)
			continue;
		uintptr_t first = s[i].start > unit ? s[i].start : unit;
		if (first - unit < unit_len && span_contains(&s[i], first)) {
			resume_at(out, SIGBUS, BUS_MCEERR_AR, &s[i], first);
			return true;
		}
	}
	return false;
}

static bool without_address(int signo, const siginfo_t *info, const void *uc, const struct span *s,
                            unsigned n, struct sc_resume *out)
{
	int code = info->si_code;
	for (unsigned i = 0; i < n; i++) {
		if (s[i].len == 0)
			continue;
		bool gp =
		    signo == SIGSEGV && code == SI_KERNEL && !arch_range_is_canonical(s[i].start, s[i].len);
		bool ac = signo == SIGBUS && code == BUS_ADRALN && info->si_addr == NULL &&
		          arch_trapno(uc) == ARCH_TRAP_AC;
		if (gp || ac) {
			resume_unlocated(out, signo, code, &s[i]);
			return true;
		}
	}
	return false;
}

/* Whether the signal is the fault of access a at the interrupted PC; fills out's value and word. */
static bool access_fault(int signo, const siginfo_t *info, const void *uc, const struct sc_access *a,
                         struct sc_resume *out)
{
	struct span s[2];
	unsigned n = access_spans(a, uc, s);
	uintptr_t addr = (uintptr_t)info->si_addr;
	if (sc_origin_of(signo, info, uc) == SC_ORIGIN_PAGE_FAULT) {
		const struct span *hit = span_with(s, n, addr);
		if (hit)
			resume_at(out, signo, info->si_code, hit, addr);
		return hit != NULL;
	}
	if (signo == SIGBUS && info->si_code == BUS_MCEERR_AR)
		return machine_check(info, s, n, out);
	return without_address(signo, info, uc, s, n, out);
}

/* An inline access of the header's loads and peeks: `mov (%rdi), %eax/%rax`, resumed by RIP alone. */
static bool inline_fault(int signo, const siginfo_t *info, const void *uc, struct sc_resume *out)
{
	struct sc_inline_site site;
	if (!sc_inline_site_at(arch_pc(uc), &site))
		return false;
	struct sc_access a = {.offset = 0,
	                      .base = RDI,
	                      .index = ARCH_REG_NONE,
	                      .disp = 0,
	                      .width = (uint8_t)site.width,
	                      .kind = SC_ACC_LOAD};
	out->landing = site.landing;
	out->pc_only = true;
	return access_fault(signo, info, uc, &a, out);
}

bool sc_own_fault(int signo, const siginfo_t *info, const void *uc, struct sc_resume *out)
{
	if (signo != SIGSEGV && signo != SIGBUS)
		return false;
	uintptr_t pc = arch_pc(uc);
	const struct sc_routine_range *r = sc_routine_at(pc);
	if (!r)
		return inline_fault(signo, info, uc, out);
	const struct sc_access *a = sc_access_at(r, pc);
	if (!a)
		return false;
	out->landing = r->landing;
	out->pc_only = false;
	return access_fault(signo, info, uc, a, out);
}
