/*
 * The trap table: UT_CODE_PAGES pages of code (identical slot stubs, filled once from the asm
 * templates while the pages are read-write, then made read-execute before any use: never W+X) and as
 * many pages of per-slot data, all at a page in [0x60000, 0x70000) so the third byte of every slot's
 * address is 0x06 (see usertrap.h). Also: the raw-syscall gate and the vector-save mode.
 */
#include <cpuid.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "usertrap/internal.h"

#define UT_MAGIC 0x7061727472657375ULL /* "usertrap" */

uintptr_t ut_table;
uint64_t ut_xsave_size;
uint64_t ut_xsave_mask;
uint64_t ut_common_entry;

typedef long (*ut_gate_fn)(long, long, long, long, long, long, long);

long ut_sys(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	uintptr_t t = __atomic_load_n(&ut_table, __ATOMIC_ACQUIRE);
	if (!t) {
		long r = syscall(nr, a1, a2, a3, a4, a5, a6);
		return r == -1 ? -errno : r;
	}
	return ((ut_gate_fn)(t + UT_H_SYSCALL))(nr, a1, a2, a3, a4, a5, a6);
}

uintptr_t ut_code_slot(unsigned i)
{
	return ut_table + ut_slot_offset(i);
}

struct ut_data_slot *ut_data_slot(unsigned i)
{
	return (struct ut_data_slot *)(ut_table + UT_DATA_DELTA + ut_slot_offset(i));
}

struct ut_table_header *ut_header(void)
{
	return (struct ut_table_header *)(ut_table + UT_DATA_DELTA);
}

uintptr_t ut_restorer(void)
{
	return ut_table + UT_H_RESTORER;
}

bool ut_table_contains(uintptr_t a, uintptr_t len)
{
	return ut_table && a + len > ut_table && a < ut_table + UT_TABLE_SIZE;
}

static void fill(unsigned char *base)
{
	memset(base, 0xCC, UT_DATA_DELTA); /* int3 wherever there is no stub */
	memcpy(base, ut_tpl_header, UT_SLOT_SIZE);
	for (unsigned i = 1; i < UT_SLOTS; i++)
		memcpy(base + ut_slot_offset(i), ut_tpl_slot, UT_SLOT_SIZE);
	struct ut_table_header *h = (struct ut_table_header *)(base + UT_DATA_DELTA);
	h->magic = UT_MAGIC;
	h->next_free = 1;
	for (unsigned i = 1; i < UT_SLOTS; i++) {
		struct ut_data_slot *d = (struct ut_data_slot *)(base + UT_DATA_DELTA + ut_slot_offset(i));
		d->entry = (uint64_t)(uintptr_t)(base + ut_slot_offset(i));
		d->common = ut_common_entry;
	}
}

static int map_at(uintptr_t addr, struct usertrap_error *err)
{
	void *p = mmap((void *)addr, UT_TABLE_SIZE, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return errno == EEXIST ? USERTRAP_ERR_TABLE_BUSY : ut_fail(err, USERTRAP_ERR_SYS, errno);
	if ((uintptr_t)p != addr) { /* a kernel without MAP_FIXED_NOREPLACE treats it as a hint */
		munmap(p, UT_TABLE_SIZE);
		return USERTRAP_ERR_TABLE_BUSY;
	}
	fill(p);
	if (mprotect(p, UT_DATA_DELTA, PROT_READ | PROT_EXEC) != 0) {
		int e = errno;
		munmap(p, UT_TABLE_SIZE);
		return ut_fail(err, USERTRAP_ERR_SYS, e);
	}
	__atomic_store_n(&ut_table, addr, __ATOMIC_RELEASE);
	return 0;
}

int ut_table_map(uintptr_t want, struct usertrap_error *err)
{
	if (want) {
		if (want % UT_PAGE || want < USERTRAP_TABLE_LOW || want + UT_TABLE_SIZE > USERTRAP_TABLE_HIGH)
			return ut_fail(err, USERTRAP_ERR_INVAL, 0);
		int r = map_at(want, err);
		return r == USERTRAP_ERR_TABLE_BUSY ? ut_fail(err, r, EEXIST) : r;
	}
	unsigned places =
	    (unsigned)((USERTRAP_TABLE_HIGH - USERTRAP_TABLE_LOW - UT_TABLE_SIZE) / UT_PAGE + 1);
	unsigned start = 0;
	if (getrandom(&start, sizeof start, GRND_NONBLOCK) != sizeof start)
		start = (unsigned)getpid();
	for (unsigned k = 0; k < places; k++) {
		uintptr_t a = USERTRAP_TABLE_LOW + ((start + k) % places) * UT_PAGE;
		int r = map_at(a, err);
		if (r != USERTRAP_ERR_TABLE_BUSY)
			return r;
	}
	return ut_fail(err, USERTRAP_ERR_TABLE_BUSY, EEXIST);
}

/* XSAVE components the trampoline preserves: everything the OS enabled except AMX tile data (8 KiB, and
 * saving it needs an arch_prctl permission). */
#define UT_XFEATURE_AMX ((1ULL << 17) | (1ULL << 18))

int ut_vector_setup(enum usertrap_vector_save mode, uint64_t *common)
{
	if (mode == USERTRAP_VECTOR_NONE) {
		*common = ut_addr_ut_tramp_novec();
		return 0;
	}
	unsigned a, b, c, d;
	__cpuid(1, a, b, c, d);
	bool osxsave = (c & (1u << 27)) != 0, avx = (c & (1u << 28)) != 0;
	uint64_t xcr0 = 3; /* x87 + SSE */
	if (osxsave) {
		unsigned lo, hi;
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		xcr0 = ((uint64_t)hi << 32) | lo;
	}
	if (mode == USERTRAP_VECTOR_AUTO || mode == USERTRAP_VECTOR_REGS) {
		__cpuid_count(7, 0, a, b, c, d);
		bool avx512 =
		    (b & (1u << 16)) && (b & (1u << 30)) && (xcr0 & 0xe6) == 0xe6; /* F, BW, OS state */
		if (avx512)
			*common = ut_addr_ut_tramp_regs512();
		else if (avx && (xcr0 & 6) == 6)
			*common = ut_addr_ut_tramp_regs256();
		else
			*common = ut_addr_ut_tramp_regs128();
		return 0;
	}
	if (!osxsave)
		return USERTRAP_ERR_CPU;
	__cpuid_count(0xd, 1, a, b, c, d);
	bool has_xsavec = (a & 2) != 0;
	uint64_t size_compact = b;
	__cpuid_count(0xd, 0, a, b, c, d);
	uint64_t size = b > size_compact ? b : size_compact;
	if (mode == USERTRAP_VECTOR_XSAVEC && !has_xsavec)
		return USERTRAP_ERR_CPU;
	ut_xsave_mask = xcr0 & ~UT_XFEATURE_AMX;
	ut_xsave_size = (size + 63) & ~63ULL;
	*common = mode == USERTRAP_VECTOR_XSAVEC ? ut_addr_ut_tramp_xsavec() : ut_addr_ut_tramp_xsave();
	return 0;
}

uintptr_t usertrap_table_address(void)
{
	return __atomic_load_n(&ut_table, __ATOMIC_ACQUIRE);
}
