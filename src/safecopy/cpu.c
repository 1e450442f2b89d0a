/*
 * CPU features the routines choose by, and the paging mode that decides which addresses are
 * canonical (a #GP from a non-canonical address is the one fault the kernel reports without address).
 */
#include <cpuid.h>
#include <sys/mman.h>

#include "arch/x86_64.h"
#include "safecopy/cpu.h"

unsigned char sc_cpu_has_avx2;
unsigned char arch_va_bits = 48;

/*
 * 5-level paging needs the CPU (CPUID.7.0:ECX[16]) and a kernel that enabled it. The kernel hands out
 * addresses above 47 bits only when asked with a hint above them: one probe mapping tells.
 */
static unsigned char detect_va_bits(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(c & (1u << 16)))
		return 48;
	void *hint = (void *)((uintptr_t)1 << 50);
	void *p = mmap(hint, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 48;
	munmap(p, 4096);
	return (uintptr_t)p >= ((uintptr_t)1 << 47) ? 57 : 48;
}

void sc_cpu_init(void)
{
	__builtin_cpu_init();
	sc_cpu_has_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
	arch_va_bits = detect_va_bits();
}
