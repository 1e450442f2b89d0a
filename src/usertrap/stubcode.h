/*
 * Layer 0 (see src/usertrap/README.md). The code of a window's stub: the window's instructions moved
 * (RIP-relative operands and relative branches re-aimed, short branches widened to rel32), the call of
 * the trampoline body where the `syscall` was, and a jump back to the window's end.
 *
 * Where the syscall was, the stub builds on the stack, below the red zone, the three words the body
 * reads from a trap-table data slot (the site, the resume address, the number: UT_D_RESUME and UT_D_NR
 * of asm/usertrap_table.inc), points R11 at them and jumps to the body through a data slot's `common`
 * cell, as a slot's code does. The number is RAX at that point, so the same stub serves `xor %eax,%eax`,
 * `mov %reg,%eax` and `mov 0x10(%rsp),%rax` alike. The numbers whose call must run on the caller's own
 * stack (site.h: ut_in_place_nr) are checked first (in RCX, which the syscall clobbers anyway: the
 * flags are not touched) and make a real
 * syscall from the stub instead: natively, or through Syscall User Dispatch to the SIGSYS path, which
 * runs them in place.
 */
#ifndef USERTRAP_STUBCODE_H
#define USERTRAP_STUBCODE_H

#include "usertrap/decode.h"

#define UT_STUB_MAX 320 /* bytes of the longest stub */

/* Where each point of the window went in the stub. */
struct ut_stub_map {
	uint16_t
	    at[UT_WIN_MAX_INSNS]; /* per instruction of the plan: its copy (the syscall: the hook call) */
	uint16_t after_syscall;   /* where a thread that made the syscall itself continues */
};

/* Writes into out (UT_STUB_MAX bytes) the stub of plan p as it must be at address stub, entering the
 * body through the cell at common_cell (below 4 GiB). Returns its length, or 0 if a moved displacement
 * does not reach from there (more than 2 GiB away). */
UT_HIDDEN size_t ut_stub_emit(const struct ut_plan *p, uintptr_t stub, uint32_t common_cell,
                              unsigned char *out, struct ut_stub_map *map);

#endif
