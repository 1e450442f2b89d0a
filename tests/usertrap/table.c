/*
 * The trap table's code against the offsets src/usertrap/table.h uses for it (asm/usertrap_table.inc
 * has its own copy of them): the gate, the restorer (glibc's bytes, which unwinders recognise), the
 * windows' pass-through gate, the i386 gate, a slot's in-place gates (`syscall` and `int $0x80`), and
 * a slot's cell, whose third byte is the guard.
 */
#include "usertrap/table.h"
#include <stdio.h>

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
	/* syscall; jmp +0; mov -120(%rsp),%rcx; jmp *%rcx */
	const unsigned char window_gate[] = {0x0f, 0x05, 0xeb, 0x00, 0x48, 0x8b,
	                                     0x4c, 0x24, 0x88, 0xff, 0xe1};
	cr_assert_eq(memcmp(t + UT_H_WINDOW_GATE, window_gate, sizeof window_gate), 0);
	const unsigned char *slot1 = t + UT_SLOT_SIZE;
	/* syscall; jmp +0; mov disp(%rip),%rcx; jmp *%rcx (disp: to the slot's resume field) */
	const unsigned char in_place_gate[] = {0x0f, 0x05, 0xeb, 0x00, 0x48, 0x8b, 0x0d};
	cr_assert_eq(memcmp(slot1 + UT_C_GATE, in_place_gate, sizeof in_place_gate), 0);
	int32_t disp;
	memcpy(&disp, slot1 + UT_C_GATE + 7, sizeof disp);
	cr_assert_eq((uintptr_t)(slot1 + UT_C_GATE + 11 + disp), (uintptr_t)(slot1 + UT_DATA_DELTA + 8));
	const unsigned char jmp_rcx[] = {0xff, 0xe1};
	cr_assert_eq(memcmp(slot1 + UT_C_GATE + 11, jmp_rcx, sizeof jmp_rcx), 0);
	const unsigned char int80_gate[] = {0xf3, 0x0f, 0x1e, 0xfa,
	                                    0xcd, 0x80, 0xc3}; /* endbr64; int $0x80; ret */
	cr_assert_eq(memcmp(t + UT_H_INT80, int80_gate, sizeof int80_gate), 0);
	/* int $0x80; jmp +0; jmp *disp(%rip) (disp: to the slot's resume field; RCX is left alone) */
	const unsigned char in_place_i386[] = {0xcd, 0x80, 0xeb, 0x00, 0xff, 0x25};
	cr_assert_eq(memcmp(slot1 + UT_C_GATE_I386, in_place_i386, sizeof in_place_i386), 0);
	memcpy(&disp, slot1 + UT_C_GATE_I386 + 6, sizeof disp);
	cr_assert_eq((uintptr_t)(slot1 + UT_C_GATE_I386 + 10 + disp), (uintptr_t)(slot1 + UT_DATA_DELTA + 8));
	const uint64_t *data1 = (const uint64_t *)(slot1 + UT_DATA_DELTA);
	cr_assert_eq(data1[0], (uintptr_t)slot1, "a slot's cell holds its code's address");
	cr_assert_eq(((uintptr_t)data1 >> 16) & 0xff, UT_GUARD, "the cell's third byte is the guard");
}

/* The permissions ("r-xp") of the mapping holding addr in /proc/self/maps; "" if none does. */
static void perms_at(uintptr_t addr, char out[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	cr_assert_not_null(f);
	char line[512];
	out[0] = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char p[5];
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && lo <= addr && addr < hi)
			memcpy(out, p, 5);
	}
	fclose(f);
}

static bool resident(uintptr_t page)
{
	unsigned char v = 0;
	cr_assert_eq(mincore((void *)page, UT_PAGE, &v), 0);
	return v & 1;
}

static long answer(struct usertrap_call *call, void *arg)
{
	(void)arg;
	return call->nr == NR_FAKE ? 4242 : usertrap_syscall(call);
}

/* At init only the first page of code (read-execute) and of data are filled; the other code pages are
 * PROT_NONE and their data pages untouched until the first slot on them is bound. The 51st site takes
 * slot 51, the first of the second page: that page is then filled, read-execute, with the slot's code
 * (the template, as slot 1's), int3 after the last slot, and its cell. */
Test(table, pages_are_filled_when_their_first_slot_is_bound)
{
	struct usertrap_config cfg = {.hook = answer};
	cr_assert_eq(usertrap_init(&cfg, NULL), 0);
	uintptr_t t = usertrap_table_address();
	char p[5];
	perms_at(t, p);
	cr_assert_str_eq(p, "r-xp");
	perms_at(t + UT_PAGE, p);
	cr_assert_str_eq(p, "---p", "code pages of no slot yet");
	perms_at(t + UT_DATA_DELTA, p);
	cr_assert_str_eq(p, "rw-p");
	cr_assert(resident(t + UT_DATA_DELTA));
	cr_assert_not(resident(t + UT_DATA_DELTA + UT_PAGE), "data page 1 untouched");
	unsigned char *m = make_sites(UT_SLOTS_PER_PAGE, NR_FAKE, false);
	for (int i = 0; i < UT_SLOTS_PER_PAGE - 1; i++)
		cr_assert_eq(usertrap_patch(site_at(m, i), NR_FAKE, NULL), 0, "site %d", i);
	perms_at(t + UT_PAGE, p);
	cr_assert_str_eq(p, "---p", "slots 1..50 are all on page 0");
	cr_assert_not(resident(t + UT_DATA_DELTA + UT_PAGE));
	cr_assert_eq(usertrap_patch(site_at(m, UT_SLOTS_PER_PAGE - 1), NR_FAKE, NULL), 0);
	perms_at(t + UT_PAGE, p);
	cr_assert_str_eq(p, "r-xp");
	const unsigned char *slot1 = (const unsigned char *)t + UT_SLOT_SIZE;
	const unsigned char *slot51 = (const unsigned char *)t + UT_PAGE;
	cr_assert_eq(memcmp(slot51, slot1, UT_SLOT_SIZE), 0, "the same template");
	for (uintptr_t k = UT_SLOTS_PER_PAGE * UT_SLOT_SIZE; k < UT_PAGE; k++)
		cr_assert_eq(slot51[k], 0xcc, "int3 after the last slot, byte %lu", (unsigned long)k);
	const uint64_t *cell51 = (const uint64_t *)(slot51 + UT_DATA_DELTA);
	cr_assert_eq(cell51[0], (uintptr_t)slot51, "its cell holds its code's address");
	for (int i = 0; i < UT_SLOTS_PER_PAGE; i++)
		cr_assert_eq(fn_at(m, i)(0, 0, 0, 0), 4242, "site %d", i);
	perms_at(t + 2 * UT_PAGE, p);
	cr_assert_str_eq(p, "---p");
}
