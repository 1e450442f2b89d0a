/*
 * The patcher: checks a site, binds it to a trap-table slot and rewrites it in four ordered writes
 * (0x06 at +5; 0x06 at +0; then +1..+6; then 0xff at +0), each one through libsafecopy and each one a
 * page swap (see write_step): the page with the new bytes replaces the old one at once, with the old
 * one's exact protection, read from /proc/self/maps. Async-signal-safe (the SIGSYS path patches from
 * its handler): raw syscalls through the gate, no malloc, no stdio.
 */
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "usertrap/internal.h"

void (*ut_test_step_hook)(uintptr_t site, int step, void *arg);
void *ut_test_step_arg;

/* ---- code that must never be a patch target: the patcher's own ---- */

#define UT_MAX_EXCLUDED 16
static struct {
	uintptr_t lo, hi;
} excluded[UT_MAX_EXCLUDED];
static int n_excluded;

static bool name_has(const char *s, const char *w)
{
	for (; s && *s; s++) {
		size_t i = 0;
		while (w[i] && s[i] == w[i])
			i++;
		if (!w[i])
			return true;
	}
	return false;
}

static int collect(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	uintptr_t own = *(uintptr_t *)data;
	bool mine = false;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && own >= lo && own < lo + ph->p_memsz)
			mine = true;
	}
	/* usertrap's and libsafecopy's own code, and the sanitizer runtimes that instrument it, run while a
	 * site is half-written: a site there could trap the patcher in its own guard byte. */
	if (!mine && !name_has(info->dlpi_name, "libsafecopy") && !name_has(info->dlpi_name, "libusertrap") &&
	    !name_has(info->dlpi_name, "libasan") && !name_has(info->dlpi_name, "libubsan") &&
	    !name_has(info->dlpi_name, "libclang_rt"))
		return 0;
	for (int i = 0; i < info->dlpi_phnum && n_excluded < UT_MAX_EXCLUDED; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t lo = (info->dlpi_addr + ph->p_vaddr) & ~(UT_PAGE - 1);
		uintptr_t hi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + UT_PAGE - 1) & ~(UT_PAGE - 1);
		excluded[n_excluded].lo = lo;
		excluded[n_excluded].hi = hi;
		n_excluded++;
	}
	return 0;
}

int ut_exclusions_setup(void)
{
	n_excluded = 0;
	uintptr_t own = ut_addr_ut_tramp_novec();
	dl_iterate_phdr(collect, &own);
	return 0;
}

static bool is_excluded(uintptr_t lo, uintptr_t hi)
{
	for (int i = 0; i < n_excluded; i++)
		if (lo < excluded[i].hi && hi > excluded[i].lo)
			return true;
	return false;
}

/* ---- /proc/self/maps, read with raw syscalls into stack buffers ---- */

struct mapping {
	uintptr_t start, end;
	int prot;
	bool shared, vdso;
};

static bool parse_hex(const char **p, uintptr_t *out)
{
	uintptr_t v = 0;
	const char *s = *p;
	int n = 0;
	for (;; s++, n++) {
		char c = *s;
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			break;
		v = v << 4 | (uintptr_t)d;
	}
	*p = s;
	*out = v;
	return n > 0;
}

static bool parse_line(const char *line, uintptr_t addr, struct mapping *m)
{
	const char *p = line;
	uintptr_t lo, hi;
	if (!parse_hex(&p, &lo) || *p++ != '-' || !parse_hex(&p, &hi) || *p++ != ' ')
		return false;
	if (addr < lo || addr >= hi)
		return false;
	m->start = lo;
	m->end = hi;
	m->prot =
	    (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) | (p[2] == 'x' ? PROT_EXEC : 0);
	m->shared = p[3] == 's';
	m->vdso = name_has(p, "[vdso]");
	return true;
}

