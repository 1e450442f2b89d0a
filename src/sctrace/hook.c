/*
 * One system call's life in the tracer: the entry half of its line, the call, the exit half, the
 * counters. Calls that start or end tasks (fork, clone, vfork, exec, exit) also keep the task counts
 * and the output consistent, whether they are shown or not.
 */
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>

#include "sctrace/hook.h"
#include "sctrace/memread.h"
#include "sctrace/names.h"
#include "sctrace/output.h"
#include "sctrace/rawsys.h"

bool sct_task_traced(const struct sct_thread *t)
{
	if (sct.o->follow)
		return true;
	return !t->vfork_parent && t->tid == sct.board->root_pid;
}

/* A line of the tracer's own about task t: before, the number n, after. */
static void note_line(struct sct_thread *t, const char *before, long n, const char *after)
{
	char buf[128];
	struct sct_line l;
	sct_line_init(&l, buf, sizeof buf);
	sct_out_prefix(t, &l);
	sct_puts(&l, before);
	sct_dec(&l, n);
	sct_puts(&l, after);
	sct_line_end(&l);
	sct_out_line(t, buf, l.len);
}

void sct_print_exited(struct sct_thread *t, int code)
{
	if (sct.o->quiet >= 2 || sct.o->summary == SCT_SUMMARY_ONLY)
		return;
	note_line(t, "+++ exited with ", code & 0xff, " +++");
}

/* ---- calls that make or end tasks ---- */

static bool is_fork_like(long nr)
{
	return nr == SYS_fork || nr == SYS_vfork || nr == SYS_clone || nr == SYS_clone3;
}

static bool is_exec(long nr)
{
	return nr == SYS_execve || nr == SYS_execveat;
}

/* clone flags of a clone or clone3 call (0 for fork, CLONE_VM|CLONE_VFORK for vfork). */
static unsigned long long clone_flags_of(long nr, const long *a)
{
	if (nr == SYS_vfork)
		return CLONE_VM | CLONE_VFORK;
	if (nr == SYS_clone)
		return (unsigned long)a[0];
	if (nr == SYS_clone3) {
		uint64_t f;
		return sct_peek(&f, (uintptr_t)a[0], sizeof f) ? f : 0;
	}
	return 0;
}

/* Before a task is made: its lines must not be gathered behind ours, and it counts as alive. */
static void before_new_task(long nr, const long *a)
{
	sct_out_flush();
	if (sct.o->follow)
		__atomic_fetch_add(&sct.board->live_tasks, 1, __ATOMIC_ACQ_REL);
	if (clone_flags_of(nr, a) & CLONE_THREAD)
		__atomic_fetch_add(&sct.threads, 1, __ATOMIC_RELAXED);
}

static void new_task_failed(long nr, const long *a)
{
	if (sct.o->follow)
		__atomic_fetch_sub(&sct.board->live_tasks, 1, __ATOMIC_ACQ_REL);
	if (clone_flags_of(nr, a) & CLONE_THREAD)
		__atomic_fetch_sub(&sct.threads, 1, __ATOMIC_RELAXED);
}

/* In the child of a fork-like call that returned 0 here: a process of its own now. */
static void in_forked_child(struct sct_thread *t)
{
	sct.pid = (int32_t)sct_raw0(SYS_getpid);
	sct.threads = 1;
	sct_thread_after_fork(t);
	if (!sct.o->follow)
		sct.active = false; /* without -f nothing of it is shown */
}

/* The calls of this image usertrap could not hand over (its capture was lost in some thread), for the
 * command's note; taken before the image ends (exit_group, a successful exec). */
void sct_report_unseen(void)
{
	static uint64_t reported; /* an exec that failed reported some already */
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	if (c.capture_lost > reported) {
		__atomic_fetch_add(&sct.board->capture_lost, c.capture_lost - reported, __ATOMIC_RELAXED);
		reported = c.capture_lost;
	}
}

