/*
 * The trap table: its code pages are filled once from the asm templates while read-write, then made
 * read-execute before any use (never W+X); its data pages stay read-write. Also the raw-syscall gate.
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

static uintptr_t table;  /* read and written atomically: ut_sys reads it from any thread */
static uintptr_t common; /* the body every slot uses */

uintptr_t ut_table(void)
{
	return __atomic_load_n(&table, __ATOMIC_ACQUIRE);
}

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

bool ut_table_contains(uintptr_t a, uintptr_t len)
{
	uintptr_t t = ut_table();
	return t && a + len > t && a < t + UT_TABLE_SIZE;
}

void ut_table_set_common(uintptr_t body)
{
	common = body;
	for (unsigned i = 1; i < UT_SLOTS; i++)
		__atomic_store_n(&ut_data_slot(i)->common, (uint64_t)body, __ATOMIC_RELAXED);
}

uintptr_t ut_table_common(void)
{
	return common;
}

static void fill(unsigned char *base, uintptr_t body)
{
	memset(base, 0xCC, UT_DATA_DELTA); /* int3 wherever there is no stub */
	memcpy(base, ut_tpl_header, UT_SLOT_SIZE);
	for (unsigned i = 1; i < UT_SLOTS; i++)
		memcpy(base + slot_offset(i), ut_tpl_slot, UT_SLOT_SIZE);
	struct ut_table_header *h = (struct ut_table_header *)(base + UT_DATA_DELTA);
	h->magic = UT_MAGIC;
	h->next_free = 1;
	for (unsigned i = 1; i < UT_SLOTS; i++) {
		struct ut_data_slot *d = (struct ut_data_slot *)(base + UT_DATA_DELTA + slot_offset(i));
		d->entry = (uint64_t)(uintptr_t)(base + slot_offset(i));
		d->common = body;
	}
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
	fill(p, body);
	if (mprotect(p, UT_DATA_DELTA, PROT_READ | PROT_EXEC) != 0) {
		int e = errno;
		munmap(p, UT_TABLE_SIZE);
		return ut_fail(err, USERTRAP_ERR_SYS, e);
	}
	common = body;
	__atomic_store_n(&table, addr, __ATOMIC_RELEASE);
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
	uintptr_t t = __atomic_exchange_n(&table, 0, __ATOMIC_ACQ_REL);
	if (t)
		munmap((void *)t, UT_TABLE_SIZE);
}
