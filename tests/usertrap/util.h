/* Helpers of the usertrap suites: lazy init, executable buffers of generated syscall sites. */
#ifndef USERTRAP_TEST_UTIL_H
#define USERTRAP_TEST_UTIL_H

#include <cpuid.h>
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "usertrap.h"

/* Test-only hook of the patcher (src/usertrap/patcher.h): called after each of the first three of its
 * four ordered writes. */
extern void (*ut_test_step_hook)(uintptr_t site, int step, void *arg);
extern void *ut_test_step_arg;
/* Test-only hook of the SIGSYS handler (src/usertrap/capture.h): called by a first hit before it looks
 * at the site. */
extern void (*ut_test_first_hit_hook)(uintptr_t insn);
/* Test-only switch of the code writer (src/usertrap/pagewrite.h): true takes the page swap, as on a
 * kernel that refuses forced writes into /proc/self/mem. */
extern bool ut_test_no_proc_mem;

/*
 * usertrap_init with USERTRAP_LAZY | flags. On a kernel without Syscall User Dispatch the test is
 * skipped and says why (Criterion counts a skipped test as neither tested nor passing); any other
 * failure fails it.
 */
static inline void lazy_init_or_skip(usertrap_hook_fn hook, unsigned flags)
{
	struct usertrap_config cfg = {.hook = hook, .flags = USERTRAP_LAZY | flags};
	struct usertrap_error err;
	int r = usertrap_init(&cfg, &err);
	if (r == USERTRAP_ERR_NO_SUD)
		cr_skip_test("not run: this kernel lacks Syscall User Dispatch (Linux >= 5.11)");
	cr_assert_eq(r, 0, "usertrap_init: %s (errno %d)", usertrap_status_name(r), err.sys_errno);
}

/*
 * A callable site: `mov %rcx,%r10; mov $nr,%eax; syscall; ret` (so a C call passes 4 arguments).
 * The pattern itself starts at offset 3.
 */
#define SITE_STRIDE 16
#define SITE_OFFSET 3
typedef long (*site_fn)(long, long, long, long);

static inline void write_site(unsigned char *p, uint32_t nr)
{
	const unsigned char code[] = {0x49, 0x89, 0xca, 0xb8, 0, 0, 0, 0, 0x0f, 0x05, 0xc3};
	memcpy(p, code, sizeof code);
	memcpy(p + 4, &nr, 4);
	memset(p + sizeof code, 0xcc, SITE_STRIDE - sizeof code);
}

/* n sites for syscall nr in fresh read-execute memory (MAP_PRIVATE unless shared). */
static inline unsigned char *make_sites(size_t n, uint32_t nr, bool shared)
{
	size_t len = (n * SITE_STRIDE + 4095) & ~(size_t)4095;
	unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
	                        (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
	cr_assert(m != MAP_FAILED);
	for (size_t i = 0; i < n; i++)
		write_site(m + i * SITE_STRIDE, nr);
	cr_assert_eq(mprotect(m, len, PROT_READ | PROT_EXEC), 0);
	return m;
}

static inline void *site_at(unsigned char *m, size_t i)
{
	return m + i * SITE_STRIDE + SITE_OFFSET;
}

static inline site_fn fn_at(unsigned char *m, size_t i)
{
	return (site_fn)(void *)(m + i * SITE_STRIDE);
}

/* An unused syscall number: native calls of it return -ENOSYS, so a hook that answers it proves the
 * call went through the hook. */
#define NR_FAKE  500
#define NR_FAKE2 501

/* Patches USERTRAP_MAX_SITES fresh sites of NR_FAKE: every trap-table slot is taken. */
static inline void take_every_slot(void)
{
	unsigned char *m = make_sites(USERTRAP_MAX_SITES, NR_FAKE, false);
	for (int i = 0; i < USERTRAP_MAX_SITES; i++)
		cr_assert_eq(usertrap_patch(site_at(m, i), NR_FAKE, NULL), 0, "site %d", i);
}

/*
 * Assembler macros for the register tests' top-level asm routines (Intel syntax), which jump to a
 * patched site with every register set: `keep_caller saved` pushes the caller's callee-saved registers
 * and then keeps RSP in the 64-bit variable `saved`; `back_to_caller saved` takes them back and returns.
 */
__asm__(".macro keep_caller saved\n"
        "\tpush rbx\n\tpush rbp\n\tpush r12\n\tpush r13\n\tpush r14\n\tpush r15\n"
        "\tmov [rip + \\saved], rsp\n"
        ".endm\n"
        ".macro back_to_caller saved\n"
        "\tmov rsp, [rip + \\saved]\n"
        "\tpop r15\n\tpop r14\n\tpop r13\n\tpop r12\n\tpop rbp\n\tpop rbx\n\tret\n"
        ".endm\n");

/* True if USERTRAP_VECTOR_INUSE can run here: AVX-512 F and BW, XGETBV with ECX = 1 (XINUSE). */
static inline bool inuse_supported(void)
{
	unsigned a, b, c, d;
	__cpuid_count(7, 0, a, b, c, d);
	bool avx512 = (b & (1u << 16)) && (b & (1u << 30));
	__cpuid_count(0xd, 1, a, b, c, d);
	return avx512 && (a & (1u << 2));
}

/*
 * A patched site of NR_FAKE2 that resumes at `resume`: mov $NR_FAKE2,%eax; syscall; then jmp *resume
 * (absolute, through the next 8 bytes). Entered by a jump, so a routine can reach it with every
 * register set and come back without a call (nothing pushed into its red zone).
 */
static inline void *patched_jump_site(const void *resume)
{
	unsigned char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(m != MAP_FAILED);
	const unsigned char code[] = {
	    0xb8, NR_FAKE2 & 0xff, NR_FAKE2 >> 8, 0, 0, 0x0f, 0x05, 0xff, 0x25, 0, 0, 0, 0};
	memcpy(m, code, sizeof code);
	uint64_t back = (uint64_t)(uintptr_t)resume;
	memcpy(m + sizeof code, &back, 8);
	cr_assert_eq(mprotect(m, 4096, PROT_READ | PROT_EXEC), 0);
	struct usertrap_error err;
	int r = usertrap_patch(m, NR_FAKE2, &err);
	cr_assert_eq(r, 0, "patch: %s", usertrap_status_name(r));
	return m;
}

#endif