/* The task ends: its lines go out first; the live count drops. */
static void before_exit(struct sct_thread *t, long nr)
{
	sct_out_flush();
	if (nr == SYS_exit_group && !t->vfork_parent)
		sct_report_unseen();
	if (!sct.o->follow)
		return;
	int gone = 1;
	if (nr == SYS_exit_group && !t->vfork_parent)
		gone = __atomic_load_n(&sct.threads, __ATOMIC_RELAXED);
	else if (!t->vfork_parent)
		__atomic_fetch_sub(&sct.threads, 1, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&sct.board->live_tasks, gone, __ATOMIC_ACQ_REL);
}

/* ---- counting (-c, -C) ---- */

static void count(long nr, long ret, uint64_t ticks)
{
	if (nr < 0 || nr >= SCT_NR_COUNT)
		return;
	struct sct_count *c = &sct.board->counts[nr];
	__atomic_fetch_add(&c->calls, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->ticks, ticks, __ATOMIC_RELAXED);
	if (sct_failed(ret))
		__atomic_fetch_add(&c->errors, 1, __ATOMIC_RELAXED);
}

/* ---- the lines ---- */

/* strace's line when a thread's calls change personality: "[ Process PID=N runs in 32 bit mode. ]"
 * before its first i386 call (`int $0x80`), the 64-bit one before its next x86-64 call. As in strace,
 * -q drops it, and so does -o FILE (strace 6.1 implies -q when its output goes to a file). */
static void personality(struct sct_thread *t, bool i386)
{
	if (t->i386 == i386)
		return;
	t->i386 = i386;
	if (!sct.o->quiet && !sct.board->out_path[0]) /* out_path: -o FILE */
		note_line(t, "[ Process PID=", t->tid,
		          i386 ? " runs in 32 bit mode. ]" : " runs in 64 bit mode. ]");
}

static void start_frame(struct sct_thread *t, struct sct_frame *f, const struct usertrap_call *call)
{
	struct sct_call *c = &f->call;
	personality(t, call->flags & USERTRAP_CALL_I386);
	c->nr = call->nr;
	c->i386 = call->flags & USERTRAP_CALL_I386;
	memcpy(c->a, call->args, sizeof c->a);
	c->ret = 0;
	c->o = sct.o;
	c->l = &f->line;
	f->line.len = 0;
	f->line.truncated = false;
	f->published = SCT_UNPUBLISHED;
	sct_out_prefix(t, &f->line);
}

/* "<... name resumed>" on a new line, after another task closed ours with "<unfinished ...>". */
static void restart_line(struct sct_thread *t, struct sct_frame *f)
{
	f->line.len = 0;
	f->line.truncated = false;
	sct_out_prefix(t, &f->line);
	sct_puts(&f->line, "<... ");
	const char *name = sct_call_name(&f->call);
	sct_puts(&f->line, name ? name : "syscall");
	sct_puts(&f->line, " resumed>");
}

static bool status_shown(long ret, long nr)
{
	unsigned st = sct.o->status;
	if (st == SCT_STATUS_ALL)
		return true;
	if (nr == SYS_exit || nr == SYS_exit_group)
		return st & SCT_STATUS_UNFINISHED;
	return st & (sct_failed(ret) ? SCT_STATUS_FAILED : SCT_STATUS_SUCCESSFUL);
}

/* The exit half and the result, then the line out. */
static void finish_line(struct sct_thread *t, struct sct_frame *f, long ret, uint64_t t1, bool closed)
{
	if (closed)
		restart_line(t, f);
	f->call.ret = ret;
	sct_decode_exit(&f->call);
	sct_decode_result(&f->call);
	if (sct.o->syscall_times && f->call.ret_kind != SCT_RET_NONE) /* a call that never returns: no time */
		sct_duration(&f->line, sct_clock_ns(t1 - f->t0));
	sct_line_end(&f->line);
	if (status_shown(ret, f->call.nr))
		sct_out_line(t, f->line.buf, f->line.len);
}

