/*
 * ut_find_syscalls, the linear decode eager patching starts from: which syscall instructions it
 * reports, and that it decodes no further than the last `0f 05` of the function (the bytes after it
 * may not even decode).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

extern int ut_find_syscalls(uintptr_t fn_lo, uintptr_t fn_hi, uintptr_t *out, int max);

#define NOP 0x90
#define BAD 0x06 /* push %es: no instruction in 64-bit mode, Zydis fails on it */

static int find(const unsigned char *code, size_t n, uintptr_t *out, int max)
{
	return ut_find_syscalls((uintptr_t)code, (uintptr_t)code + n, out, max);
}

Test(find_syscalls, the_bytes_after_the_last_syscall_are_not_decoded)
{
	/* mov $39,%eax; syscall; ret; then two bytes that are no instruction */
	static const unsigned char code[] = {0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xc3, BAD, BAD};
	uintptr_t at[4] = {0};
	cr_assert_eq(find(code, sizeof code, at, 4), 1);
	cr_assert_eq(at[0], (uintptr_t)code + 5);
}

Test(find_syscalls, undecodable_bytes_before_a_syscall_fail_the_decode)
{
	static const unsigned char code[] = {NOP, BAD, 0x0f, 0x05, 0xc3};
	uintptr_t at[4] = {0};
	cr_assert_eq(find(code, sizeof code, at, 4), -1);
	cr_assert_eq(at[0], 0, "nothing stored");
}

Test(find_syscalls, syscall_bytes_inside_an_instruction_are_not_a_site)
{
	/* mov $0x050f,%eax (b8 0f 05 00 00): the decode reaches the bytes and steps over them */
	static const unsigned char code[] = {0xb8, 0x0f, 0x05, 0, 0, 0xc3, BAD};
	uintptr_t at[4] = {0};
	cr_assert_eq(find(code, sizeof code, at, 4), 0);
}

Test(find_syscalls, a_function_without_syscall_bytes_decodes_nothing)
{
	static const unsigned char code[] = {BAD, BAD, BAD, 0xc3};
	uintptr_t at[4] = {0};
	cr_assert_eq(find(code, sizeof code, at, 4), 0);
}

Test(find_syscalls, a_syscall_ending_the_function_is_found)
{
	static const unsigned char code[] = {NOP, 0x0f, 0x05};
	uintptr_t at[4] = {0};
	cr_assert_eq(find(code, sizeof code, at, 4), 1);
	cr_assert_eq(at[0], (uintptr_t)code + 1);
}

/* The bytes are read backwards 256 at a time: a `0f 05` split between two reads, several syscalls,
 * and undecodable bytes after the last one. */
Test(find_syscalls, syscalls_across_the_read_chunks)
{
	unsigned char code[600];
	memset(code, NOP, sizeof code);
	const size_t split = sizeof code - 256 - 1; /* 0f ends one read, 05 starts the one after it */
	code[10] = 0x0f, code[11] = 0x05;
	code[split] = 0x0f, code[split + 1] = 0x05;
	code[sizeof code - 2] = BAD, code[sizeof code - 1] = BAD;
	uintptr_t at[4] = {0};
	cr_assert_eq(find(code, sizeof code, at, 4), 2);
	cr_assert_eq(at[0], (uintptr_t)code + 10);
	cr_assert_eq(at[1], (uintptr_t)code + split);
	cr_assert_eq(find(code, sizeof code, at, 1), 1, "max stores the first only");
	cr_assert_eq(at[0], (uintptr_t)code + 10);
}
