/*
 * The tracer library's process-wide state and its per-thread state. Everything here is used from the
 * hook, which may run in signal context: no locks, no allocation but raw mmap, no stdio.
 */
#ifndef SCTRACE_TRACER_H
#define SCTRACE_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sctrace/board.h"
#include "sctrace/clock.h"
#include "sctrace/decode.h"
#include "sctrace/fmt.h"

#define SCT_HIDDEN __attribute__((visibility("hidden")))

/* Nested hook calls on one thread (a signal handler's calls inside a call) that get lines of their own. */
#define SCT_DEPTH 4
/* Descriptors of the tracer that the traced program must not close (board, outputs). */
#define SCT_MAX_OWN_FDS 32

struct sct_tracer {
	struct sct_board *board;
	const struct sct_options *o;
	bool active;     /* this process is traced (or passes its children on, with -f) */
	int32_t pid;     /* getpid(), refreshed in a forked child */
	int board_fd;    /* this process's descriptor of the board */
	int out_fd;      /* the shared output; -1 with -ff */
	bool buffered;   /* the output is a regular file: lines may be gathered and written in batches */
	long tz_offset;  /* seconds east of UTC, for -t (fixed at start: localtime is not signal-safe) */
	size_t line_cap; /* bytes of each line buffer */
	size_t scratch_cap;
	int threads; /* traced threads alive in this process */
	int own_fds[SCT_MAX_OWN_FDS];
};

SCT_HIDDEN extern struct sct_tracer sct;

/* One hook invocation that prints a line. */
struct sct_frame {
	struct sct_call call;
	struct sct_line line;
	uint64_t t0;      /* monotonic ns at entry */
	size_t entry_len; /* bytes of the line printed at entry */
	/* the entry half was published: on the board, where another task may close it; or, while this is
	 * the only task traced, in the thread itself, where only a signal handler's line can close it */
	enum { SCT_UNPUBLISHED, SCT_ON_BOARD, SCT_ON_THREAD } published;
};

/* A call that runs natively in the caller's context (clone with a new stack or CLONE_VM, vfork): its
 * result is known only at the thread's next call. */
struct sct_inplace {
	bool active;
	bool vfork_like; /* the child runs on this thread's memory (and TLS) until it execs or exits */
	long nr;
	long args[6];
	uint64_t t0;
	int32_t child;  /* the child's id, when the child told it (a vfork child's call, a thread's birth) */
	uintptr_t ptid; /* where CLONE_PARENT_SETTID has the kernel write the child's id */
};

struct sct_thread {
	int32_t tid;
	int slot;       /* board slot for this thread's calls in progress, or -1 */
	unsigned depth; /* frames in use */
	bool busy;      /* the tracer's own code runs (calls it makes itself are not the program's) */
	bool i386;      /* its last shown call was an i386 one (strace's personality, "32 bit mode") */
	int out_fd;     /* -ff: this thread's own file, or -1 */
	/* Set in the state of a vfork child: the child runs on its parent's memory and TLS until it execs
	 * or exits, so it gets a state of its own, and the parent's comes back when the parent runs. */
	struct sct_thread *vfork_parent;
	struct sct_inplace inplace;
	volatile int emitting;           /* in sct_out_line: a nested line goes to side[] instead */
	struct sct_frame *local_pending; /* an entry half published SCT_ON_THREAD */
	volatile bool local_closed;      /* ... and closed since by a signal handler's line */
	size_t side_len;
	char side[4096];
	size_t map_size;
	char *exec_area; /* room for an execve's new environment */
	size_t exec_cap;
	struct sct_frame frames[SCT_DEPTH];
	char memory[]; /* the frames' line buffers and scratch areas, then exec_area */
};

/* The calling thread's state, made on first use (NULL if memory could not be had). In a vfork child,
 * a state of the child's own. */
SCT_HIDDEN struct sct_thread *sct_thread_self(void);

/* The calling thread's state if it has one (never makes one). */
SCT_HIDDEN struct sct_thread *sct_thread_self_if_any(void);

/* Frees the calling thread's state (it is about to exit). */
SCT_HIDDEN void sct_thread_release(struct sct_thread *t);

/* Forgets the state inherited from the parent in a forked child's only thread. */
SCT_HIDDEN void sct_thread_after_fork(struct sct_thread *t);

/*
 * New threads and the clone that made them: a thread's clone3 line is completed at its parent's next
 * call, by which time the thread may have exited and the kernel cleared the id it had written
 * (CLONE_CHILD_CLEARTID, same word). So the parent registers its in-place clone; the new thread, at its
 * first call, finds the registration whose parent_tid word holds its own id and gives it the id.
 */
SCT_HIDDEN void sct_births_expect(struct sct_thread *parent);
SCT_HIDDEN void sct_births_forget(struct sct_thread *parent);
SCT_HIDDEN void sct_note_birth(int32_t tid);

/* The call clock (see board.h: TSC ticks or ns) and a duration of it in ns. */
SCT_HIDDEN extern bool sct_tsc; /* the call clock is the TSC */

static inline uint64_t sct_call_clock(void)
{
	if (__builtin_expect(sct_tsc, 1))
		return sct_rdtsc();
	uint64_t sct_now_ns(void);
	return sct_now_ns();
}
SCT_HIDDEN uint64_t sct_clock_ns(uint64_t ticks);

/* Monotonic and real time, in ns (vDSO: no system call). */
SCT_HIDDEN uint64_t sct_now_ns(void);
SCT_HIDDEN uint64_t sct_realtime_ns(void);

#endif
