/*
 * The plan cache (see plancache.h): fixed-size records in memory and in the file, which is
 *   header: magic, record counts, checksum of what follows; then the function records; then the plans.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "usertrap/plancache.h"

/* In memory: what the file held and what this process learnt, appended lock-free (a first hit in a
 * signal handler looks plans up and records them); the file keeps the newest FILE_* of each. */
#define FN_CAP      512
#define PLAN_CAP    1024
#define MISSING_CAP 64
#define FILE_FNS    256
#define FILE_PLANS  512
#define MAGIC       "utplan02" /* 02: the four-lane hash_bytes (keys and checksums changed) */
struct fn_rec {
	uint64_t hash;
	uint32_t len, n, seven, pad;
	uint32_t off[UT_CACHE_SITES];
};

struct insn_rec {
	uint8_t off, len, kind, disp_off, cc, pad[3];
	uint64_t target; /* from the function's start (wraps for targets before it) */
};

struct plan_rec {
	uint64_t hash;
	uint32_t len, insn_off; /* the function's length; the site from its start */
	int32_t result;         /* enum ut_plan_result */
	uint32_t start, end;    /* the window, from the function's start */
	uint8_t n, pun, pad[2];
	struct insn_rec in[UT_WIN_MAX_INSNS];
	unsigned char bytes[UT_WIN_MAX_LEN];
};

struct header {
	char magic[8];
	uint32_t n_fns, n_plans;
	uint64_t sum; /* ut_hash_words of the records */
};

/* A site left without a plan for want of the decoder, planned by ut_plancache_flush's caller. */
struct missing {
	struct ut_fn_key key;
	uintptr_t insn, lo, hi;
};

/* Records appended lock-free: an index claimed by an atomic add, the record written, then ready. */
static struct fn_rec fns[FN_CAP];
static struct plan_rec plans[PLAN_CAP];
static struct missing missing[MISSING_CAP];
/* The flags side by side: a warm process touches one page of them. */
static struct {
	bool fn[FN_CAP], plan[PLAN_CAP], missing[MISSING_CAP];
} ready;
static unsigned fns_claimed, plans_claimed, missing_claimed;

/* The file's records, read or to be written (under `lock`). */
static struct fn_rec file_fns[FILE_FNS];
static struct plan_rec file_plans[FILE_PLANS];

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* loading and saving */
static char dir_path[PATH_MAX];
static bool enabled, loaded, dirty;

/* A 64-bit hash of 8-byte words (a multiply-rotate mix, not cryptographic: it tells one function's
 * bytes from another's; the file's owner check keeps others out). */
static uint64_t mix(uint64_t h, uint64_t w)
{
	h ^= w * 0x9e3779b97f4a7c15ull;
	h = (h << 31 | h >> 33) * 0xc2b2ae3d27d4eb4full;
	return h;
}

/* Four lanes of 8-byte words: each mix is a chain of two multiplies (~8 cycles), so one lane made the
 * checksum of a 24 KiB file ~9 us of a warm process's start; four independent ones take a quarter. */
static uint64_t hash_bytes(uint64_t h, const unsigned char *b, size_t n)
{
	uint64_t l0 = h, l1 = h ^ 0x243f6a8885a308d3ull, l2 = h ^ 0x13198a2e03707344ull,
	         l3 = h ^ 0xa4093822299f31d0ull;
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		uint64_t w[4];
		memcpy(w, b + i, sizeof w);
		l0 = mix(l0, w[0]);
		l1 = mix(l1, w[1]);
		l2 = mix(l2, w[2]);
		l3 = mix(l3, w[3]);
	}
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, b + i, 8);
		l0 = mix(l0, w);
	}
	uint64_t tail = 0;
	memcpy(&tail, b + i, n - i);
	return mix(mix(mix(mix(l0, l1), l2), l3), tail ^ ((uint64_t)n << 56));
}

bool ut_code_key(uintptr_t lo, uintptr_t hi, const struct ut_code_view *view, struct ut_fn_key *key)
{
	if (hi <= lo || hi - lo > UT_FN_MAX_LEN)
		return false;
	unsigned char buf[512];
	uint64_t h = hi - lo;
	for (uintptr_t a = lo; a < hi;) {
		size_t n = hi - a < sizeof buf ? hi - a : sizeof buf;
		if (safecopy_memcpy(buf, (const void *)a, n, NULL) != n)
			return false;
		if (view && view->original)
			view->original(a, buf, n);
		h = hash_bytes(h, buf, n);
		a += n;
	}
	*key = (struct ut_fn_key){.len = (uint32_t)(hi - lo), .hash = h};
	return true;
}

