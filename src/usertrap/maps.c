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
 *
 * Where the kernel has the PROCMAP_QUERY ioctl (Linux 6.11), the file is not read at all: one ioctl on
 * it names the mapping that holds an address (a read of the whole file cost ~25 us of kernel time,
 * the ioctl ~1-4 us), and another the next mapping at or after a place a stub page may go. What the
 * queries said about taken places is kept (the same hint the read gave), so that a place inside a
 * known mapping costs no call. While a patch holds its descriptors (ut_maps_hold), one descriptor of
 * the file serves every query.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
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
static unsigned long reads, queries;

/* PROCMAP_QUERY (include/uapi/linux/fs.h of Linux 6.11; Debian 12's headers predate it). */
#define PROCMAP_QUERY          0xc0686611UL /* _IOWR('f', 17, struct procmap_query) */
#define QUERY_COVERING_OR_NEXT 0x10
#define VMA_READABLE           0x01
#define VMA_WRITABLE           0x02
#define VMA_EXECUTABLE         0x04
#define VMA_SHARED             0x08
struct procmap_query {
	uint64_t size, query_flags, query_addr;
	uint64_t vma_start, vma_end, vma_flags, vma_page_size, vma_offset, inode; /* out */
	uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
	uint64_t vma_name_addr, build_id_addr;
};

bool ut_test_no_maps_query;
static bool query_refused;                      /* learnt once: this kernel has no PROCMAP_QUERY */
static bool taken_by_query;                     /* taken[] holds what queries said (not a read of the file) */
static struct ut_held maps_held = UT_HELD_INIT; /* /proc/self/maps for a pass; patch lock only */

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
	taken_by_query = false;
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

static bool can_query(void)
{
	return !ut_test_no_maps_query && !query_refused;
}

/* A descriptor of /proc/self/maps: the held one while a hold is on (opened at its first use). */
static int maps_fd(void)
{
	if (maps_held.fd >= 0)
		return maps_held.fd;
	int fd = (int)UT_SYS3(SYS_open, "/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
	return fd >= 0 ? ut_held_keep(&maps_held, fd) : fd;
}

static void maps_fd_done(int fd)
{
	if (fd >= 0 && fd != maps_held.fd)
		UT_SYS1(SYS_close, fd);
}

/* The mapping holding addr (`next`: or the first one above it) by PROCMAP_QUERY: 0, -ENOENT (none),
 * or -ENOTTY (no such ioctl: can_query() is false from then on) or another -errno. */
static int query(uintptr_t addr, bool next, struct ut_mapping *m)
{
	int fd = maps_fd();
	if (fd < 0)
		return fd;
	struct procmap_query q = {
	    .size = sizeof q, .query_flags = next ? QUERY_COVERING_OR_NEXT : 0, .query_addr = addr};
	long r = UT_SYS3(SYS_ioctl, fd, PROCMAP_QUERY, &q);
	maps_fd_done(fd);
	__atomic_fetch_add(&queries, 1, __ATOMIC_RELAXED);
	if (r == -ENOTTY || r == -EINVAL) { /* a kernel before 6.11, or one that does not know this size */
		query_refused = true;
		return -ENOTTY;
	}
	if (r < 0)
		return (int)r;
	uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	*m = (struct ut_mapping){.start = q.vma_start,
	                         .end = q.vma_end,
	                         .prot = (q.vma_flags & VMA_READABLE ? PROT_READ : 0) |
	                                 (q.vma_flags & VMA_WRITABLE ? PROT_WRITE : 0) |
	                                 (q.vma_flags & VMA_EXECUTABLE ? PROT_EXEC : 0),
	                         .shared = (q.vma_flags & VMA_SHARED) != 0,
	                         .vdso = vdso && q.vma_start == vdso};
	return 0;
}

/* Keeps an executable mapping a query named, in a free cache entry (none free: not kept). */
static void remember_queried(const struct ut_mapping *m, unsigned gen)
{
	if (!(m->prot & PROT_EXEC))
		return;
	for (unsigned i = 0; i < CACHE_ENTRIES; i++) {
		if (__atomic_load_n(&cache[i].valid, __ATOMIC_ACQUIRE))
			continue;
		cache[i].m = *m;
		/* A forget since the query may have meant this mapping: then it is not kept. */
		if (__atomic_load_n(&generation, __ATOMIC_ACQUIRE) == gen)
			__atomic_store_n(&cache[i].valid, true, __ATOMIC_RELEASE);
		return;
	}
}

int ut_find_mapping(uintptr_t addr, struct ut_mapping *m)
{
	if (cached(addr, m))
		return 0;
	if (can_query()) {
		unsigned gen = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
		int r = query(addr, false, m);
		if (r == 0)
			remember_queried(m, gen);
		if (r != -ENOTTY)
			return r;
	}
	return read_maps(addr, m);
}

/* The index of the first taken range that ends above lo (n_taken if none). */
static unsigned first_above(uintptr_t lo)
{
	unsigned l = 0, h = n_taken;
	while (l < h) {
		unsigned mid = l + (h - l) / 2;
		if (taken[mid].end <= lo)
			l = mid + 1;
		else
			h = mid;
	}
	return l;
}

/* Adds [start, end) to the taken ranges, in order, merged with the ranges it overlaps or touches. */
static void add_taken(uintptr_t start, uintptr_t end)
{
	unsigned i = first_above(start > 0 ? start - 1 : 0), j = i;
	while (j < n_taken && taken[j].start <= end) { /* the ranges it overlaps or touches: merged */
		start = taken[j].start < start ? taken[j].start : start;
		end = taken[j].end > end ? taken[j].end : end;
		j++;
	}
	if (i == j && n_taken == TAKEN_RANGES)
		return; /* no room: unknown, it will be tried */
	memmove(&taken[i + 1], &taken[j], (n_taken - j) * sizeof taken[0]);
	taken[i] = (struct range){start, end};
	n_taken = n_taken - (j - i) + 1;
}

bool ut_maps_taken(uintptr_t lo, uintptr_t hi)
{
	unsigned l = first_above(lo);
	bool known = l < n_taken && taken[l].start < hi;
	if (known || !can_query() || (n_taken && !taken_by_query))
		return known;
	/* Queried places are kept: a place inside a mapping seen before costs no call. */
	taken_by_query = true;
	struct ut_mapping m;
	if (query(lo, true, &m) != 0)
		return false; /* nothing at or above lo (or no answer): MAP_FIXED_NOREPLACE judges */
	add_taken(m.start, m.end);
	return m.start < hi;
}

void ut_held_hold(struct ut_held *h, bool on)
{
	if (on) {
		h->holds++;
		return;
	}
	if (h->holds && --h->holds == 0 && h->fd >= 0) {
		UT_SYS1(SYS_close, h->fd);
		h->fd = -1;
	}
}

int ut_held_keep(struct ut_held *h, int fd)
{
	if (h->holds)
		h->fd = fd; /* kept until the outermost hold ends */
	return fd;
}

void ut_maps_hold(bool on)
{
	ut_held_hold(&maps_held, on);
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

unsigned long ut_maps_queries(void)
{
	return __atomic_load_n(&queries, __ATOMIC_RELAXED);
}
