/*
 * The trap table: its code pages are filled from the asm templates while read-write, then made
 * read-execute before any use (never W+X); its data pages stay read-write. Also the raw-syscall gate.
 * Only the first page of each (the header and 50 slots: a short process binds a few dozen) is filled at
 * the mapping: filling all twelve cost every process twelve page faults. A code page of slots not
 * filled yet is PROT_NONE (a stray jump there faults, as int3 would) and its data page untouched; it is
 * filled when the registry binds its first slot (ut_table_slot_ready), before any jump can lead there:
 * a fresh page is filled, made read-execute and moved into its place, so that the table's code is still
 * never writable after it is mapped.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "usertrap/status.h"
#include "usertrap/table.h"

#define UT_MAGIC 0x7061727472657375ULL /* "usertrap" */

/* asm/usertrap_table.asm: the header's code and one slot's code. */
UT_HIDDEN extern const unsigned char ut_tpl_header[UT_SLOT_SIZE];
UT_HIDDEN extern const unsigned char ut_tpl_slot[UT_SLOT_SIZE];

uintptr_t ut_table_base; /* read and written atomically: ut_sys reads it from any thread */
static uintptr_t common; /* the body every slot uses */
static unsigned filled;  /* pages of slots filled (code and data): slots below filled * UT_SLOTS_PER_PAGE */

uintptr_t usertrap_table_address(void)
{
	return ut_table();
}

typedef long (*gate_fn)(long, long, long, long, long, long, long);

long ut_sys(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	uintptr_t t = ut_table();
	if (!t) {
		long r = syscall(nr, a1, a2, a3, a4, a5, a6);
		return r == -1 ? -errno : r;
	}
	return ((gate_fn)(t + UT_H_SYSCALL))(nr, a1, a2, a3, a4, a5, a6);
}

/* asm/usertrap_table.asm: sets the i386 registers from regs = {nr, args[0..5]} and calls gate. */
UT_HIDDEN long ut_int80_via(const long regs[7], uintptr_t gate);
/* asm/usertrap_table.asm: `int $0x80; ret` in the library's text, for before the table exists. */
UT_HIDDEN extern const unsigned char ut_int80_local[];

long ut_sys_i386(long nr, const long args[6])
{
	const long regs[7] = {nr, args[0], args[1], args[2], args[3], args[4], args[5]};
	uintptr_t t = ut_table();
	return ut_int80_via(regs, t ? t + UT_H_INT80 : (uintptr_t)ut_int80_local);
}

static uintptr_t slot_offset(unsigned i)
{
	return (uintptr_t)(i / UT_SLOTS_PER_PAGE) * UT_PAGE +
	       (uintptr_t)(i % UT_SLOTS_PER_PAGE) * UT_SLOT_SIZE;
}

uintptr_t ut_code_slot(unsigned i)
{
	return ut_table() + slot_offset(i);
}

struct ut_data_slot *ut_data_slot(unsigned i)
{
	return (struct ut_data_slot *)(ut_table() + UT_DATA_DELTA + slot_offset(i));
}

struct ut_table_header *ut_header(void)
{
	return (struct ut_table_header *)(ut_table() + UT_DATA_DELTA);
}

uintptr_t ut_restorer(void)
{
	return ut_table() + UT_H_RESTORER;
}

/* Slots [1, ready): those of the filled pages. */
static unsigned ready_slots(void)
{
	unsigned n = filled * UT_SLOTS_PER_PAGE;
	return n < UT_SLOTS ? n : UT_SLOTS;
}

void ut_table_set_common(uintptr_t body)
{
	common = body;
	for (unsigned i = 1; i < ready_slots(); i++)
		__atomic_store_n(&ut_data_slot(i)->common, (uint64_t)body, __ATOMIC_RELAXED);
}

uintptr_t ut_table_common(void)
{
	return common;
}

/* The code of page p of the table into code (writable, not yet executable): the slots' code, int3
 * wherever there is no stub; page 0 holds the header instead of slot 0. The slot code is the same at
 * every slot (it finds its cell PC-relatively). */
static void fill_code(unsigned char *code, unsigned p)
{
	memset(code, 0xCC, UT_PAGE);
	unsigned first = p ? p * UT_SLOTS_PER_PAGE : 1, end = (p + 1) * UT_SLOTS_PER_PAGE;
	if (p == 0)
		memcpy(code, ut_tpl_header, UT_SLOT_SIZE);
	for (unsigned i = first; i < end && i < UT_SLOTS; i++)
		memcpy(code + slot_offset(i) % UT_PAGE, ut_tpl_slot, UT_SLOT_SIZE);
}

/* The cells of page p's slots in the table at base (its data pages are read-write); page 0 also
 * holds the header. */