/* Appends rec (size bytes) to array (cap records, `claimed` claimed so far): false if it is full. */
static bool append(void *array, bool *ready, unsigned *claimed, unsigned cap, size_t size, const void *rec)
{
	unsigned i = __atomic_fetch_add(claimed, 1, __ATOMIC_ACQ_REL);
	if (i >= cap)
		return false;
	memcpy((char *)array + i * size, rec, size);
	__atomic_store_n(&ready[i], true, __ATOMIC_RELEASE);
	return true;
}

/* The records of an array that may be read: [0, the count), each if ready. */
static unsigned readable(const unsigned *claimed, unsigned cap)
{
	unsigned n = __atomic_load_n(claimed, __ATOMIC_ACQUIRE);
	return n < cap ? n : cap;
}

int ut_plancache_set_dir(const char *dir)
{
	if (dir && strlen(dir) + sizeof "/.plans.XXXXXX" > sizeof dir_path)
		return USERTRAP_ERR_INVAL;
	pthread_mutex_lock(&lock);
	enabled = false;
	/* only what was claimed: the flags of a process that never used the cache stay untouched pages */
	memset(ready.fn, 0, readable(&fns_claimed, FN_CAP));
	memset(ready.plan, 0, readable(&plans_claimed, PLAN_CAP));
	memset(ready.missing, 0, readable(&missing_claimed, MISSING_CAP));
	fns_claimed = plans_claimed = missing_claimed = 0;
	loaded = dirty = false;
	if (dir)
		strcpy(dir_path, dir);
	__atomic_store_n(&enabled, dir != NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&lock);
	return 0;
}

bool ut_plancache_enabled(void)
{
	return __atomic_load_n(&enabled, __ATOMIC_ACQUIRE);
}

static bool fn_rec_ok(const struct fn_rec *f)
{
	if (f->len == 0 || f->len > UT_FN_MAX_LEN || f->n > UT_CACHE_SITES)
		return false;
	for (uint32_t i = 0; i < f->n; i++)
		if (f->off[i] + 2 > f->len || (i > 0 && f->off[i] <= f->off[i - 1]))
			return false;
	return true;
}

/* The plan's instructions tile the window exactly, its one syscall at insn_off, every field in bounds,
 * its punned bytes those its boundaries give. */
static bool window_ok(const struct plan_rec *r)
{
	uint32_t wlen = r->end - r->start;
	if (r->end > r->len || r->start >= r->end || wlen < UT_JUMP_LEN || wlen > UT_WIN_MAX_LEN ||
	    r->n == 0 || r->n > UT_WIN_MAX_INSNS || r->insn_off < r->start || r->insn_off + 2 > r->end)
		return false;
	unsigned at = 0, syscalls = 0, pun = 0;
	for (unsigned i = 0; i < r->n; i++) {
		const struct insn_rec *x = &r->in[i];
		if (x->off != at || x->len == 0 || x->kind > UT_INSN_SYSCALL || x->cc > 15 ||
		    (x->kind == UT_INSN_RIPREL && x->disp_off + 4u > x->len))
			return false;
		if (x->kind == UT_INSN_SYSCALL &&
		    (x->len != 2 || r->start + at != r->insn_off || syscalls++ || r->bytes[at] != 0x0f ||
		     r->bytes[at + 1] != 0x05))
			return false;
		if (at > 0 && at < UT_JUMP_LEN)
			pun |= 1u << (at - 1);
		at += x->len;
	}
	return at == wlen && syscalls == 1 && pun == r->pun;
}

static bool plan_rec_ok(const struct plan_rec *r)
{
	if (r->len == 0 || r->len > UT_FN_MAX_LEN || r->insn_off + 2 > r->len)
		return false;
	if (r->result == UT_PLAN_OK)
		return window_ok(r);
	return r->result == UT_PLAN_MISALIGNED || r->result == UT_PLAN_NO_WINDOW;
}

static uint64_t records_sum(const unsigned char *b, size_t n)
{
	return hash_bytes(0x75747061u, b, n);
}

