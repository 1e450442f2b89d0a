/*
 * The region of the fuzz target and its reference model (see layout.h).
 */
#include "layout.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef SI_KERNEL
#define SI_KERNEL 0x80
#endif

static int past_eof_fd = -1; /* an empty memfd: every page of a shared mapping of it is past EOF */

static const char *const kind_names[PAGE_KINDS] = {"rw", "ro", "none", "unmapped", "past_eof"};

static void die(const char *what)
{
	perror(what);
	abort();
}

void layout_init(struct layout *l)
{
	size_t total = (REGION_PAGES + 2 * GUARD_PAGES) * PAGE;
	uint8_t *m = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		die("mmap");
	l->base = m + GUARD_PAGES * PAGE;
	past_eof_fd = memfd_create("safecopy-fuzz-past-eof", MFD_CLOEXEC);
	if (past_eof_fd < 0)
		die("memfd_create");
}

static void map_page(uint8_t *p, enum page_kind kind)
{
	void *got;
	switch (kind) {
	case PAGE_UNMAPPED:
		if (munmap(p, PAGE) != 0)
			die("munmap");
		return;
	case PAGE_PAST_EOF:
		got = mmap(p, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, past_eof_fd, 0);
		break;
	default: /* filled first, protected after */
		got = mmap(p, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		break;
	}
	if (got != p)
		die("mmap fixed");
}

/* xorshift32: the fill is a function of the seed only. */
static uint32_t next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

void layout_apply(struct layout *l, uint32_t fill_seed, unsigned zero_every)
{
	uint32_t s = fill_seed | 1;
	for (size_t i = 0; i < sizeof l->shadow; i++) {
		uint32_t r = next(&s);
		uint8_t b = (uint8_t)(r >> 8);
		l->shadow[i] = zero_every && r % zero_every == 0 ? 0 : b ? b : 0x5a;
	}
	for (unsigned pg = 0; pg < REGION_PAGES; pg++) {
		uint8_t *p = l->base + pg * PAGE;
		map_page(p, l->kind[pg]);
		if (l->kind[pg] == PAGE_RW || l->kind[pg] == PAGE_RO)
			memcpy(p, l->shadow + pg * PAGE, PAGE);
		int prot = l->kind[pg] == PAGE_RO ? PROT_READ : l->kind[pg] == PAGE_NONE ? PROT_NONE : -1;
		if (prot >= 0 && mprotect(p, PAGE, prot) != 0)
			die("mprotect");
	}
}

void layout_reset(struct layout *l)
{
	if (mmap(l->base, REGION_PAGES * PAGE, PROT_NONE,
	         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) != l->base)
		die("mmap reset");
}

static bool is_canonical(uintptr_t a)
{
	return (uintptr_t)((intptr_t)(a << 16) >> 16) == a;
}

/* The kind of the page holding addr: the guards are PROT_NONE; anything else outside is unmapped. */
static enum page_kind kind_at(const struct layout *l, uintptr_t addr)
{
	uintptr_t start = (uintptr_t)l->base, guard = GUARD_PAGES * PAGE;
	if (addr - start < REGION_PAGES * PAGE)
		return l->kind[(addr - start) / PAGE];
	if (addr - (start - guard) < REGION_PAGES * PAGE + 2 * guard)
		return PAGE_NONE;
	return PAGE_UNMAPPED; /* the target only makes such addresses non-canonical */
}

bool model_readable(const struct layout *l, uintptr_t addr)
{
	if (!is_canonical(addr))
		return false;
	enum page_kind k = kind_at(l, addr);
	return k == PAGE_RW || k == PAGE_RO;
}

bool model_writable(const struct layout *l, uintptr_t addr)
{
	return is_canonical(addr) && kind_at(l, addr) == PAGE_RW;
}

struct safecopy_fault model_fault(const struct layout *l, uintptr_t addr, bool write)
{
	struct safecopy_fault f = {.status = SAFECOPY_SEGV, .addr = (void *)addr, .signo = SIGSEGV};
	if (!is_canonical(addr)) {
		f.code = SI_KERNEL;
		return f;
	}
	switch (kind_at(l, addr)) {
	case PAGE_UNMAPPED:
		f.code = SEGV_MAPERR;
		break;
	case PAGE_PAST_EOF:
		f.status = SAFECOPY_BUS;
		f.signo = SIGBUS;
		f.code = BUS_ADRERR;
		break;
	case PAGE_RO:
		if (!write)
			fuzz_fail(l, "model_fault: %#lx is readable", (unsigned long)addr);
		f.code = SEGV_ACCERR;
		break;
	default:
		f.code = SEGV_ACCERR;
		break;
	}
	return f;
}

uint8_t *model_byte(struct layout *l, uintptr_t addr)
{
	return &l->shadow[addr - (uintptr_t)l->base];
}

void layout_check_memory(const struct layout *l, const char *what)
{
	for (unsigned pg = 0; pg < REGION_PAGES; pg++) {
		if (l->kind[pg] != PAGE_RW && l->kind[pg] != PAGE_RO)
			continue;
		const uint8_t *p = l->base + pg * PAGE, *s = l->shadow + pg * PAGE;
		if (memcmp(p, s, PAGE) == 0)
			continue;
		size_t i = 0;
		while (p[i] == s[i])
			i++;
		fuzz_fail(l, "%s: memory at region+%#zx (page %u) is %#04x, the model says %#04x", what,
		          pg * PAGE + i, pg, p[i], s[i]);
	}
}

void fuzz_fail(const struct layout *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "\nsafecopy fuzz: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nregion %p, pages:", (void *)l->base);
	for (unsigned pg = 0; pg < REGION_PAGES; pg++)
		fprintf(stderr, " %s", kind_names[l->kind[pg]]);
	fprintf(stderr, "\n");
	abort();
}
