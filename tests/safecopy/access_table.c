/*
 * The routines' access tables against their machine code: every instruction of every safecopy routine
 * is decoded with Zydis, and each one that accesses guarded memory must be declared (SC_LOAD, SC_STORE,
 * SC_RMW, SC_REP_MOVS, SC_REP_STOS in asm/safecopy.inc) with its kind, width, base, index and
 * displacement; each declaration must name an instruction that makes exactly that access. The handler
 * trusts these tables to tell a routine's own fault from any other signal, so a missing declaration
 * turns a real fault into a crash and a wrong one turns a foreign signal into a bogus result.
 *
 * The routines are found generically: every address of the section the routines share is looked up
 * in the library's routine table, so a routine added to asm/ and to the table is checked without
 * touching this file, and declarations no listed routine owns are reported.
 *
 * Accesses that need no declaration, because they are not to memory the caller asked about:
 * - RIP-relative operands: the library's own data (the CPU feature flag), always mapped;
 * - the stack (RSP base, `ret`): the caller's frame, as in any C function;
 * - stores of the success exit through R11 into the caller's struct safecopy_fault (SC_RETURN_N):
 *   a bad record pointer is the caller's bug and crashes there, as the header documents.
 * Static suite only: it reads the hidden routine table; links libZydis.
 */
#ifdef SAFECOPY_TEST_INTERNALS
#include <Zydis/Zydis.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "safecopy/routines.h"

/* The linker's bounds of the sections asm/safecopy.inc puts the routines and their tables in. */
extern const uint8_t __start_safecopy_routines[], __stop_safecopy_routines[];
extern const struct sc_access __start_safecopy_access[], __stop_safecopy_access[];

#define MAX_ROUTINES 128
#define MAX_INSNS    1024

/* Problems found, kept as text for the failure message; counting goes on past the buffer. */
struct report {
	char text[4096];
	size_t used;
	int problems;
};

static void complain(struct report *rep, const char *routine, size_t offset, const char *what)
{
	rep->problems++;
	if (rep->used + 160 < sizeof rep->text)
		rep->used += (size_t)snprintf(rep->text + rep->used, sizeof rep->text - rep->used,
		                              "\n  %s+%#zx: %s", routine, offset, what);
}

/* Every routine in the routine table, in address order, found by looking up the routines' section. */
static size_t find_routines(const struct sc_routine_range **out)
{
	sc_routine_table_init();
	size_t n = 0;
	uintptr_t pc = (uintptr_t)__start_safecopy_routines;
	while (pc < (uintptr_t)__stop_safecopy_routines) {
		const struct sc_routine_range *r = sc_routine_at(pc);
		if (r == NULL) {
			pc++;
			continue;
		}
		cr_assert_lt(n, MAX_ROUTINES);
		out[n++] = r;
		pc = r->end;
	}
	return n;
}

static const char *routine_name(const struct sc_routine_range *r, char *buf, size_t size)
{
	snprintf(buf, size, "routine at safecopy_routines+%#lx, instruction",
	         (unsigned long)(r->begin - (uintptr_t)__start_safecopy_routines));
	return buf;
}

/* Encoding number (rax 0 ... r15 15) of a 64-bit general register, ARCH_REG_NONE for none, -1 else. */
static int gpr_number(ZydisRegister reg)
{
	if (reg == ZYDIS_REGISTER_NONE)
		return 0xff;
	if (ZydisRegisterGetClass(reg) != ZYDIS_REGCLASS_GPR64)
		return -1;
	return ZydisRegisterGetId(reg);
}

/* Why an access needs no declaration (see the file comment), or NULL when it must be declared. */
static const char *exempt_because(const ZydisDecodedOperand *op)
{
	if (op->mem.base == ZYDIS_REGISTER_RIP)
		return "library data";
	if (op->mem.base == ZYDIS_REGISTER_RSP)
		return "stack";
	bool write_only = (op->actions & ZYDIS_OPERAND_ACTION_MASK_READ) == 0;
	if (op->mem.base == ZYDIS_REGISTER_R11 && op->mem.index == ZYDIS_REGISTER_NONE && write_only &&
	    op->mem.disp.value >= 0 &&
	    op->mem.disp.value + op->size / 8 <= (int64_t)sizeof(struct safecopy_fault))
		return "fault record";
	return NULL;
}

/* The instruction's accesses to guarded memory: explicit or implicit memory operands not exempt. */
static size_t guarded_accesses(const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops,
                               const ZydisDecodedOperand **out)
{
	size_t n = 0;
	if (insn->mnemonic == ZYDIS_MNEMONIC_NOP) /* hinting nop: a ModRM operand, no access */
		return 0;
	for (size_t i = 0; i < insn->operand_count; i++)
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY && ops[i].mem.type == ZYDIS_MEMOP_TYPE_MEM &&
		    exempt_because(&ops[i]) == NULL)
			out[n++] = &ops[i];
	return n;
}

