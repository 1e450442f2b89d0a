/*
 * The routines' declared accesses (asm/safecopy.inc) against the instructions themselves, as objdump
 * decodes them from this binary: the AVX-512 instructions are bytes that asm/evex.inc computes (yasm
 * knows no EVEX), so a wrong byte would make the handler believe in an access the CPU does not make.
 * For every declared load/store, the instruction at its offset must have exactly the declared
 * memory operand (disp(%base,%index,1)) and a vector register of the declared width; no byte of a
 * routine may decode as "(bad)". Static suite: the routines and their tables are hidden symbols.
 */
#ifdef SAFECOPY_TEST_INTERNALS
#include <criterion/criterion.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "safecopy/routines.h"

/* clang-format off */
#define ROUTINES(X) \
	X(sc_copy) X(sc_copy_rep) X(sc_copy_avx2) X(sc_copy_nt) X(sc_copy_nt_avx2) \
	X(sc_memset) X(sc_memset_rep) X(sc_memset_avx2) \
	X(sc_strncpy) X(sc_strncpy_sse2) X(sc_strnlen) X(sc_strnlen_sse2)
/* clang-format on */
#define DECLARE(name) SC_HIDDEN void sc_range_##name(struct sc_routine_range *out);
ROUTINES(DECLARE)
#define ENTRY(name) {#name, sc_range_##name},
static const struct {
	const char *name;
	void (*range)(struct sc_routine_range *);
} routines[] = {ROUTINES(ENTRY)};

static const char *const reg64[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                      "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

static int bias_of_main(struct dl_phdr_info *info, size_t size, void *out)
{
	(void)size;
	*(uintptr_t *)out = info->dlpi_addr;
	return 1; /* the first object is the program itself */
}

/* The AT&T memory operand objdump prints for the declared access a, e.g. -0x40(%rsi,%rdx,1). */
static void operand_text(const struct sc_access *a, char *buf, size_t n)
{
	int len = 0;
	if (a->disp)
		len = snprintf(buf, n, "%s0x%x", a->disp < 0 ? "-" : "",
		               (unsigned)(a->disp < 0 ? -a->disp : a->disp));
	len += snprintf(buf + len, n - (size_t)len, "(%%%s", reg64[a->base & 15]);
	if (a->index != 0xff)
		len += snprintf(buf + len, n - (size_t)len, ",%%%s,1", reg64[a->index & 15]);
	snprintf(buf + len, n - (size_t)len, ")");
}

static const char *vector_of_width(unsigned width)
{
	return width == 64 ? "%zmm" : width == 32 ? "%ymm" : width == 16 ? "%xmm" : NULL;
}

/* Decodes [r->begin, r->end) with objdump; checks every line and every declared access. Returns how
 * many loads and stores it checked. */
static int check_routine(const char *name, const struct sc_routine_range *r, uintptr_t bias)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd,
	         "objdump -d --no-show-raw-insn --start-address=0x%lx --stop-address=0x%lx /proc/%d/exe",
	         (unsigned long)(r->begin - bias), (unsigned long)(r->end - bias), (int)getpid());
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p, "%s", cmd);
	static char text[4096][400]; /* instruction text by offset from the routine's start */
	memset(text, 0, sizeof text);
	char line[512];
	int lines = 0;
	while (fgets(line, sizeof line, p)) {
		unsigned long addr;
		char insn[400];
		if (sscanf(line, " %lx:\t%399[^\n]", &addr, insn) != 2)
			continue;
		cr_assert(strstr(insn, "(bad)") == NULL, "%s+%#lx decodes as %s", name,
		          addr - (r->begin - bias), insn);
		unsigned long off = addr - (r->begin - bias);
		cr_assert_lt(off, 4096);
		snprintf(text[off], sizeof text[off], "%s", insn);
		lines++;
	}
	cr_assert_eq(pclose(p), 0, "objdump failed: %s", cmd);
	cr_assert_gt(lines, 3, "%s: objdump decoded nothing", name);
	int checked = 0;
	for (const struct sc_access *a = r->access; a < r->access_end; a++) {
		if (a->kind == SC_ACC_MOVS || a->kind == SC_ACC_STOS)
			continue;
		const char *insn = text[a->offset];
		cr_assert_neq(insn[0], '\0', "%s+%#x: no instruction starts at a declared access", name,
		              a->offset);
		char want[64];
		operand_text(a, want, sizeof want);
		cr_assert(strstr(insn, want) != NULL, "%s+%#x: %s, declared %s", name, a->offset, insn, want);
		const char *vec = vector_of_width(a->width);
		if (vec)
			cr_assert(strstr(insn, vec) != NULL, "%s+%#x: %s, declared %u bytes", name, a->offset,
			          insn, a->width);
		checked++;
	}
	return checked;
}

Test(encodings, declared_accesses_are_the_instructions)
{
	uintptr_t bias = 0;
	dl_iterate_phdr(bias_of_main, &bias);
	int checked = 0;
	for (size_t i = 0; i < sizeof routines / sizeof routines[0]; i++) {
		struct sc_routine_range r;
		routines[i].range(&r);
		checked += check_routine(routines[i].name, &r, bias);
	}
	cr_assert_gt(checked, 100, "only %d declared loads and stores checked", checked);
}
#endif
