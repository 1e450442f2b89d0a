/*
 * Only the memory an operation is about is guarded. A bad `fault` record or atomic output pointer is
 * the caller's bug and must crash like any bad pointer in C — never be reported as a fault of the
 * operation, and never be swallowed. Each case runs in a child that must die by SIGSEGV after the
 * call started (step 1) and before it returned.
 */
#include "harness.h"

/* Read through a volatile so that -O2 cannot see the constant: gcc's -Warray-bounds rejects a store
 * through it when the inline atomics are inlined, and the test is about what happens at run time. */
static void *volatile bad_pointer = (void *)0x10;
#define BAD_POINTER bad_pointer

static char src[100000], dst[100000];

static int copy_with_bad_record(void *arg)
{
	size_t n = (size_t)(uintptr_t)arg;
	child_step(1);
	safecopy_memcpy(dst, src, n, BAD_POINTER);
	child_step(2);
	return 0;
}

static int memset_with_bad_record(void *arg)
{
	size_t n = (size_t)(uintptr_t)arg;
	child_step(1);
	safecopy_memset(dst, 0x5a, n, BAD_POINTER);
	child_step(2);
	return 0;
}

static int load_with_bad_output(void *arg)
{
	(void)arg;
	static uint64_t cell = 7;
	child_step(1);
	safecopy_load64(&cell, BAD_POINTER, NULL);
	child_step(2);
	return 0;
}

static int cas_with_bad_record(void *arg)
{
	(void)arg;
	static uint32_t cell = 7;
	uint32_t actual;
	child_step(1);
	safecopy_cas32(&cell, 7, 8, &actual, BAD_POINTER);
	child_step(2);
	return 0;
}

/* Sizes on every path: inline exits (up to 64), the vector loop, rep movsb/stosb. */
static const size_t sizes[] = {1, 8, 40, 64, 100, 1000, 100000};

Test(caller_pointers, bad_fault_record_crashes_copy_and_memset)
{
	cr_assert_eq(safecopy_init(), 0);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		void *n = (void *)(uintptr_t)sizes[i];
		expect_signal(run_in_child(copy_with_bad_record, n, 10), SIGSEGV, 1);
		expect_signal(run_in_child(memset_with_bad_record, n, 10), SIGSEGV, 1);
	}
}

Test(caller_pointers, bad_atomic_output_or_record_crashes)
{
	cr_assert_eq(safecopy_init(), 0);
	expect_signal(run_in_child(load_with_bad_output, NULL, 10), SIGSEGV, 1);
	expect_signal(run_in_child(cas_with_bad_record, NULL, 10), SIGSEGV, 1);
}