/* The file is ours: a regular file of the effective user that no one else may write. */
static bool trusted(int fd, size_t *size)
{
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)))
		return false;
	*size = (size_t)st.st_size;
	return true;
}

/* Reads exactly n bytes. */
static bool read_all(int fd, void *buf, size_t n)
{
	for (size_t done = 0; done < n;) {
		ssize_t k = read(fd, (char *)buf + done, n - done);
		if (k <= 0 && !(k < 0 && errno == EINTR))
			return false;
		done += k > 0 ? (size_t)k : 0;
	}
	return true;
}

static uint64_t records_sum2(const struct fn_rec *f, unsigned n_fns, const struct plan_rec *p,
                             unsigned n_plans)
{
	return mix(records_sum((const unsigned char *)f, n_fns * sizeof *f),
	           records_sum((const unsigned char *)p, n_plans * sizeof *p));
}

/* Claims n records of an array (cap, `claimed`): the first index, or -1 if they do not fit. */
static long claim(unsigned *claimed, unsigned cap, unsigned n)
{
	unsigned i = __atomic_fetch_add(claimed, n, __ATOMIC_ACQ_REL);
	return i <= cap && n <= cap - i ? (long)i : -1;
}

/* The records of the open file, read straight into claimed slots of fns and plans (no copy: each page
 * touched is a fault a warm process pays), made ready if it is trusted and whole, its checksum right
 * and every record well-formed; else the slots stay not ready. */
static void read_file(int fd)
{
	struct header h;
	size_t size;
	if (!trusted(fd, &size) || size < sizeof h || !read_all(fd, &h, sizeof h) ||
	    memcmp(h.magic, MAGIC, sizeof h.magic) || h.n_fns > FILE_FNS || h.n_plans > FILE_PLANS ||
	    size != sizeof h + h.n_fns * sizeof(struct fn_rec) + h.n_plans * sizeof(struct plan_rec))
		return;
	long f = claim(&fns_claimed, FN_CAP, h.n_fns), p = claim(&plans_claimed, PLAN_CAP, h.n_plans);
	struct iovec iov[2] = {{&fns[f < 0 ? 0 : f], h.n_fns * sizeof(struct fn_rec)},
	                       {&plans[p < 0 ? 0 : p], h.n_plans * sizeof(struct plan_rec)}};
	size_t want = iov[0].iov_len + iov[1].iov_len;
	if (f < 0 || p < 0 || readv(fd, iov, 2) != (ssize_t)want ||
	    records_sum2(&fns[f], h.n_fns, &plans[p], h.n_plans) != h.sum)
		return;
	for (uint32_t i = 0; i < h.n_fns; i++)
		if (!fn_rec_ok(&fns[f + i]))
			return;
	for (uint32_t i = 0; i < h.n_plans; i++)
		if (!plan_rec_ok(&plans[p + i]))
			return;
	for (uint32_t i = 0; i < h.n_fns; i++)
		__atomic_store_n(&ready.fn[f + i], true, __ATOMIC_RELEASE);
	for (uint32_t i = 0; i < h.n_plans; i++)
		__atomic_store_n(&ready.plan[p + i], true, __ATOMIC_RELEASE);
}

/* Reads the file once per directory set. Needs `lock`. */
static void load_locked(void)
{
	if (ut_plancache_enabled() && !loaded) {
		char path[PATH_MAX + 32];
		snprintf(path, sizeof path, "%s/plans", dir_path);
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0) {
			read_file(fd);
			close(fd);
		}
		loaded = true;
	}
}

void ut_plancache_load(void)
{
	pthread_mutex_lock(&lock);
	load_locked();
	pthread_mutex_unlock(&lock);
}

static const struct fn_rec *find_fn(const struct ut_fn_key *k)
{
	for (unsigned i = 0, n = readable(&fns_claimed, FN_CAP); i < n; i++)
		if (__atomic_load_n(&ready.fn[i], __ATOMIC_ACQUIRE) && fns[i].hash == k->hash &&
		    fns[i].len == k->len)
			return &fns[i];
	return NULL;
}

static const struct plan_rec *find_plan(const struct ut_fn_key *k, uint32_t insn_off)
{
	for (unsigned i = 0, n = readable(&plans_claimed, PLAN_CAP); i < n; i++)
		if (__atomic_load_n(&ready.plan[i], __ATOMIC_ACQUIRE) && plans[i].hash == k->hash &&
		    plans[i].len == k->len && plans[i].insn_off == insn_off)
			return &plans[i];
	return NULL;
}

