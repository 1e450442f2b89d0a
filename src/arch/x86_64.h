/*
 * x86-64 Linux specifics of a signal's saved context: the only place that knows ucontext register
 * names. A second architecture adds its own header here and its own asm/, and nothing else.
 */
#ifndef SAFECOPY_ARCH_X86_64_H
#define SAFECOPY_ARCH_X86_64_H

#include <stdbool.h>
#include <stdint.h>
#include <ucontext.h>

#define ARCH_TRAP_PAGE_FAULT 14  /* #PF: si_addr is meaningful */
#define ARCH_PF_WRITE        0x2 /* page-fault error code: the access was a write */

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

/* True if the fault was a page fault, i.e. the kernel's si_addr is the faulting address. */
static inline bool arch_fault_is_page_fault(const void *uc)
{
	return ((const ucontext_t *)uc)->uc_mcontext.gregs[REG_TRAPNO] == ARCH_TRAP_PAGE_FAULT;
}

/* For a page fault: true if the faulting access was a write. */
static inline bool arch_fault_is_write(const void *uc)
{
	return (((const ucontext_t *)uc)->uc_mcontext.gregs[REG_ERR] & ARCH_PF_WRITE) != 0;
}

/* First byte above the lower canonical half (47-bit user space with 4-level paging). */
static inline bool arch_is_canonical(uintptr_t a)
{
	return (uintptr_t)((intptr_t)(a << 16) >> 16) == a;
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

/* The signal mask the thread gets back when the handler returns (the kernel's 64-bit sigset). */
static inline uint64_t *arch_uc_sigmask(void *uc)
{
	return (uint64_t *)(void *)&((ucontext_t *)uc)->uc_sigmask;
}

#endif