/* Calls that may wait a long time, or end this process by a signal: the gathered lines go out first. */
static bool may_block(long nr)
{
	switch (nr) {
	case SYS_kill:
	case SYS_tkill:
	case SYS_tgkill:
	case SYS_rt_sigqueueinfo:
	case SYS_rt_tgsigqueueinfo:
	case SYS_wait4:
	case SYS_waitid:
	case SYS_pause:
	case SYS_rt_sigsuspend:
	case SYS_rt_sigtimedwait:
	case SYS_nanosleep:
	case SYS_clock_nanosleep:
	case SYS_poll:
	case SYS_ppoll:
	case SYS_select:
	case SYS_pselect6:
	case SYS_epoll_wait:
	case SYS_epoll_pwait:
	case SYS_epoll_pwait2:
	case SYS_futex:
	case SYS_accept:
	case SYS_accept4:
	case SYS_msgrcv:
	case SYS_semop:
	case SYS_semtimedop:
	case SYS_flock:
		return true;
	}
	return false;
}

/* The exit half and " = ?": a call whose result this thread cannot know. */
static void finish_line_unknown(struct sct_thread *t, struct sct_frame *f, bool closed)
{
	if (closed)
		restart_line(t, f);
	f->call.ret = -1;
	f->call.exiting = true;
	f->call.saved[0] = 0;
	sct_decode_exit(&f->call);
	f->call.ret_kind = SCT_RET_NONE;
	sct_decode_result(&f->call);
	sct_line_end(&f->line);
	sct_out_line(t, f->line.buf, f->line.len);
}

/*
 * The result of an in-place call made earlier on this thread, now that it runs again: the child's id,
 * from where CLONE_PARENT_SETTID had the kernel write it (read early by the child itself, see
 * sct_note_birth, since a thread that has exited has cleared it), or from a vfork child's first call.
 */
static long inplace_result(struct sct_thread *t)
{
	struct sct_inplace *ip = &t->inplace;
	if (ip->child)
		return ip->child;
	uintptr_t ptid = ip->ptid;
	int tid;
	if (ptid && sct_peek(&tid, ptid, sizeof tid) && tid > 0)
		return tid;
	return -1;
}

/* Called at the top of the thread's first call after an in-place clone/vfork: completes its line. */
static void settle_inplace(struct sct_thread *t)
{
	struct sct_inplace *ip = &t->inplace;
	ip->active = false;
	sct_births_forget(t);
	struct sct_frame *f = &t->frames[0];
	if (f->call.nr != ip->nr || !f->line.len)
		return;
	long ret = inplace_result(t);
	bool closed = sct_out_withdraw(t, f);
	/* -1: the child's id could not be learnt: strace would have it; say so rather than guess */
	if (ret == -1)
		finish_line_unknown(t, f, closed);
	else
		finish_line(t, f, ret, sct_call_clock(), closed);
}

/* ---- the hook ---- */

static bool counting(void)
{
	return sct.o->summary != SCT_SUMMARY_NONE;
}

static bool printing(void)
{
	return sct.o->summary != SCT_SUMMARY_ONLY;
}

/* The real call, and what calls that make or end tasks need around it. */
static long run_call_body(struct sct_thread *t, struct usertrap_call *call)
{
	long nr = call->nr;
	if (is_exec(nr))
		return sct_exec_syscall(t, call);
	if (!is_fork_like(nr))
		return sct_guarded_syscall(call);
	long r = usertrap_syscall(call);
	if (r == USERTRAP_RESULT_IN_PLACE)
		return r;
	if (r == 0)
		in_forked_child(t);
	else if (sct_failed(r))
		new_task_failed(nr, call->args);
	return r;
}