/* Checks one declaration against the instruction at its offset; complains about each mismatch. */
static void match_declaration(const struct sc_access *a, const ZydisDecodedInstruction *insn,
                              const ZydisDecodedOperand **acc, size_t n_acc, const char *name,
                              struct report *rep)
{
	char what[200];
	if (a->kind == SC_ACC_MOVS || a->kind == SC_ACC_STOS) {
		bool movs = a->kind == SC_ACC_MOVS;
		ZydisMnemonic want = movs ? ZYDIS_MNEMONIC_MOVSB : ZYDIS_MNEMONIC_STOSB;
		if (insn->mnemonic != want || !(insn->attributes & ZYDIS_ATTRIB_HAS_REP))
			complain(rep, name, a->offset,
			         movs ? "SC_REP_MOVS on an instruction that is not rep movsb"
			              : "SC_REP_STOS on an instruction that is not rep stosb");
		return;
	}
	if (n_acc != 1) {
		snprintf(what, sizeof what,
		         "declared access on an instruction with %zu guarded memory operands", n_acc);
		complain(rep, name, a->offset, what);
		return;
	}
	const ZydisDecodedOperand *op = acc[0];
	bool reads = op->actions & ZYDIS_OPERAND_ACTION_MASK_READ;
	bool writes = op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE;
	int kind = reads && writes ? SC_ACC_RMW : writes ? SC_ACC_STORE : SC_ACC_LOAD;
	int base = gpr_number(op->mem.base), index = gpr_number(op->mem.index);
	int64_t disp = op->mem.disp.has_displacement ? op->mem.disp.value : 0;
	bool scale_ok = op->mem.index == ZYDIS_REGISTER_NONE || op->mem.scale == 1;
	if (kind != a->kind || op->size != 8u * a->width || base != a->base || index != a->index ||
	    disp != a->disp || !scale_ok) {
		snprintf(
		    what, sizeof what,
		    "declared kind %d width %d base %d index %d disp %d; the instruction: kind %d width %d "
		    "base %d index %d (scale %d) disp %lld",
		    a->kind, a->width, a->base, a->index, a->disp, kind, op->size / 8, base, index,
		    op->mem.scale, (long long)disp);
		complain(rep, name, a->offset, what);
	}
}

/* How many declarations in [a, end) name this offset. */
static const struct sc_access *declared_at(const struct sc_access *a, const struct sc_access *end,
                                           size_t offset, int *count)
{
	const struct sc_access *found = NULL;
	*count = 0;
	for (; a < end; a++)
		if (a->offset == offset) {
			found = a;
			++*count;
		}
	return found;
}

/*
 * Decodes code[0, len) and checks it against the declarations [a, end); returns the problems found.
 * Separate from the routine table so that a doctored table can prove the check fails.
 */
static int check_code(const uint8_t *code, size_t len, const struct sc_access *a, const struct sc_access *end,
                      const char *name, struct report *rep)
{
	int before = rep->problems;
	ZydisDecoder dec;
	cr_assert_eq(ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64),
	             ZYAN_STATUS_SUCCESS);
	static bool starts[1 << 16]; /* offsets are u16 */
	memset(starts, 0, sizeof starts);
	for (size_t off = 0; off < len;) {
		ZydisDecodedInstruction insn;
		ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
		if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, code + off, len - off, &insn, ops))) {
			complain(rep, name, off, "does not decode");
			return rep->problems - before;
		}
		starts[off] = true;
		const ZydisDecodedOperand *acc[ZYDIS_MAX_OPERAND_COUNT];
		size_t n_acc = guarded_accesses(&insn, ops, acc);
		int count;
		const struct sc_access *decl = declared_at(a, end, off, &count);
		if (count > 1)
			complain(rep, name, off, "declared more than once");
		if (decl != NULL)
			match_declaration(decl, &insn, acc, n_acc, name, rep);
		else if (n_acc > 0)
			complain(rep, name, off, "accesses memory but is not declared");
		off += insn.length;
	}
	for (const struct sc_access *d = a; d < end; d++)
		if (d->offset >= len || !starts[d->offset])
			complain(rep, name, d->offset,
			         "declaration not at the start of an instruction of the routine");
	return rep->problems - before;
}

Test(access_table, every_guarded_access_of_every_routine_is_declared_exactly)
{
	const struct sc_routine_range *routines[MAX_ROUTINES];
	size_t n = find_routines(routines);
	cr_assert_geq(n, 2, "only %zu routines found in the routines' section", n);
	struct report rep = {.problems = 0};
	size_t declarations = 0;
	for (size_t i = 0; i < n; i++) {
		const struct sc_routine_range *r = routines[i];
		char name[64];
		check_code((const uint8_t *)r->begin, r->end - r->begin, r->access, r->access_end,
		           routine_name(r, name, sizeof name), &rep);
		declarations += (size_t)(r->access_end - r->access);
	}
	cr_assert_eq(rep.problems, 0, "%d problems in %zu routines (offsets from the section start):%s",
	             rep.problems, n, rep.text);
	cr_assert_gt(declarations, n, "%zu declarations for %zu routines", declarations, n);
}

