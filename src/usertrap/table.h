/*
 * Layer 1 (see src/usertrap/README.md). The trap table: UT_CODE_PAGES pages of code (the syscall gate, the
 * signal restorer, one identical stub per slot) and as many pages of per-slot data, at a page in
 * [USERTRAP_TABLE_LOW, USERTRAP_TABLE_HIGH); the raw syscall through its gate.
 */
#ifndef USERTRAP_TABLE_H
#define USERTRAP_TABLE_H

#include <stddef.h>

#include "usertrap/defs.h"
#include "usertrap/site.h"

/* Layout: asm/usertrap_table.inc has the same values. The data offsets are asserted below; the code
 * offsets (UT_C_GATE, UT_H_*) are checked against the table's bytes by tests/usertrap/table.c. */
#define UT_SLOT_SIZE      80
#define UT_SLOTS_PER_PAGE 51
#define UT_SLOTS          256
#define UT_CODE_PAGES     6
#define UT_DATA_DELTA     (UT_CODE_PAGES * UT_PAGE)
#define UT_TABLE_SIZE     (2 * UT_DATA_DELTA)
#define UT_C_GATE         32 /* in a code slot: `syscall; jmp +0; mov [resume],%rcx; jmp *%rcx` */
#define UT_C_GATE_I386    48 /* in a code slot: `int $0x80; jmp +0; jmp *[resume]` (RCX is an i386 argument) */
#define UT_H_SYSCALL      0  /* in the header's code: the gate */
#define UT_H_INT80        32 /* in the header's code: `endbr64; int $0x80; ret`, the i386 gate */
#define UT_H_RESTORER     48 /* in the header's code: the rt_sigreturn restorer */
#define UT_H_WINDOW_GATE                                                                          \
	64 /* in the header's code: `syscall; jmp +0; mov -120(%rsp),%rcx; jmp *%rcx`: a window's \
	      pass-through */

_Static_assert(UT_SLOTS == USERTRAP_MAX_SITES + 1, "slot 0 is the header");
_Static_assert(UT_SLOTS_PER_PAGE *UT_SLOT_SIZE <= UT_PAGE, "no slot crosses a page");
_Static_assert((UT_SLOTS + UT_SLOTS_PER_PAGE - 1) / UT_SLOTS_PER_PAGE <= UT_CODE_PAGES,
               "room for every slot");
/* Every address in the range has UT_GUARD as its third byte: the jump's +5 byte is the guard. */
_Static_assert(((USERTRAP_TABLE_LOW >> 16) & 0xff) == UT_GUARD &&
                   (((USERTRAP_TABLE_HIGH - 1) >> 16) & 0xff) == UT_GUARD &&
                   USERTRAP_TABLE_HIGH < (1UL << 24),
               "the table's addresses carry the guard byte");

_Static_assert(UT_SYSCALL_LEN == 2, "asm/usertrap_table.inc: UT_SYSCALL_LEN");

/* A data slot (asm/usertrap_table.inc: UT_D_*). */
struct ut_data_slot {
	uint64_t entry;  /* address of the slot's code: the cell a patched site jumps through */
	uint64_t resume; /* patched: site + 7; gate: syscall instruction + 2 */
	uint64_t nr;
	uint64_t common; /* trampoline body */
	uint64_t site;   /* patched: pattern start; gate: syscall instruction */
	uint64_t kind;   /* enum ut_slot_kind */
	uint64_t spare[4];
};
_Static_assert(sizeof(struct ut_data_slot) == UT_SLOT_SIZE && offsetof(struct ut_data_slot, entry) == 0 &&
                   offsetof(struct ut_data_slot, resume) == 8 && offsetof(struct ut_data_slot, nr) == 16 &&
                   offsetof(struct ut_data_slot, common) == 24,
               "asm/usertrap_table.inc: UT_D_* offsets of a data slot");

/* The header, in data slot 0. */
struct ut_table_header {
	uint64_t magic;
	uint64_t next_free; /* first never-used slot index (slots are bound for good once used) */
	uint64_t spare[8];
};
_Static_assert(sizeof(struct ut_table_header) == UT_SLOT_SIZE, "the header is slot 0");

enum ut_slot_kind { UT_SLOT_FREE = 0, UT_SLOT_PATCH = 1, UT_SLOT_GATE = 2 };

/* The code base; 0 before the table is mapped. Read atomically (acquire). Inline, as
 * ut_table_contains: both are on every trampoline call's way (ut_dispatch). */
UT_HIDDEN extern uintptr_t ut_table_base;
static inline uintptr_t ut_table(void)
{
	return __atomic_load_n(&ut_table_base, __ATOMIC_ACQUIRE);
}

/* True if [a, a + len) overlaps the table's code and data pages. */
static inline bool ut_table_contains(uintptr_t a, uintptr_t len)
{
	uintptr_t t = ut_table();
	return t && a + len > t && a < t + UT_TABLE_SIZE;
}

/* Maps the table at `want` (0: a random free page of the range) with `common` as every slot's body,
 * never writable and executable at once. Returns 0 or ERR_INVAL (want outside the range or not page
 * aligned), ERR_TABLE_BUSY, ERR_SYS; then nothing is mapped. */
UT_HIDDEN int ut_table_map(uintptr_t want, uintptr_t common, struct usertrap_error *err);
/* Unmaps it (only for an init that mapped it and then failed: no thread can be in it yet). */
UT_HIDDEN void ut_table_unmap(void);
/* Makes `common` the body of every slot. */
UT_HIDDEN void ut_table_set_common(uintptr_t common);
/* Makes slot i usable (its page's code and cells filled, see table.c) before the registry binds it;
 * slots are bound in order. False if it cannot be (no table, i out of range, an mprotect failed).
 * Patch lock. */
UT_HIDDEN bool ut_table_slot_ready(unsigned i);
UT_HIDDEN uintptr_t ut_table_common(void);

UT_HIDDEN struct ut_data_slot *ut_data_slot(unsigned i);
UT_HIDDEN struct ut_table_header *ut_header(void);
UT_HIDDEN uintptr_t ut_code_slot(unsigned i);
UT_HIDDEN uintptr_t ut_restorer(void);

/* The raw syscall through the table's gate (or libc's before the table exists): never intercepted by
 * Syscall User Dispatch. Returns the kernel's result (-errno). Async-signal-safe. */
UT_HIDDEN long ut_sys(long nr, long a1, long a2, long a3, long a4, long a5, long a6);
/* The raw i386 call (`int $0x80`) nr with args[0..5] in EBX, ECX, EDX, ESI, EDI, EBP (low 32 bits),
 * through the table's i386 gate: never intercepted. Returns RAX as the kernel left it. Async-signal-safe. */
UT_HIDDEN long ut_sys_i386(long nr, const long args[6]);
#define UT_SYS0(nr)                ut_sys(nr, 0, 0, 0, 0, 0, 0)
#define UT_SYS1(nr, a)             ut_sys(nr, (long)(a), 0, 0, 0, 0, 0)
#define UT_SYS2(nr, a, b)          ut_sys(nr, (long)(a), (long)(b), 0, 0, 0, 0)
#define UT_SYS3(nr, a, b, c)       ut_sys(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define UT_SYS4(nr, a, b, c, d)    ut_sys(nr, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define UT_SYS5(nr, a, b, c, d, e) ut_sys(nr, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

#endif
