/*
 * Planning a whole module (see modplan.h): its executable segment scanned for `0f 05`, each one the
 * linear decode of its function confirms planned.
 */
#include <link.h>
#include <string.h>

#include "usertrap/decode.h"
#include "usertrap/fde.h"
#include "usertrap/lock.h"
#include "usertrap/modplan.h"
#include "usertrap/plancache.h"
#include "usertrap/site.h"
#include "usertrap/windows.h"

#define CHUNK 4096

struct text {
	uintptr_t addr, lo, hi;
};

/* The executable segment of the object whose segments hold t->addr. */
static int find_text(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct text *t = data;
	uintptr_t lo = 0, hi = 0;
	bool holds = false;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t s = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type != PT_LOAD)
			continue;
		holds |= t->addr >= s && t->addr < s + ph->p_memsz;
		if (ph->p_flags & PF_X) {
			lo = s;
			hi = s + ph->p_memsz;
		}
	}
	if (!holds)
		return 0;
	t->lo = lo;
	t->hi = hi;
	return 1;
}

/* The site at insn (a `0f 05`): planned and recorded unless it has the 7-byte pattern, its function
 * is unknown, or it is no instruction of its function. *key caches the key of the last function
 * ([*klo, *khi)). True if a window was recorded. Patch lock. */
static bool plan_site(uintptr_t insn, const unsigned char *before, struct ut_fn_key *key, uintptr_t *klo,
                      uintptr_t *khi)
{
	unsigned char b[UT_SITE_LEN];
	uint32_t imm;
	memcpy(b, before, UT_SYSCALL_OFFSET);
	memcpy(b + UT_SYSCALL_OFFSET, ut_op_syscall, UT_SYSCALL_LEN);
	uintptr_t lo, hi;
	if (ut_site_matches(b, &imm) || !ut_function_of(insn, &lo, &hi))
		return false;
	if ((lo != *klo || hi != *khi) && !ut_window_code_key(lo, hi, key))
		return false;
	*klo = lo;
	*khi = hi;
	uint32_t off = (uint32_t)(insn - lo);
	struct ut_plan p;
	if (ut_plancache_plan(key, off, lo, &p) >= 0)
		return false; /* known already */
	int r = ut_window_plan_alone(insn, lo, hi, &p);
	if (r == UT_PLAN_OK || r == UT_PLAN_NO_WINDOW) /* MISALIGNED: bytes inside another instruction */
		ut_plancache_put_plan(key, off, lo, r, &p);
	return r == UT_PLAN_OK;
}

int ut_plan_module_of(uintptr_t addr)
{
	struct text t = {.addr = addr};
	if (!ut_plancache_enabled() || !ut_decoder_ready() || !dl_iterate_phdr(find_text, &t) ||
	    t.hi - t.lo < UT_SITE_LEN)
		return 0;
	int windows = 0;
	struct ut_fn_key key;
	uintptr_t klo = 0, khi = 0;
	unsigned char buf[CHUNK + UT_SITE_LEN];
	ut_lock();
	/* chunks overlapping by UT_SYSCALL_OFFSET + 1 bytes: each `0f 05` is seen once with what precedes it
	 */
	for (uintptr_t at = t.lo; at + UT_SYSCALL_OFFSET + 2 <= t.hi; at += CHUNK) {
		size_t n = t.hi - at < sizeof buf ? t.hi - at : sizeof buf;
		if (safecopy_memcpy(buf, (const void *)at, n, NULL) != n)
			break;
		for (size_t i = UT_SYSCALL_OFFSET; i + 1 < n && i < CHUNK + UT_SYSCALL_OFFSET; i++)
			if (buf[i] == 0x0f && buf[i + 1] == 0x05)
				windows += plan_site(at + i, buf + i - UT_SYSCALL_OFFSET, &key, &klo, &khi);
	}
	ut_unlock();
	return windows;
}