/* The real call, with the busy mark off: signal handlers that run meanwhile are the program's. */
static long run_call(struct sct_thread *t, struct usertrap_call *call)
{
	t->busy = false;
	long r = run_call_body(t, call);
	t->busy = true;
	return r;
}

/* A call that is neither shown nor counted: only the bookkeeping. */
static long untraced_call(struct sct_thread *t, struct usertrap_call *call)
{
	long nr = call->nr;
	if (nr == SYS_exit || nr == SYS_exit_group) {
		before_exit(t, nr);
		t->busy = false;
		return usertrap_syscall(call);
	}
	if (is_fork_like(nr))
		before_new_task(nr, call->args);
	return run_call(t, call);
}

/* exit, exit_group: the line ("= ?") and the "+++ exited" line go out before the call, which does not
 * return (for a thread's exit, its state is given back first). */
static long exit_call(struct sct_thread *t, struct sct_frame *f, struct usertrap_call *call, bool show)
{
	long nr = call->nr;
	if (counting() && sct_traced(sct.o, nr))
		count(nr, 0, 0);
	if (show)
		finish_line(t, f, 0, f->t0, false);
	before_exit(t, nr);
	if (nr == SYS_exit_group || sct.o->follow)
		sct_print_exited(t, (int)call->args[0]);
	if (nr == SYS_exit_group && sct.pid == sct.board->root_pid && !t->vfork_parent)
		__atomic_store_n(&sct.board->root_exit_printed, 1, __ATOMIC_RELEASE);
	sct_out_flush();
	t->depth--;
	t->busy = false;
	if (nr == SYS_exit_group)
		sct_board_release_process(sct.board, t->vfork_parent ? t->tid : sct.pid);
	else if (t->slot >= 0)
		sct_board_release(sct.board, t->slot);
	if (nr == SYS_exit && !t->vfork_parent)
		sct_thread_release(t);
	return usertrap_syscall(call);
}

/* A clone or vfork that runs natively once the hook returns (usertrap's in-place path): its result is
 * known at this thread's next call (settle_inplace); until then its line stays published. */
static void inplace_started(struct sct_thread *t, struct sct_frame *f, const struct usertrap_call *call,
                            bool show)
{
	long nr = call->nr;
	t->inplace = (struct sct_inplace){.active = true, .nr = nr, .t0 = f->t0};
	memcpy(t->inplace.args, call->args, sizeof t->inplace.args);
	unsigned long long flags = clone_flags_of(nr, call->args);
	t->inplace.vfork_like = (flags & (CLONE_VM | CLONE_SETTLS)) == CLONE_VM;
	if (flags & CLONE_PARENT_SETTID)
		t->inplace.ptid = nr == SYS_clone ? (uintptr_t)call->args[2] : (uintptr_t)f->call.saved[1];
	if (!show || t->depth != 1)
		t->inplace.active = false;
	else if (flags & CLONE_THREAD)
		sct_births_expect(t);
	if (counting() && sct_traced(sct.o, nr))
		count(nr, 0, 0);
}

