/* Lines out: prefixes, batching, one write per line, closing the calls others left in progress. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "sctrace/output.h"
#include "usertrap.h"
#include "sctrace/rawsys.h"

/* Lines gathered while a single task is traced and the output is a regular file; written when the
 * batch is full, before the process may stop or wait, and when its first line is this old: */
#define SCT_BATCH_AGE_NS (200 * 1000 * 1000ULL)
static char batch[64 * 1024];
static size_t batch_len;
static uint64_t batch_since; /* monotonic time of the batch's first line */
static unsigned batch_lines; /* lines since the age was last looked at (every 32: a clock read costs) */

bool sct_own_fd(int fd)
{
	if (fd < 0)
		return false;
	for (int i = 0; i < SCT_MAX_OWN_FDS; i++)
		if (__atomic_load_n(&sct.own_fds[i], __ATOMIC_RELAXED) == fd + 1)
			return true;
	return false;
}

void sct_own_fd_add(int fd)
{
	for (int i = 0; i < SCT_MAX_OWN_FDS; i++) {
		int free_cell = 0;
		if (__atomic_compare_exchange_n(&sct.own_fds[i], &free_cell, fd + 1, false, __ATOMIC_RELAXED,
		                                __ATOMIC_RELAXED))
			return;
	}
}

void sct_own_fd_replace(int old_fd, int new_fd)
{
	for (int i = 0; i < SCT_MAX_OWN_FDS; i++)
		if (sct.own_fds[i] == old_fd + 1)
			sct.own_fds[i] = new_fd + 1;
}

void sct_note_sealed(void)
{
	static bool noted; /* a child of fork inherits it, as it inherits the filter */
	if (!__atomic_exchange_n(&noted, true, __ATOMIC_RELAXED))
		__atomic_fetch_add(&sct.board->sealed_tasks, 1, __ATOMIC_RELAXED);
}

