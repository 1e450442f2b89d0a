/*
 * Raw system calls for signal-handler paths. They never touch errno and never go through a PLT, so a
 * handler that uses them needs no lazy binding (which costs ~1.3 KB of stack in the dynamic linker)
 * and cannot disturb the interrupted code's errno.
 */
#ifndef SAFECOPY_ARCH_X86_64_SYSCALL_H
#define SAFECOPY_ARCH_X86_64_SYSCALL_H

/* Returns the kernel's result: >= 0, or -errno. */
static inline long arch_syscall4(long nr, long a, long b, long c, long d)
{
	long ret;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall"
	                 : "=a"(ret)
	                 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
	                 : "rcx", "r11", "memory");
	return ret;
}

#endif
