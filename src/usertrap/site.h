/*
 * Layer 0 (see src/usertrap/README.md). The bytes of a system call site, before and after patching, and the
 * system calls whose sites are never patched. Used by the patcher, the SIGSYS path and the SIGILL
 * restart alike.
 *
 *   before: b8 imm32 0f 05       mov $nr,%eax; syscall     (imm32 == nr)
 *   after:  ff 24 25 a32         jmp *a32                  (a32: the slot's cell in the trap table)
 *
 * The third byte of every a32 is UT_GUARD (0x06, an invalid opcode in 64-bit mode): the trap table
 * lies where that holds (table.h asserts it), so the jump's +5 byte, over the old `syscall`, is the
 * guard the ordered writes put there first.
 */
#ifndef USERTRAP_SITE_H
#define USERTRAP_SITE_H

#include <string.h>
#include <sys/syscall.h>

#include "usertrap/defs.h"

#define UT_SITE_LEN       7    /* the whole pattern, and the whole jump */
#define UT_OP_MOV_EAX     0xb8 /* mov $imm32,%eax */
#define UT_SYSCALL_OFFSET 5    /* where `syscall` (0f 05) starts */
#define UT_SYSCALL_LEN    2
#define UT_GUARD          0x06 /* invalid opcode: a thread that meets it gets SIGILL, ILL_ILLOPN */

static const unsigned char ut_op_syscall[UT_SYSCALL_LEN] = {0x0f, 0x05};
static const unsigned char ut_op_jmp_abs32[3] = {0xff, 0x24, 0x25}; /* jmp *disp32 (no base, no index) */

/* True if b holds the pattern; *imm is then its immediate. */
static inline bool ut_site_matches(const unsigned char b[UT_SITE_LEN], uint32_t *imm)
{
	if (b[0] != UT_OP_MOV_EAX || memcmp(b + UT_SYSCALL_OFFSET, ut_op_syscall, UT_SYSCALL_LEN) != 0)
		return false;
	memcpy(imm, b + 1, 4);
	return true;
}

/* The jump through the cell at address `cell` (below 4 GiB). */
static inline void ut_jump_bytes(uint32_t cell, unsigned char out[UT_SITE_LEN])
{
	memcpy(out, ut_op_jmp_abs32, sizeof ut_op_jmp_abs32);
	memcpy(out + sizeof ut_op_jmp_abs32, &cell, 4);
}

/* System calls that can only run on the caller's own stack and registers (a new thread or process
 * starts on them, or they return to a frame they read there): their sites are never patched, and
 * their intercepted calls are run "in place" (see capture.c). */
static inline bool ut_in_place_nr(long nr)
{
	return nr == SYS_rt_sigreturn || nr == SYS_clone || nr == SYS_clone3 || nr == SYS_vfork;
}

/* The i386 numbers (`int $0x80`, USERTRAP_CALL_I386) that run in place whatever their arguments:
 * sigreturn, clone, rt_sigreturn, vfork, clone3 for the same reasons, and fork because what
 * usertrap_syscall does for a forked child is for the x86-64 calls (arch/x86/entry/syscalls/syscall_32.tbl).
 */
#define UT_I386_FORK         2
#define UT_I386_SIGRETURN    119
#define UT_I386_CLONE        120
#define UT_I386_RT_SIGRETURN 173
#define UT_I386_VFORK        190
#define UT_I386_CLONE3       435

static inline bool ut_in_place_i386_nr(long nr)
{
	return nr == UT_I386_FORK || nr == UT_I386_SIGRETURN || nr == UT_I386_CLONE ||
	       nr == UT_I386_RT_SIGRETURN || nr == UT_I386_VFORK || nr == UT_I386_CLONE3;
}

#endif
