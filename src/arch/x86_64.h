/*
 * x86-64 Linux specifics of a signal's saved context: the only place that knows ucontext register
 * names. A second architecture adds its own header here and its own asm/, and nothing else.
 */
#ifndef SAFECOPY_ARCH_X86_64_H
#define SAFECOPY_ARCH_X86_64_H

#include <stdbool.h>
#include <stdint.h>
#include <ucontext.h>

#define ARCH_TRAP_GP         13  /* #GP: non-canonical address; si_addr 0, si_code SI_KERNEL */
#define ARCH_TRAP_PAGE_FAULT 14  /* #PF: si_addr is meaningful */
#define ARCH_TRAP_AC         17  /* #AC: alignment check (EFLAGS.AC) or split lock; si_addr 0 */
#define ARCH_TRAP_MC         18  /* #MC: machine check */
#define ARCH_TRAP_CP         21  /* #CP: control protection (shadow stack) */
#define ARCH_PF_WRITE        0x2 /* page-fault error code: the access was a write */

/* General registers by their number in the instruction encoding (rax 0 ... rdi 7, r8 8 ... r15 15). */
#define ARCH_REG_NONE 0xff
#define ARCH_REG_RDI  7

static inline uint64_t arch_reg(const void *uc, unsigned regno)
{
	static const unsigned char greg_of[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
	                                          REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
	                                          REG_R12, REG_R13, REG_R14, REG_R15};
	return (uint64_t)((const ucontext_t *)uc)->uc_mcontext.gregs[greg_of[regno & 15]];
}

static inline uintptr_t arch_pc(const void *uc)
{
	return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
}

static inline void arch_set_pc(void *uc, uintptr_t pc)
{
	((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP] = (greg_t)pc;
}

/* The two integer return registers of the SysV ABI (RAX:RDX). */
static inline void arch_set_return(void *uc, uint64_t first, uint64_t second)
{
	((ucontext_t *)uc)->uc_mcontext.gregs[REG_RAX] = (greg_t)first;
	((ucontext_t *)uc)->uc_mcontext.gregs[REG_RDX] = (greg_t)second;
}

/*
 * The trap number, error code and CR2 the kernel saved with the signal. They describe the thread's
 * last trap that raised a signal, not necessarily this signal: a signal no instruction caused (a
 * child's exit signal, F_SETSIG) carries stale values. Use them only to confirm what else says.
 */
static inline unsigned arch_trapno(const void *uc)
{
	return (unsigned)((const ucontext_t *)uc)->uc_mcontext.gregs[REG_TRAPNO];
}

static inline uintptr_t arch_cr2(const void *uc)
{
	return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.gregs[REG_CR2];
}

/* True if the saved trap is a page fault, i.e. the kernel's si_addr is the faulting address. */
static inline bool arch_fault_is_page_fault(const void *uc)
{
	return arch_trapno(uc) == ARCH_TRAP_PAGE_FAULT;
}

/* For a page fault: true if the faulting access was a write. */
static inline bool arch_fault_is_write(const void *uc)
{
	return (((const ucontext_t *)uc)->uc_mcontext.gregs[REG_ERR] & ARCH_PF_WRITE) != 0;
}

/*
 * Canonical addresses: bits 63..N-1 all equal, N = 48 with 4-level paging, 57 with 5-level (LA57).
 * arch_va_bits is 48 until arch_detect_va_bits() finds the kernel runs with LA57.
 */
__attribute__((visibility("hidden"))) extern unsigned char arch_va_bits;

static inline bool arch_is_canonical(uintptr_t a)
{
	unsigned shift = 64u - arch_va_bits;
	return (uintptr_t)((intptr_t)(a << shift) >> shift) == a;
}

/* True if every byte of [a, a+len) is canonical (len > 0; the range may span the non-canonical hole). */
static inline bool arch_range_is_canonical(uintptr_t a, uintptr_t len)
{
	uintptr_t last = a + len - 1;
	return arch_is_canonical(a) && arch_is_canonical(last) && last >= a && (a >> 63) == (last >> 63);
}

/* ---- usertrap: the registers of an interrupted system call or faulting instruction ---- */

#define ARCH_PF_INSTR 0x10 /* page-fault error code: the access was an instruction fetch */

/* For a page fault: true if it was an instruction fetch (running code on a page that is not executable). */
static inline bool arch_fault_is_exec(const void *uc)
{
	return (((const ucontext_t *)uc)->uc_mcontext.gregs[REG_ERR] & ARCH_PF_INSTR) != 0;
}

static inline uint64_t arch_reg_rax(const void *uc)
{
	return (uint64_t)((const ucontext_t *)uc)->uc_mcontext.gregs[REG_RAX];
}

static inline void arch_set_rax(void *uc, uint64_t v)
{
	((ucontext_t *)uc)->uc_mcontext.gregs[REG_RAX] = (greg_t)v;
}

/* The six syscall argument registers, in order: rdi, rsi, rdx, r10, r8, r9. */
static inline void arch_syscall_args(const void *uc, long args[6])
{
	const greg_t *g = ((const ucontext_t *)uc)->uc_mcontext.gregs;
	args[0] = (long)g[REG_RDI];
	args[1] = (long)g[REG_RSI];
	args[2] = (long)g[REG_RDX];
	args[3] = (long)g[REG_R10];
	args[4] = (long)g[REG_R8];
	args[5] = (long)g[REG_R9];
}

/* si_arch of a SIGSYS for an i386 call (`int $0x80` from 64-bit code): AUDIT_ARCH_I386. */
#define ARCH_AUDIT_I386 0x40000003u

/* The six i386 argument registers, in order: ebx, ecx, edx, esi, edi, ebp, zero-extended as the kernel
 * reads them for an `int $0x80` call. */
static inline void arch_i386_syscall_args(const void *uc, long args[6])
{
	const greg_t *g = ((const ucontext_t *)uc)->uc_mcontext.gregs;
	args[0] = (long)(uint32_t)g[REG_RBX];
	args[1] = (long)(uint32_t)g[REG_RCX];
	args[2] = (long)(uint32_t)g[REG_RDX];
	args[3] = (long)(uint32_t)g[REG_RSI];
	args[4] = (long)(uint32_t)g[REG_RDI];
	args[5] = (long)(uint32_t)g[REG_RBP];
}

/* The signal mask the thread gets back when the handler returns (the kernel's 64-bit sigset). */
static inline uint64_t *arch_uc_sigmask(void *uc)
{
	return (uint64_t *)(void *)&((ucontext_t *)uc)->uc_sigmask;
}

#endif
