/*
 * Per-thread state: made on a thread's first traced call, in memory of its own (raw mmap, so that
 * it works in a signal handler and in a thread glibc has not finished setting up).
 */
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

#include "sctrace/memread.h"
#include "sctrace/rawsys.h"
#include "sctrace/tracer.h"

#define SCT_EXEC_AREA (64 * 1024)

/* In-place thread clones waiting for their child's id (see tracer.h). */
#define SCT_BIRTHS 16
static struct sct_thread *births[SCT_BIRTHS];

void sct_births_expect(struct sct_thread *parent)
{
	for (int i = 0; i < SCT_BIRTHS; i++) {
		struct sct_thread *none = NULL;
		if (__atomic_compare_exchange_n(&births[i], &none, parent, false, __ATOMIC_ACQ_REL,
		                                __ATOMIC_RELAXED))
			return;
	}
}

void sct_births_forget(struct sct_thread *parent)
{
	for (int i = 0; i < SCT_BIRTHS; i++) {
		struct sct_thread *p = parent;
		__atomic_compare_exchange_n(&births[i], &p, NULL, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
	}
}

void sct_note_birth(int32_t tid)
{
	for (int i = 0; i < SCT_BIRTHS; i++) {
		struct sct_thread *p = __atomic_load_n(&births[i], __ATOMIC_ACQUIRE);
		int32_t v;
		if (p && p->inplace.ptid && sct_peek(&v, p->inplace.ptid, sizeof v) && v == tid)
			__atomic_store_n(&p->inplace.child, tid, __ATOMIC_RELEASE);
	}
}

static __thread struct sct_thread *self_tls __attribute__((tls_model("initial-exec")));

static size_t page_round(size_t n)
{
	return (n + 4095) & ~(size_t)4095;
}

static struct sct_thread *make_state(struct sct_thread *vfork_parent)
{
	struct sct_thread *t;
	size_t per_frame = sct.line_cap + sct.scratch_cap;
	size_t size = page_round(sizeof *t + SCT_DEPTH * per_frame + SCT_EXEC_AREA);
	long m =
	    sct_raw6(SYS_mmap, 0, (long)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m < 0 && m > -4096)
		return NULL;
	t = (struct sct_thread *)m;
	t->tid = (int32_t)sct_raw0(SYS_gettid);
	t->busy = false;
	t->slot = -1;
	t->out_fd = -1;
	t->map_size = size;
	for (int d = 0; d < SCT_DEPTH; d++) {
		char *base = t->memory + (size_t)d * per_frame;
		t->frames[d].call.scratch = base + sct.line_cap;
		t->frames[d].call.scratch_cap = sct.scratch_cap;
		t->frames[d].line.buf = base;
		t->frames[d].line.cap = sct.line_cap;
	}
	t->exec_area = t->memory + SCT_DEPTH * per_frame;
	t->exec_cap = size - (size_t)(t->exec_area - (char *)t);
	t->vfork_parent = vfork_parent;
	self_tls = t;
	if (!vfork_parent)
		sct_note_birth(t->tid);
	return t;
}

struct sct_thread *sct_thread_self(void)
{
	struct sct_thread *t = self_tls;
	if (!t)
		return make_state(NULL);
	if (!t->vfork_parent && !t->inplace.vfork_like)
		return t;
	int32_t now = (int32_t)sct_raw0(SYS_gettid);
	if (t->vfork_parent) {
		if (now == t->tid)
			return t; /* still the child */
		/* the parent runs again: the child has exec'd or exited, its state is ours to drop */
		struct sct_thread *p = t->vfork_parent;
		self_tls = p;
		sct_raw2(SYS_munmap, t, t->map_size);
		return p;
	}
	if (now == t->tid)
		return t; /* the parent, its child gone before making a call we saw */
	t->inplace.child = now;
	return make_state(t); /* the vfork child's first call */
}

struct sct_thread *sct_thread_self_if_any(void)
{
	return self_tls;
}

void sct_thread_release(struct sct_thread *t)
{
	self_tls = NULL;
	sct_raw2(SYS_munmap, t, t->map_size);
}

void sct_thread_after_fork(struct sct_thread *t)
{
	t->tid = (int32_t)sct_raw0(SYS_gettid);
	t->slot = -1;
	t->out_fd = -1;
	t->vfork_parent = NULL;
	t->inplace.active = false;
	t->inplace.vfork_like = false;
	t->side_len = 0;
	t->emitting = 0;
}

bool sct_tsc;

uint64_t sct_clock_ns(uint64_t ticks)
{
	return sct_tsc ? (uint64_t)((double)ticks / sct.board->ticks_per_ns) : ticks;
}

uint64_t sct_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t sct_realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