bool ut_plancache_sites(const struct ut_fn_key *k, struct ut_fn_sites *out)
{
	const struct fn_rec *f = ut_plancache_enabled() ? find_fn(k) : NULL;
	if (f) {
		out->n = (int)f->n;
		out->seven = f->seven;
		memcpy(out->off, f->off, sizeof out->off);
	}
	return f != NULL;
}

void ut_plancache_put_sites(const struct ut_fn_key *k, const struct ut_fn_sites *s)
{
	struct fn_rec f = {.hash = k->hash, .len = k->len, .n = (uint32_t)s->n, .seven = s->seven};
	if (s->n < 0 || s->n > UT_CACHE_SITES || !ut_plancache_enabled() || find_fn(k))
		return;
	memcpy(f.off, s->off, sizeof f.off);
	if (fn_rec_ok(&f) && append(fns, ready.fn, &fns_claimed, FN_CAP, sizeof f, &f))
		__atomic_store_n(&dirty, true, __ATOMIC_RELAXED);
}

int ut_plancache_plan(const struct ut_fn_key *k, uint32_t insn_off, uintptr_t fn_lo, struct ut_plan *p)
{
	const struct plan_rec *r = ut_plancache_enabled() ? find_plan(k, insn_off) : NULL;
	if (!r)
		return -1;
	if (r->result != UT_PLAN_OK)
		return r->result;
	*p = (struct ut_plan){.start = fn_lo + r->start,
	                      .end = fn_lo + r->end,
	                      .insn = fn_lo + insn_off,
	                      .n = r->n,
	                      .pun = r->pun};
	for (unsigned i = 0; i < r->n; i++) {
		const struct insn_rec *x = &r->in[i];
		p->in[i] = (struct ut_insn){.off = x->off,
		                            .len = x->len,
		                            .kind = x->kind,
		                            .disp_off = x->disp_off,
		                            .cc = x->cc,
		                            .target = fn_lo + (uintptr_t)x->target};
	}
	memcpy(p->bytes, r->bytes, sizeof p->bytes);
	return UT_PLAN_OK;
}

/* The record of result (and plan p, for UT_PLAN_OK) for the site insn_off of function k at fn_lo. */
static struct plan_rec plan_record(const struct ut_fn_key *k, uint32_t insn_off, uintptr_t fn_lo, int result,
                                   const struct ut_plan *p)
{
	struct plan_rec r = {.hash = k->hash, .len = k->len, .insn_off = insn_off, .result = result};
	if (result != UT_PLAN_OK)
		return r;
	r.start = (uint32_t)(p->start - fn_lo);
	r.end = (uint32_t)(p->end - fn_lo);
	r.n = (uint8_t)p->n;
	r.pun = p->pun;
	for (unsigned i = 0; i < p->n && i < UT_WIN_MAX_INSNS; i++) {
		const struct ut_insn *x = &p->in[i];
		r.in[i] = (struct insn_rec){.off = x->off,
		                            .len = x->len,
		                            .kind = x->kind,
		                            .disp_off = x->disp_off,
		                            .cc = x->cc,
		                            .target = x->target - fn_lo};
	}
	memcpy(r.bytes, p->bytes, sizeof r.bytes);
	return r;
}

void ut_plancache_put_plan(const struct ut_fn_key *k, uint32_t insn_off, uintptr_t fn_lo, int result,
                           const struct ut_plan *p)
{
	struct plan_rec r = plan_record(k, insn_off, fn_lo, result, p);
	/* what the file could not hold is not kept either */
	if (!ut_plancache_enabled() || !plan_rec_ok(&r) || find_plan(k, insn_off))
		return;
	if (append(plans, ready.plan, &plans_claimed, PLAN_CAP, sizeof r, &r))
		__atomic_store_n(&dirty, true, __ATOMIC_RELAXED);
}

void ut_plancache_put_missing(const struct ut_fn_key *k, uintptr_t insn, uintptr_t fn_lo, uintptr_t fn_hi)
{
	struct missing m = {.key = *k, .insn = insn, .lo = fn_lo, .hi = fn_hi};
	if (ut_plancache_enabled())
		append(missing, ready.missing, &missing_claimed, MISSING_CAP, sizeof m, &m);
}

