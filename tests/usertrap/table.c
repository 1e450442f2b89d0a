/*
 * The trap table's code against the offsets src/usertrap/table.h uses for it (asm/usertrap_table.inc
 * has its own copy of them): the gate, the restorer (glibc's bytes, which unwinders recognise), the
 * windows' pass-through gate, a slot's in-place gate, and a slot's cell, whose third byte is the guard.
 */
#include "usertrap/table.h"
#include "usertrap/util.h"

static long pass(struct usertrap_call *call, void *arg)
{
	(void)arg;
	return usertrap_syscall(call);
}

Test(table, code_is_where_the_c_side_expects_it)
{
	struct usertrap_config cfg = {.hook = pass};
	cr_assert_eq(usertrap_init(&cfg, NULL), 0);
	const unsigned char *t = (const unsigned char *)usertrap_table_address();
	const unsigned char gate[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x89, 0xf8}; /* endbr64; mov %rdi,%rax */
	cr_assert_eq(memcmp(t + UT_H_SYSCALL, gate, sizeof gate), 0);
	const unsigned char restorer[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
	cr_assert_eq(memcmp(t + UT_H_RESTORER, restorer, sizeof restorer), 0, "mov $15,%%rax; syscall");
	/* syscall; mov -120(%rsp),%rcx; jmp *%rcx */
	const unsigned char window_gate[] = {0x0f, 0x05, 0x48, 0x8b, 0x4c, 0x24, 0x88, 0xff, 0xe1};
	cr_assert_eq(memcmp(t + UT_H_WINDOW_GATE, window_gate, sizeof window_gate), 0);
	const unsigned char *slot1 = t + UT_SLOT_SIZE;
	/* syscall; mov disp(%rip),%rcx; jmp *%rcx (disp: to the slot's resume field) */
	const unsigned char in_place_gate[] = {0x0f, 0x05, 0x48, 0x8b, 0x0d};
	cr_assert_eq(memcmp(slot1 + UT_C_GATE, in_place_gate, sizeof in_place_gate), 0);
	int32_t disp;
	memcpy(&disp, slot1 + UT_C_GATE + 5, sizeof disp);
	cr_assert_eq((uintptr_t)(slot1 + UT_C_GATE + 9 + disp), (uintptr_t)(slot1 + UT_DATA_DELTA + 8));
	const unsigned char jmp_rcx[] = {0xff, 0xe1};
	cr_assert_eq(memcmp(slot1 + UT_C_GATE + 9, jmp_rcx, sizeof jmp_rcx), 0);
	const uint64_t *data1 = (const uint64_t *)(slot1 + UT_DATA_DELTA);
	cr_assert_eq(data1[0], (uintptr_t)slot1, "a slot's cell holds its code's address");
	cr_assert_eq(((uintptr_t)data1 >> 16) & 0xff, UT_GUARD, "the cell's third byte is the guard");
}