static void fill_cells(unsigned char *base, unsigned p, uintptr_t body)
{
	unsigned first = p ? p * UT_SLOTS_PER_PAGE : 1, end = (p + 1) * UT_SLOTS_PER_PAGE;
	if (p == 0) {
		struct ut_table_header *h = (struct ut_table_header *)(base + UT_DATA_DELTA);
		h->magic = UT_MAGIC;
		h->next_free = 1;
	}
	for (unsigned i = first; i < end && i < UT_SLOTS; i++) {
		struct ut_data_slot *d = (struct ut_data_slot *)(base + UT_DATA_DELTA + slot_offset(i));
		d->entry = (uint64_t)(uintptr_t)(base + slot_offset(i));
		d->common = body;
	}
}

/* A read-execute page filled with page p's code, put in the place of the table's PROT_NONE page p in
 * one step (mremap): the table's code itself never becomes writable. False if a call failed. */
static bool swap_in_code(uintptr_t t, unsigned p)
{
	long copy = ut_sys(SYS_mmap, 0, UT_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (copy < 0 && copy > -4096)
		return false;
	fill_code((unsigned char *)copy, p);
	long e = UT_SYS3(SYS_mprotect, copy, UT_PAGE, PROT_READ | PROT_EXEC);
	if (e == 0)
		e = UT_SYS5(SYS_mremap, copy, UT_PAGE, UT_PAGE, MREMAP_MAYMOVE | MREMAP_FIXED,
		            t + (uintptr_t)p * UT_PAGE);
	if (e < 0 && e > -4096) {
		UT_SYS2(SYS_munmap, copy, UT_PAGE);
		return false;
	}
	return true;
}

bool ut_table_slot_ready(unsigned i)
{
	uintptr_t t = ut_table();
	unsigned p = i / UT_SLOTS_PER_PAGE;
	if (!t || i >= UT_SLOTS || p > filled)
		return false; /* slots are bound in order: the page before is filled first */
	if (p < filled)
		return true;
	/* No slot of page p is bound yet: nothing jumps there, nothing reads its cells. */
	if (!swap_in_code(t, p))
		return false;
	fill_cells((unsigned char *)t, p, common);
	filled = p + 1;
	return true;
}

static int map_at(uintptr_t addr, uintptr_t body, struct usertrap_error *err)
{
	void *p = mmap((void *)addr, UT_TABLE_SIZE, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return errno == EEXIST ? USERTRAP_ERR_TABLE_BUSY : ut_fail(err, USERTRAP_ERR_SYS, errno);
	if ((uintptr_t)p != addr) { /* a kernel without MAP_FIXED_NOREPLACE treats it as a hint */
		munmap(p, UT_TABLE_SIZE);
		return USERTRAP_ERR_TABLE_BUSY;
	}
	fill_code(p, 0);
	fill_cells(p, 0, body);
	if (mprotect(p, UT_PAGE, PROT_READ | PROT_EXEC) != 0 ||
	    mprotect((char *)p + UT_PAGE, UT_DATA_DELTA - UT_PAGE, PROT_NONE) != 0) {
		int e = errno;
		munmap(p, UT_TABLE_SIZE);
		return ut_fail(err, USERTRAP_ERR_SYS, e);
	}
	common = body;
	filled = 1;
	__atomic_store_n(&ut_table_base, addr, __ATOMIC_RELEASE);
	return 0;
}

int ut_table_map(uintptr_t want, uintptr_t body, struct usertrap_error *err)
{
	if (want) {
		if (want % UT_PAGE || want < USERTRAP_TABLE_LOW || want + UT_TABLE_SIZE > USERTRAP_TABLE_HIGH)
			return ut_fail(err, USERTRAP_ERR_INVAL, 0);
		int r = map_at(want, body, err);
		return r == USERTRAP_ERR_TABLE_BUSY ? ut_fail(err, r, EEXIST) : r;
	}
	unsigned places =
	    (unsigned)((USERTRAP_TABLE_HIGH - USERTRAP_TABLE_LOW - UT_TABLE_SIZE) / UT_PAGE + 1);
	unsigned start = 0;
	if (getrandom(&start, sizeof start, GRND_NONBLOCK) != sizeof start)
		start = (unsigned)getpid();
	for (unsigned k = 0; k < places; k++) {
		uintptr_t a = USERTRAP_TABLE_LOW + ((start + k) % places) * UT_PAGE;
		int r = map_at(a, body, err);
		if (r != USERTRAP_ERR_TABLE_BUSY)
			return r;
	}
	return ut_fail(err, USERTRAP_ERR_TABLE_BUSY, EEXIST);
}

void ut_table_unmap(void)
{
	uintptr_t t = __atomic_exchange_n(&ut_table_base, 0, __ATOMIC_ACQ_REL);
	if (t)
		munmap((void *)t, UT_TABLE_SIZE);
}