bool ut_plancache_missing(unsigned i, struct ut_fn_key *k, uintptr_t *insn, uintptr_t *fn_lo,
                          uintptr_t *fn_hi)
{
	if (i >= readable(&missing_claimed, MISSING_CAP) ||
	    !__atomic_load_n(&ready.missing[i], __ATOMIC_ACQUIRE))
		return false;
	*k = missing[i].key;
	*insn = missing[i].insn;
	*fn_lo = missing[i].lo;
	*fn_hi = missing[i].hi;
	return true;
}

bool ut_plancache_complete(const struct ut_fn_key *k)
{
	const struct fn_rec *f = ut_plancache_enabled() ? find_fn(k) : NULL;
	bool complete = f != NULL;
	for (uint32_t i = 0; complete && i < f->n; i++)
		complete = (f->seven & (1u << i)) || find_plan(k, f->off[i]);
	return complete;
}

/* mkdir -p of dir_path, the directories it creates private. */
static void make_dirs(void)
{
	char path[PATH_MAX];
	strcpy(path, dir_path);
	for (char *s = path + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;
		*s = 0;
		if (mkdir(path, 0700) && errno != EEXIST)
			return;
		if (!(*s = c))
			return;
	}
}

static bool write_all(int fd, const void *buf, size_t n)
{
	for (size_t done = 0; done < n;) {
		ssize_t k = write(fd, (const char *)buf + done, n - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		done += (size_t)k;
	}
	return true;
}

/* The newest ready records of an array (n readable) into out (at most max): their count. */
static unsigned newest(const void *array, const bool *ready, unsigned n, size_t size, void *out, unsigned max)
{
	unsigned from = n, kept = 0;
	while (from > 0 && kept < max)
		kept += __atomic_load_n(&ready[--from], __ATOMIC_ACQUIRE);
	kept = 0;
	for (unsigned i = from; i < n; i++)
		if (__atomic_load_n(&ready[i], __ATOMIC_ACQUIRE))
			memcpy((char *)out + kept++ * size, (const char *)array + i * size, size);
	return kept;
}

/* Writes the newest records to a new file in dir_path and renames it over DIR/plans. Needs `lock`. */
static int write_file(void)
{
	char tmp[PATH_MAX + 32], path[PATH_MAX + 32];
	snprintf(tmp, sizeof tmp, "%s/.plans.XXXXXX", dir_path);
	snprintf(path, sizeof path, "%s/plans", dir_path);
	struct header h = {
	    .n_fns = newest(fns, ready.fn, readable(&fns_claimed, FN_CAP), sizeof *fns, file_fns, FILE_FNS),
	    .n_plans = newest(plans, ready.plan, readable(&plans_claimed, PLAN_CAP), sizeof *plans,
	                      file_plans, FILE_PLANS)};
	memcpy(h.magic, MAGIC, sizeof h.magic);
	h.sum = records_sum2(file_fns, h.n_fns, file_plans, h.n_plans);
	make_dirs();
	/* Only into a directory of our own: a file of ours in another user's cache (root under sudo -E)
	 * would be ignored there and replace theirs. */
	struct stat st;
	if (stat(dir_path, &st) || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return -1;
	int fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0)
		return -1;
	bool ok = write_all(fd, &h, sizeof h) && write_all(fd, file_fns, h.n_fns * sizeof(struct fn_rec)) &&
	          write_all(fd, file_plans, h.n_plans * sizeof(struct plan_rec));
	ok = !close(fd) && ok && !rename(tmp, path);
	if (!ok)
		unlink(tmp);
	return ok ? 0 : -1;
}

int ut_plancache_save(void)
{
	/* Busy: another thread saves or loads, or a fork left the lock taken in this child (its holder is
	 * gone): the save is best effort, never a wait. */
	if (pthread_mutex_trylock(&lock))
		return -1;
	int r = 0;
	/* One attempt per change: a read-only directory costs one try. */
	if (ut_plancache_enabled() && __atomic_exchange_n(&dirty, false, __ATOMIC_RELAXED)) {
		load_locked(); /* what the file holds is kept with what was learnt */
		r = write_file();
	}
	pthread_mutex_unlock(&lock);
	return r;
}