/* Writes all of iov[0..n) to fd, continuing after partial writes and EINTR. */
static void write_all(int fd, struct iovec *iov, int n)
{
	if (usertrap_seccomp_sealed()) { /* see sct_hook: the line of the call that installed the filter */
		sct_note_sealed();
		return;
	}
	while (n > 0) {
		long w = sct_raw3(SYS_writev, fd, iov, n);
		if (w == -4 /* EINTR */)
			continue;
		if (w < 0)
			return; /* nothing to report to: the output itself failed */
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (long)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
}

void sct_out_setup(void)
{
	sct.out_fd = sct.o->separate ? -1 : sct.board->out_fd;
	sct.buffered = false;
	if (sct.out_fd >= 0) {
		struct stat st;
		if (sct_raw2(SYS_fstat, sct.out_fd, &st) == 0 && S_ISREG(st.st_mode))
			sct.buffered = true;
		sct_own_fd_add(sct.out_fd);
	}
	batch_len = 0;
}

/* "FILE.TID", opened for this thread (appending when its image was just exec'd: the old one wrote
 * the beginning). */
static int open_separate(struct sct_thread *t)
{
	char path[PATH_MAX + 16];
	struct sct_line l;
	sct_line_init(&l, path, sizeof path);
	sct_puts(&l, sct.board->out_path);
	sct_putc(&l, '.');
	sct_udec(&l, (unsigned)t->tid);
	path[l.len] = '\0';
	int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
	long fd = sct_raw4(SYS_openat, AT_FDCWD, path, flags, 0644);
	if (fd >= 0)
		sct_own_fd_add((int)fd);
	return (int)fd;
}

int sct_out_fd(struct sct_thread *t)
{
	if (!sct.o->separate)
		return sct.out_fd;
	if (t->out_fd < 0)
		t->out_fd = open_separate(t);
	return t->out_fd;
}

static bool batching(const struct sct_thread *t)
{
	return sct.buffered && !t->vfork_parent &&
	       (!sct.o->follow || __atomic_load_n(&sct.board->live_tasks, __ATOMIC_RELAXED) <= 1);
}

void sct_out_flush(void)
{
	if (!batch_len)
		return;
	struct iovec v = {batch, batch_len};
	batch_len = 0;
	write_all(sct.out_fd, &v, 1);
}

/* Out with a line made of two pieces: gathered into the batch, or written in one system call. */
static void emit(struct sct_thread *t, const char *a, size_t na, const char *b, size_t nb)
{
	if (batching(t)) {
		if (batch_len + na + nb > sizeof batch)
			sct_out_flush();
		if (na + nb <= sizeof batch) {
			if (!batch_len) {
				batch_since = sct_now_ns();
				batch_lines = 0;
			}
			memcpy(batch + batch_len, a, na);
			memcpy(batch + batch_len + na, b, nb);
			batch_len += na + nb;
			if (++batch_lines % 32 == 0 && sct_now_ns() - batch_since > SCT_BATCH_AGE_NS)
				sct_out_flush();
			return;
		}
	}
	sct_out_flush();
	struct iovec v[2] = {{(void *)a, na}, {(void *)b, nb}};
	int fd = sct_out_fd(t);
	if (fd >= 0)
		write_all(fd, v, 2);
}

/* Closes, with "<unfinished ...>", the calls in progress that other tasks (or this one, below a
 * signal handler) published. With -ff only this thread's own: every task has its own file. */
static void close_pending(struct sct_thread *t)
{
	struct sct_board *b = sct.board;
	struct sct_frame *mine = __atomic_load_n(&t->local_pending, __ATOMIC_RELAXED);
	if (mine && !t->local_closed) {
		static const char tail[] = " <unfinished ...>\n";
		emit(t, mine->line.buf, mine->entry_len, tail, sizeof tail - 1);
		t->local_closed = true;
	}
	if (!__atomic_load_n(&b->pending, __ATOMIC_ACQUIRE))
		return;
	uint32_t used = __atomic_load_n(&b->slots_used, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < used && i < SCT_SLOTS; i++) {
		struct sct_slot *s = &b->slots[i];
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != SCT_SLOT_PENDING)
			continue;
		if (sct.o->separate && (int)i != t->slot)
			continue;
		uint32_t expect = SCT_SLOT_PENDING;
		if (!__atomic_compare_exchange_n(&s->state, &expect, SCT_SLOT_CLOSING, false,
		                                 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			continue;
		static const char tail[] = " <unfinished ...>\n";
		emit(t, s->text, s->len, tail, sizeof tail - 1);
		__atomic_store_n(&s->state, SCT_SLOT_CLOSED, __ATOMIC_RELEASE);
		__atomic_fetch_sub(&b->pending, 1, __ATOMIC_ACQ_REL);
	}
}

/* A line printed by a signal handler while this thread is writing one: kept until that one is out. */
static bool defer_nested(struct sct_thread *t, const char *text, size_t len)
{
	size_t cur = __atomic_load_n(&t->side_len, __ATOMIC_RELAXED);
	do {
		if (cur + len > sizeof t->side)
			return false;
	} while (!__atomic_compare_exchange_n(&t->side_len, &cur, cur + len, false, __ATOMIC_RELAXED,
	                                      __ATOMIC_RELAXED));
	memcpy(t->side + cur, text, len);
	return true;
}

static void drain_nested(struct sct_thread *t)
{
	size_t done = 0;
	for (;;) {
		size_t n = __atomic_load_n(&t->side_len, __ATOMIC_RELAXED);
		if (n > done) {
			emit(t, t->side + done, n - done, "", 0);
			done = n;
			continue;
		}
		if (__atomic_compare_exchange_n(&t->side_len, &n, 0, false, __ATOMIC_RELAXED,
		                                __ATOMIC_RELAXED))
			return;
	}
}

void sct_out_line(struct sct_thread *t, const char *text, size_t len)
{
	if (__atomic_load_n(&t->emitting, __ATOMIC_RELAXED)) {
		if (!defer_nested(t, text, len))
			emit(t, text, len, "", 0); /* no room: out of order rather than lost */
		return;
	}
	__atomic_store_n(&t->emitting, 1, __ATOMIC_RELAXED);
	__asm__ volatile("" ::: "memory");
	close_pending(t);
	emit(t, text, len, "", 0);
	drain_nested(t);
	__asm__ volatile("" ::: "memory");
	__atomic_store_n(&t->emitting, 0, __ATOMIC_RELAXED);
}

/* No other task can print a line while this one is in a call: only a signal handler here can. */
static bool alone(const struct sct_thread *t)
{
	if (t->vfork_parent)
		return false;
	return !sct.o->follow || __atomic_load_n(&sct.board->live_tasks, __ATOMIC_RELAXED) <= 1;
}

bool sct_out_publish(struct sct_thread *t, struct sct_frame *f, bool new_task, uint32_t exec_pid)
{
	struct sct_board *b = sct.board;
	if (!new_task && !exec_pid && alone(t)) {
		t->local_closed = false;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		__atomic_store_n(&t->local_pending, f, __ATOMIC_RELAXED);
		f->published = SCT_ON_THREAD;
		return true;
	}
	if (t->slot < 0 || __atomic_load_n(&b->slots[t->slot].tid, __ATOMIC_RELAXED) != t->tid)
		t->slot = sct_board_claim(b, t->tid, t->vfork_parent ? t->tid : sct.pid);
	if (t->slot < 0)
		return false;
	struct sct_slot *s = &b->slots[t->slot];
	size_t n = f->line.len < SCT_SLOT_TEXT ? f->line.len : SCT_SLOT_TEXT;
	memcpy(s->text, f->line.buf, n);
	s->len = (uint32_t)n;
	s->exec_pid = exec_pid;
	s->t0 = f->t0;
	__atomic_fetch_add(&b->pending, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&s->state, SCT_SLOT_PENDING, __ATOMIC_RELEASE);
	f->published = SCT_ON_BOARD;
	return true;
}

bool sct_out_withdraw(struct sct_thread *t, struct sct_frame *f)
{
	if (f->published == SCT_UNPUBLISHED)
		return false;
	if (f->published == SCT_ON_THREAD) {
		f->published = SCT_UNPUBLISHED;
		__atomic_store_n(&t->local_pending, NULL, __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		return t->local_closed;
	}
	f->published = SCT_UNPUBLISHED;
	struct sct_slot *s = &sct.board->slots[t->slot];
	uint32_t expect = SCT_SLOT_PENDING;
	if (__atomic_compare_exchange_n(&s->state, &expect, SCT_SLOT_IDLE, false, __ATOMIC_ACQ_REL,
	                                __ATOMIC_RELAXED)) {
		__atomic_fetch_sub(&sct.board->pending, 1, __ATOMIC_ACQ_REL);
		return false;
	}
	/* Closed, or being closed: wait until its line is out, so ours comes after it. */
	for (int spin = 0; __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == SCT_SLOT_CLOSING && spin < 100000;
	     spin++)
		sct_raw0(SYS_sched_yield);
	__atomic_store_n(&s->state, SCT_SLOT_IDLE, __ATOMIC_RELEASE);
	return true;
}

/* HH:MM:SS of a time of day, for -t and -tt. */
static void put_clock(struct sct_line *l, uint64_t sec)
{
	long local = (long)sec + sct.tz_offset;
	long day = ((local % 86400) + 86400) % 86400;
	sct_dec_width(l, (unsigned long)(day / 3600), 2);
	sct_putc(l, ':');
	sct_dec_width(l, (unsigned long)(day / 60 % 60), 2);
	sct_putc(l, ':');
	sct_dec_width(l, (unsigned long)(day % 60), 2);
}

void sct_out_prefix(struct sct_thread *t, struct sct_line *l)
{
	const struct sct_options *o = sct.o;
	if (o->follow && !o->separate) {
		unsigned id = (unsigned)t->tid;
		if (sct.board->out_path[0]) {
			/* -o FILE -f: "%-5u " */
			size_t start = l->len;
			sct_udec(l, id);
			sct_pad_to(l, start + 5);
			sct_putc(l, ' ');
		} else if (__atomic_load_n(&sct.board->live_tasks, __ATOMIC_RELAXED) > 1) {
			/* "[pid %5u] " */
			sct_puts(l, "[pid ");
			char d[16];
			struct sct_line dl;
			sct_line_init(&dl, d, sizeof d);
			sct_udec(&dl, id);
			for (size_t k = dl.len; k < 5; k++)
				sct_putc(l, ' ');
			sct_put(l, d, dl.len);
			sct_puts(l, "] ");
		}
	}
	if (o->timestamps) {
		uint64_t now = sct_realtime_ns();
		uint64_t sec = now / 1000000000ULL, usec = now % 1000000000ULL / 1000;
		if (o->timestamps >= 3)
			sct_udec(l, sec);
		else
			put_clock(l, sec);
		if (o->timestamps >= 2) {
			sct_putc(l, '.');
			sct_dec_width(l, usec, 6);
		}
		sct_putc(l, ' ');
	}
}