static long traced_call(struct sct_thread *t, struct usertrap_call *call)
{
	long nr = call->nr;
	bool show = printing() && sct_traced(sct.o, nr);
	bool timed = counting() || sct.o->syscall_times;
	if (t->depth >= SCT_DEPTH) /* signal handlers nested too deep: shown no more */
		return untraced_call(t, call);
	struct sct_frame *f = &t->frames[t->depth++];
	f->t0 = timed ? sct_call_clock() : 0;
	if (show) {
		start_frame(t, f, call);
		sct_decode_entry(&f->call);
		f->entry_len = f->line.len;
	}
	if (nr == SYS_exit || nr == SYS_exit_group)
		return exit_call(t, f, call, show);
	/* published only when a line of another task (or of a signal handler here) may come first */
	if (show && t->depth == 1 && sct.o->status == SCT_STATUS_ALL)
		sct_out_publish(t, f, is_fork_like(nr), is_exec(nr) ? (uint32_t)t->tid : 0);
	if (is_fork_like(nr))
		before_new_task(nr, call->args);
	else if (may_block(nr) || is_exec(nr) || nr == SYS_seccomp || nr == SYS_prctl)
		sct_out_flush(); /* seccomp, prctl: a filter would forbid the writes later (sct_hook) */
	long r = run_call(t, call);
	if (r == USERTRAP_RESULT_IN_PLACE) {
		inplace_started(t, f, call, show);
		t->depth--;
		return r;
	}
	if (r == 0 && is_fork_like(nr)) {
		/* the child: strace shows the parent's line only; the board slot is the parent's */
		f->published = SCT_UNPUBLISHED;
		t->local_pending = NULL;
		t->depth--;
		return r;
	}
	uint64_t t1 = timed ? sct_call_clock() : 0;
	if (counting() && sct_traced(sct.o, nr))
		count(nr, r, t1 - f->t0);
	if (show) {
		bool closed = sct_out_withdraw(t, f);
		finish_line(t, f, r, t1, closed);
	}
	t->depth--;
	return r;
}

/*
 * An i386 call (`int $0x80`): shown as strace shows a number it has no name for (the table is
 * x86-64's), after strace's personality line; shown only when every call is traced, never counted by
 * -c (its tables are x86-64's), and none of the x86-64 task bookkeeping applies (i386 1 is exit, 2
 * fork...: such a call is made without it). One that runs in place (fork, clone...) shows " = ?".
 */
static long i386_call(struct sct_thread *t, struct usertrap_call *call)
{
	if (!sct_task_traced(t) || !printing() || !sct_traces_all(sct.o) || t->depth >= SCT_DEPTH) {
		t->busy = false;
		long r = usertrap_syscall(call);
		t->busy = true;
		return r;
	}
	struct sct_frame *f = &t->frames[t->depth++];
	f->t0 = sct.o->syscall_times ? sct_call_clock() : 0;
	start_frame(t, f, call);
	sct_decode_entry(&f->call);
	f->entry_len = f->line.len;
	if (t->depth == 1 && sct.o->status == SCT_STATUS_ALL)
		sct_out_publish(t, f, false, 0);
	t->busy = false;
	long r = usertrap_syscall(call);
	t->busy = true;
	bool closed = sct_out_withdraw(t, f);
	if (r == USERTRAP_RESULT_IN_PLACE)
		finish_line_unknown(t, f, closed);
	else
		finish_line(t, f, r, sct.o->syscall_times ? sct_call_clock() : 0, closed);
	t->depth--;
	return r;
}

long sct_hook(struct usertrap_call *call, void *arg)
{
	(void)arg;
	if (!sct.active)
		return sct_guarded_syscall(call);
	/* The process confined itself with a seccomp filter, which applies to the tracer's own calls too:
	 * it makes none any more (no line, no thread state), and the command says how many went unshown. */
	if (usertrap_seccomp_sealed()) {
		sct_note_sealed();
		return usertrap_syscall(call);
	}
	int saved_errno = errno; /* the program's: nothing the tracer does may change it */
	struct sct_thread *t = sct_thread_self();
	if (!t || t->busy) /* no state, or a call the tracer itself made (a vDSO falling back to a syscall) */
		return usertrap_syscall(call);
	t->busy = true;
	if (t->inplace.active && !t->vfork_parent)
		settle_inplace(t);
	long r;
	if (call->flags & USERTRAP_CALL_I386)
		r = i386_call(t, call);
	else
		r = sct_task_traced(t) ? traced_call(t, call) : untraced_call(t, call);
	/* Sealed by this call (usertrap_syscall seals before a filter goes in, by either path). */
	if (usertrap_seccomp_sealed())
		sct_note_sealed();
	t = sct_thread_self_if_any();
	if (t)
		t->busy = false;
	errno = saved_errno;
	return r;
}