/* The mapping that holds addr. Returns 0, or -errno (-ENOENT: no mapping). */
static int find_mapping(uintptr_t addr, struct mapping *m)
{
	int fd = (int)UT_SYS3(SYS_open, "/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	char buf[1024], line[256];
	size_t len = 0;
	bool found = false;
	for (;;) {
		long n = UT_SYS3(SYS_read, fd, buf, sizeof buf);
		if (n <= 0)
			break;
		for (long i = 0; i < n && !found; i++) {
			if (buf[i] != '\n') {
				if (len < sizeof line - 1)
					line[len++] = buf[i];
				continue;
			}
			line[len] = 0;
			len = 0;
			found = parse_line(line, addr, m);
		}
		if (found)
			break;
	}
	UT_SYS1(SYS_close, fd);
	return found ? 0 : -2; /* -ENOENT */
}

/* ---- the writes: a page swap ---- */

struct window {
	uintptr_t lo, hi; /* the page(s) holding the 7 bytes */
	int prot;         /* their protection, which the new page(s) get too */
};

static int fault_at(struct usertrap_error *err, uintptr_t addr)
{
	if (err) {
		err->status = USERTRAP_ERR_FAULT;
		err->sys_errno = 0;
		err->fault.status = SAFECOPY_SEGV;
		err->fault.addr = (void *)addr;
		err->fault.signo = SIGSEGV;
		err->fault.code = SEGV_MAPERR;
	}
	return USERTRAP_ERR_FAULT;
}

static int copy_fault(struct usertrap_error *err, const struct safecopy_fault *fault)
{
	if (err) {
		err->status = USERTRAP_ERR_FAULT;
		err->sys_errno = 0;
		err->fault = *fault;
	}
	return USERTRAP_ERR_FAULT;
}

/*
 * One of the ordered writes. A page that is already writable (JIT code) is written in place. Otherwise
 * the page is never made writable at all: a copy of it is made in a fresh read-write page, the bytes are
 * written there, the copy gets the page's exact protection (read-execute: never writable and executable
 * at once) and mremap() puts it in the page's place in one step. Threads running that code meanwhile see
 * the old page or the new one, never a page they cannot execute (making the page itself read-write, as
 * first done here, made them fault; a thread that had SIGSEGV blocked, e.g. a new thread under ASan,
 * was then killed). The page becomes private anonymous memory with the same contents otherwise.
 */
static int write_step(const struct window *w, uintptr_t dst, const unsigned char *src, size_t n,
                      struct usertrap_error *err)
{
	struct safecopy_fault fault;
	if (w->prot & PROT_WRITE) {
		if (safecopy_memcpy((void *)dst, src, n, &fault) != n)
			return copy_fault(err, &fault);
		return 0;
	}
	size_t len = w->hi - w->lo;
	long copy =
	    ut_sys(SYS_mmap, 0, (long)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (copy < 0 && copy > -4096)
		return ut_fail(err, USERTRAP_ERR_SYS, (int)-copy);
	int r = 0;
	if ((uintptr_t)copy < w->hi && (uintptr_t)copy + len > w->lo) {
		r = fault_at(err, w->lo); /* the kernel gave us the very place: the page had been unmapped */
		goto out;
	}
	if (safecopy_memcpy((void *)copy, (const void *)w->lo, len, &fault) != len) {
		r = copy_fault(err, &fault); /* the page vanished (or cannot be read) */
		goto out;
	}
	safecopy_memcpy((void *)(copy + (dst - w->lo)), src, n, NULL);
	long e = UT_SYS3(SYS_mprotect, copy, len, w->prot);
	if (e == 0)
		e = UT_SYS5(SYS_mremap, copy, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, w->lo);
	if (e < 0 && e > -4096) {
		r = e == -ENOMEM ? fault_at(err, w->lo) : ut_fail(err, USERTRAP_ERR_NOT_PATCHABLE, (int)-e);
		goto out;
	}
	return 0; /* the copy now is the page */
out:
	UT_SYS2(SYS_munmap, copy, len);
	return r;
}

static int read_site(uintptr_t site, unsigned char b[7], struct usertrap_error *err)
{
	struct safecopy_fault fault;
	if (safecopy_memcpy(b, (const void *)site, 7, &fault) != 7) {
		if (err) {
			err->status = USERTRAP_ERR_FAULT;
			err->sys_errno = 0;
			err->fault = fault;
		}
		return USERTRAP_ERR_FAULT;
	}
	return 0;
}

static void jump_bytes(int slot, unsigned char out[7])
{
	uint32_t a32 = (uint32_t)(uintptr_t)&ut_data_slot((unsigned)slot)->entry;
	out[0] = 0xff;
	out[1] = 0x24;
	out[2] = 0x25;
	memcpy(out + 3, &a32, 4);
}

static int prepare_window(uintptr_t site, struct window *w, struct usertrap_error *err)
{
	w->lo = site & ~(UT_PAGE - 1);
	w->hi = (site + 7 + UT_PAGE - 1) & ~(UT_PAGE - 1);
	if (ut_table_contains(site, 7) || is_excluded(w->lo, w->hi))
		return ut_fail(err, USERTRAP_ERR_NOT_PATCHABLE, 0);
	struct mapping m;
	int r = find_mapping(site, &m);
	if (r < 0)
		return r == -2 ? USERTRAP_ERR_FAULT : ut_fail(err, USERTRAP_ERR_SYS, -r);
	if (m.shared || m.vdso || !(m.prot & PROT_EXEC) || m.end < site + 7)
		return ut_fail(err, USERTRAP_ERR_NOT_PATCHABLE, 0);
	w->prot = m.prot;
	return 0;
}

static void step_pause(uintptr_t site, int step)
{
	void (*fn)(uintptr_t, int, void *) = ut_test_step_hook;
	if (fn)
		fn(site, step, ut_test_step_arg);
}

/* A write failed after the first one succeeded (the page was unmapped or its protection changed under
 * us): the site is left with a guard byte. Threads reaching it are then served by the SIGILL handler,
 * which runs the call itself, instead of being restarted into the guard forever. */
static int broken(int slot, int r)
{
	__atomic_store_n(&ut_site_broken[slot], 1, __ATOMIC_RELEASE);
	return r;
}

static bool is_in_place_nr(long nr)
{
	return nr == SYS_rt_sigreturn || nr == SYS_clone || nr == SYS_clone3 || nr == SYS_vfork;
}

int ut_patch_locked(uintptr_t site, long nr, struct usertrap_error *err)
{
	unsigned char cur[7];
	int r = read_site(site, cur, err);
	if (r)
		return r;
	int slot = ut_registry_find(site, UT_SLOT_PATCH);
	if (slot && ut_site_patched[slot]) {
		unsigned char j[7];
		jump_bytes(slot, j);
		return memcmp(cur, j, 7) == 0 ? ut_ok(err) : ut_fail(err, USERTRAP_ERR_PATTERN, 0);
	}
	if (cur[0] != 0xb8 || cur[5] != 0x0f || cur[6] != 0x05)
		return ut_fail(err, USERTRAP_ERR_PATTERN, 0);
	uint32_t imm;
	memcpy(&imm, cur + 1, 4);
	if ((long)imm != nr)
		return ut_fail(err, USERTRAP_ERR_NR, 0);
	if (is_in_place_nr(nr))
		return ut_fail(err, USERTRAP_ERR_IN_PLACE, 0);
	struct window w;
	r = prepare_window(site, &w, err);
	if (r)
		return r == USERTRAP_ERR_FAULT ? fault_at(err, site)
		                               : r; /* FAULT: the page went away since we read it */
	slot = ut_registry_bind(site, UT_SLOT_PATCH, nr);
	if (!slot)
		return ut_fail(err, USERTRAP_ERR_TABLE_FULL, 0);
	memcpy(ut_site_orig[slot], cur, 7);
	unsigned char j[7];
	jump_bytes(slot, j);
	/*
	 * Four ordered writes: the guard (0x06, an invalid opcode) at +5, the guard at +0, the jump's
	 * bytes +1..+6 (its +5 byte is the guard), 0xff at +0. The DESIGN's three (+5, +1..+6, +0) leave a
	 * moment where +0 is still b8 in front of the jump's bytes: a thread can run that `mov` with a wrong
	 * immediate, be preempted before +5 and, if the site is restored meanwhile, resume at a real
	 * syscall with the wrong number (seen in the hammer test). With the guard at +0 too, every `mov`
	 * any thread can run loads the right number.
	 */
	const unsigned char guard = 0x06;
	if ((r = write_step(&w, site + 5, &guard, 1, err)))
		return r;
	step_pause(site, 1);
	if ((r = write_step(&w, site, &guard, 1, err)))
		return broken(slot, r);
	step_pause(site, 2);
	unsigned char mid[6];
	memcpy(mid, j + 1, 6); /* j[5] is 0x06: the guard stays */
	if ((r = write_step(&w, site + 1, mid, 6, err)))
		return broken(slot, r);
	step_pause(site, 3);
	if ((r = write_step(&w, site, j, 1, err)))
		return broken(slot, r);
	ut_site_patched[slot] = 1;
	ut_site_broken[slot] = 0;
	UT_COUNT(sites_patched);
	return ut_ok(err);
}

int ut_unpatch_locked(uintptr_t site, struct usertrap_error *err)
{
	int slot = ut_registry_find(site, UT_SLOT_PATCH);
	if (!slot)
		return ut_fail(err, USERTRAP_ERR_INVAL, 0);
	if (!ut_site_patched[slot])
		return ut_ok(err);
	unsigned char cur[7], j[7];
	int r = read_site(site, cur, err);
	if (r)
		return r;
	jump_bytes(slot, j);
	if (memcmp(cur, j, 7) != 0)
		return ut_fail(err, USERTRAP_ERR_PATTERN, 0);
	struct window w;
	if ((r = prepare_window(site, &w, err)))
		return r == USERTRAP_ERR_FAULT ? fault_at(err, site) : r;
	const unsigned char *orig = ut_site_orig[slot];
	/*
	 * Four writes. Putting b8 back at +0 first would let a thread run `mov $imm,%eax` with the jump's
	 * bytes as imm, be preempted before +5, and run the restored syscall with that number. So: a guard
	 * at +0 first (threads arriving there take SIGILL and are restarted at +0 until it changes), then
	 * the immediate and +6 (the guard at +5 kept), then b8 at +0 (every mov now loads the right
	 * number), then 0x0f at +5.
	 */
	const unsigned char guard = 0x06;
	if ((r = write_step(&w, site, &guard, 1, err)))
		return r;
	step_pause(site, 1);
	unsigned char mid[6];
	memcpy(mid, orig + 1, 6);
	mid[4] = 0x06;
	if ((r = write_step(&w, site + 1, mid, 6, err)))
		return broken(slot, r);
	step_pause(site, 2);
	if ((r = write_step(&w, site, orig, 1, err)))
		return broken(slot, r);
	step_pause(site, 3);
	if ((r = write_step(&w, site + 5, orig + 5, 1, err)))
		return broken(slot, r);
	ut_site_patched[slot] = 0;
	ut_site_broken[slot] = 0;
	UT_UNCOUNT(sites_patched);
	return ut_ok(err);
}
