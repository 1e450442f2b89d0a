/*
 * Reading /proc/self/maps with raw system calls into stack buffers (the SIGSYS path patches), and a
 * cache of what it said about executable mappings: reading the file costs several system calls and
 * tens of microseconds, and a program's first hits fall in a handful of mappings (libc, the program).
 *
 * The cache is filled only under the patch lock (one writer). It is a hint about mappings that can
 * change at any time, like the file itself: mmap, munmap, mprotect and mremap made through usertrap's
 * hook forget the entries they overlap (dispatch.c), and an entry forgotten while the file was being
 * read is not trusted. Changes made where the hook does not see them (a thread with capture off, or a
 * process without lazy capture) are not seen: the explicit patching API forgets the whole cache
 * first, and a stale entry can at worst make a write fail (the kernel refuses forced writes into
 * what is not there or is shared and read-only).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "usertrap/maps.h"
#include "usertrap/table.h"

#define CACHE_ENTRIES 64
#define TAKEN_RANGES  512

/* The mappings of the last read, adjacent ones merged, in address order: where a new stub page need
 * not be tried (stubs.c). A hint only, never forgotten: MAP_FIXED_NOREPLACE stays the judge of what
 * is free, so a range mapped since the read is found taken by it, and a range unmapped since is only
 * skipped. Ranges past the first TAKEN_RANGES are not kept: unknown, they are tried. */
static struct range {
	uintptr_t start, end;
} taken[TAKEN_RANGES];
static unsigned n_taken;

static struct cached {
	struct ut_mapping m;
	bool valid; /* atomic: cleared by ut_maps_forget from any thread */
} cache[CACHE_ENTRIES];
static unsigned generation; /* bumped by every forget */
static unsigned long reads;

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

/* One line, "lo-hi perms offset dev inode name", into *m. False if it is not such a line. */
static bool parse_line(const char *line, struct ut_mapping *m)
{
	const char *p = line;
	uintptr_t lo, hi;
	if (!parse_hex(&p, &lo) || *p++ != '-' || !parse_hex(&p, &hi) || *p++ != ' ')
		return false;
	m->start = lo;
	m->end = hi;
	m->prot =
	    (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) | (p[2] == 'x' ? PROT_EXEC : 0);
	m->shared = p[3] == 's';
	m->vdso = strstr(p, "[vdso]") != NULL;
	return true;
}

static bool cached(uintptr_t addr, struct ut_mapping *m)
{
	for (unsigned i = 0; i < CACHE_ENTRIES; i++) {
		struct cached *c = &cache[i];
		if (__atomic_load_n(&c->valid, __ATOMIC_ACQUIRE) && addr >= c->m.start && addr < c->m.end) {
			*m = c->m;
			/* A forget that ran meanwhile may have meant this entry. */
			return __atomic_load_n(&c->valid, __ATOMIC_ACQUIRE);
		}
	}
	return false;
}

static void drop_all(void)
{
	for (unsigned i = 0; i < CACHE_ENTRIES; i++)
		__atomic_store_n(&cache[i].valid, false, __ATOMIC_RELEASE);
}

/* Remembers an executable mapping read from the file (the first CACHE_ENTRIES of them). */
static void remember(const struct ut_mapping *m, unsigned *used)
{
	if (!(m->prot & PROT_EXEC) || *used >= CACHE_ENTRIES)
		return;
	cache[*used].m = *m;
	__atomic_store_n(&cache[*used].valid, true, __ATOMIC_RELEASE);
	++*used;
}

/* Adds a mapping read from the file (in address order) to the taken ranges, while there is room. */
static void note_taken(const struct ut_mapping *m)
{
	if (n_taken && taken[n_taken - 1].end == m->start)
		taken[n_taken - 1].end = m->end;
	else if (n_taken < TAKEN_RANGES)
		taken[n_taken++] = (struct range){m->start, m->end};
}

/* Reads the whole file: every executable mapping into the cache, the one holding addr into *m. */
static int read_maps(uintptr_t addr, struct ut_mapping *m)
{
	unsigned gen = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
	int fd = (int)UT_SYS3(SYS_open, "/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	__atomic_fetch_add(&reads, 1, __ATOMIC_RELAXED);
	drop_all();
	char buf[1024], line[256];
	size_t len = 0;
	unsigned used = 0;
	bool found = false;
	n_taken = 0;
	long n;
	while ((n = UT_SYS3(SYS_read, fd, buf, sizeof buf)) > 0) {
		for (long i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (len < sizeof line - 1)
					line[len++] = buf[i];
				continue;
			}
			line[len] = 0;
			len = 0;
			struct ut_mapping cur;
			if (!parse_line(line, &cur))
				continue;
			remember(&cur, &used);
			note_taken(&cur);
			if (addr >= cur.start && addr < cur.end) {
				*m = cur;
				found = true;
			}
		}
	}
	UT_SYS1(SYS_close, fd);
	if (__atomic_load_n(&generation, __ATOMIC_ACQUIRE) != gen)
		drop_all(); /* a mapping changed while the file was read: what it said may be stale */
	return found ? 0 : -ENOENT;
}

int ut_find_mapping(uintptr_t addr, struct ut_mapping *m)
{
	return cached(addr, m) ? 0 : read_maps(addr, m);
}

bool ut_maps_taken(uintptr_t lo, uintptr_t hi)
{
	unsigned l = 0, h = n_taken; /* the first range that ends above lo */
	while (l < h) {
		unsigned mid = l + (h - l) / 2;
		if (taken[mid].end <= lo)
			l = mid + 1;
		else
			h = mid;
	}
	return l < n_taken && taken[l].start < hi;
}

void ut_maps_forget(uintptr_t lo, uintptr_t hi)
{
	__atomic_fetch_add(&generation, 1, __ATOMIC_ACQ_REL);
	for (unsigned i = 0; i < CACHE_ENTRIES; i++) {
		struct cached *c = &cache[i];
		if (c->m.start < hi && c->m.end > lo)
			__atomic_store_n(&c->valid, false, __ATOMIC_RELEASE);
	}
}

unsigned long ut_maps_reads(void)
{
	return __atomic_load_n(&reads, __ATOMIC_RELAXED);
}