Test(access_table, every_declaration_belongs_to_a_listed_routine)
{
	const struct sc_routine_range *routines[MAX_ROUTINES];
	size_t n = find_routines(routines);
	size_t owned = 0;
	for (size_t i = 0; i < n; i++) {
		cr_assert_geq(routines[i]->access, __start_safecopy_access);
		cr_assert_leq(routines[i]->access_end, __stop_safecopy_access);
		owned += (size_t)(routines[i]->access_end - routines[i]->access);
	}
	/* The tables do not overlap (each routine's sits between its own labels), so counts must agree. */
	size_t all = (size_t)(__stop_safecopy_access - __start_safecopy_access);
	cr_assert_eq(owned, all, "%zu declarations in asm, %zu owned by the %zu routines of the table", all,
	             owned, n);
}

/* sc_access_at searches by halving, which is right only while each routine's offsets increase. */
Test(access_table, every_routine_declares_its_accesses_in_instruction_order)
{
	const struct sc_routine_range *routines[MAX_ROUTINES];
	size_t n = find_routines(routines);
	for (size_t i = 0; i < n; i++)
		for (const struct sc_access *a = routines[i]->access; a + 1 < routines[i]->access_end; a++)
			cr_assert_lt(a[0].offset, a[1].offset, "routine %zu: declaration at +%#x before +%#x",
			             i, a[0].offset, a[1].offset);
}

/* Every declared instruction is found, and no byte between them (nor before or after the routine). */
Test(access_table, the_declaration_at_a_pc_is_found_and_only_there)
{
	const struct sc_routine_range *routines[MAX_ROUTINES];
	size_t n = find_routines(routines);
	size_t found = 0;
	for (size_t i = 0; i < n; i++) {
		const struct sc_routine_range *r = routines[i];
		const struct sc_access *next = r->access;
		for (uintptr_t pc = r->begin - 1; pc <= r->end; pc++) {
			const struct sc_access *a = sc_access_at(r, pc);
			if (next < r->access_end && pc == r->begin + next->offset) {
				cr_assert_eq(a, next, "routine %zu, +%#lx: not its declaration", i,
				             (unsigned long)(pc - r->begin));
				next++;
				found++;
			} else {
				cr_assert_null(a, "routine %zu, +%#lx: a declaration where none is", i,
				               (unsigned long)(pc - r->begin));
			}
		}
	}
	cr_assert_eq(found, (size_t)(__stop_safecopy_access - __start_safecopy_access));
}

/* The check itself can fail: the routine with the most declarations, checked with one removed or altered. */
static const struct sc_routine_range *busiest_routine(void)
{
	const struct sc_routine_range *routines[MAX_ROUTINES], *best = NULL;
	size_t n = find_routines(routines);
	for (size_t i = 0; i < n; i++)
		if (best == NULL ||
		    routines[i]->access_end - routines[i]->access > best->access_end - best->access)
			best = routines[i];
	cr_assert_not_null(best);
	return best;
}

Test(access_table, check_reports_a_missing_declaration)
{
	const struct sc_routine_range *r = busiest_routine();
	size_t count = (size_t)(r->access_end - r->access);
	struct sc_access copy[512];
	cr_assert_leq(count, 512);
	for (size_t drop = 0; drop < count; drop++) {
		size_t k = 0;
		for (size_t i = 0; i < count; i++)
			if (i != drop)
				copy[k++] = r->access[i];
		struct report rep = {.problems = 0};
		int found = check_code((const uint8_t *)r->begin, r->end - r->begin, copy, copy + k,
		                       "doctored", &rep);
		cr_assert_eq(found, 1, "declaration %zu removed: %d problems:%s", drop, found, rep.text);
	}
}

Test(access_table, check_reports_a_wrong_width_base_or_kind)
{
	const struct sc_routine_range *r = busiest_routine();
	size_t count = (size_t)(r->access_end - r->access);
	struct sc_access copy[512];
	cr_assert_leq(count, 512);
	for (int field = 0; field < 4; field++) {
		memcpy(copy, r->access, count * sizeof *copy);
		struct sc_access *a = &copy[count / 2];
		cr_assert_leq(a->kind, SC_ACC_RMW,
		              "the middle declaration of the busiest routine is a plain access");
		if (field == 0)
			a->width *= 2;
		else if (field == 1)
			a->base ^= 1;
		else if (field == 2)
			a->kind = a->kind == SC_ACC_LOAD ? SC_ACC_STORE : SC_ACC_LOAD;
		else
			a->offset += 1; /* inside the instruction */
		struct report rep = {.problems = 0};
		int found = check_code((const uint8_t *)r->begin, r->end - r->begin, copy, copy + count,
		                       "doctored", &rep);
		cr_assert_geq(found, 1, "field %d altered: no problem found", field);
	}
}
#endif
