/*
 * libsctrace.so, preloaded by the sctrace command into the program it runs (and, with -f, into every
 * image its processes exec). The constructor finds the board, takes the tracer's variables out of the
 * program's environment (so that it sees the environment it would see untraced), prints the execve
 * line of this image, and starts usertrap's lazy capture with the tracer's hook in every thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sctrace/hook.h"
#include "sctrace/memread.h"
#include "sctrace/output.h"
#include "sctrace/rawsys.h"

struct sct_tracer sct;

extern char **environ;

/* Drops environ[i], keeping the order of the others. */
static void env_drop(size_t i)
{
	for (; environ[i]; i++)
		environ[i] = environ[i + 1];
}

/* Takes SCTRACE_BOARD out, and the tracer out of LD_PRELOAD (dropping the variable if it named only
 * the tracer). The strings are the process's own: they are edited in place. */
static void env_clean(const char *lib)
{
	size_t nl = lib ? strlen(lib) : 0;
	for (size_t i = 0; environ && environ[i];) {
		char *e = environ[i];
		if (strncmp(e, SCT_BOARD_ENV "=", sizeof SCT_BOARD_ENV) == 0) {
			env_drop(i);
			continue;
		}
		if (lib && strncmp(e, "LD_PRELOAD=", 11) == 0 && strncmp(e + 11, lib, nl) == 0 &&
		    (e[11 + nl] == ':' || e[11 + nl] == '\0')) {
			if (e[11 + nl] == '\0') {
				env_drop(i);
				continue;
			}
			memmove(e + 11, e + 12 + nl, strlen(e + 12 + nl) + 1);
		}
		i++;
	}
}

static size_t max_size(size_t a, size_t b)
{
	return a > b ? a : b;
}

/* The sizes of the per-thread buffers, from -s. */
static void size_buffers(void)
{
	size_t s = sct.o->max_strlen;
	sct.line_cap = max_size(64 * 1024, 4 * s * 4 + 16 * 1024);
	sct.scratch_cap = max_size(PATH_MAX + 64, s + 64);
}

static void local_time_offset(void)
{
	if (!sct.o->timestamps || sct.o->timestamps >= 3)
		return;
	tzset();
	time_t now = time(NULL);
	struct tm tm;
	if (localtime_r(&now, &tm))
		sct.tz_offset = tm.tm_gmtoff;
}

/* The execve line of the first image of the command, from what the kernel passed it. */
static void print_first_exec(struct sct_thread *t, char **argv)
{
	struct sct_frame *f = &t->frames[0];
	struct sct_call *c = &f->call;
	*c = (struct sct_call){.nr = SYS_execve,
	                       .a = {(long)getauxval(AT_EXECFN), (long)argv, (long)environ},
	                       .o = sct.o,
	                       .l = &f->line,
	                       .scratch = c->scratch,
	                       .scratch_cap = c->scratch_cap};
	f->line.len = 0;
	f->line.truncated = false;
	sct_out_prefix(t, &f->line);
	sct_decode_entry(c);
	c->ret = 0;
	sct_decode_exit(c);
	sct_decode_result(c);
	if (sct.o->syscall_times) /* from the command's execve to here: the dynamic loader's work included */
		sct_duration(&f->line,
		             sct.board->exec_t0 ? sct_clock_ns(sct_call_clock() - sct.board->exec_t0) : 0);
	sct_line_end(&f->line);
	sct_out_line(t, f->line.buf, f->line.len);
}

/* The execve an earlier image of this process began: its line is completed here, in the new image. */
static bool complete_exec(struct sct_thread *t)
{
	int i = sct_board_find(sct.board, t->tid);
	if (i < 0)
		return false;
	struct sct_slot *s = &sct.board->slots[i];
	if (s->exec_pid != (uint32_t)t->tid)
		return false;
	t->slot = i;
	s->exec_pid = 0;
	uint64_t now = sct_call_clock();
	if (sct.o->summary != SCT_SUMMARY_NONE) {
		struct sct_count *cnt = &sct.board->counts[SYS_execve];
		__atomic_fetch_add(&cnt->calls, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&cnt->ticks, now - s->t0, __ATOMIC_RELAXED);
	}
	if (sct.o->summary == SCT_SUMMARY_ONLY)
		return true;
	struct sct_frame *f = &t->frames[0];
	f->call = (struct sct_call){.nr = SYS_execve,
	                            .o = sct.o,
	                            .l = &f->line,
	                            .scratch = f->call.scratch,
	                            .scratch_cap = f->call.scratch_cap};
	f->line.len = 0;
	f->line.truncated = false;
	f->t0 = s->t0;
	f->published = SCT_ON_BOARD;
	uint32_t len = s->len;
	memcpy(f->line.buf, s->text, len);
	f->line.len = len;
	bool closed = sct_out_withdraw(t, f);
	if (closed) {
		f->line.len = 0;
		sct_out_prefix(t, &f->line);
		sct_puts(&f->line, "<... execve resumed>");
	}
	f->call.exiting = true;
	sct_putc(&f->line, ')');
	f->call.ret = 0;
	f->call.ret_kind = SCT_RET_DEC;
	f->call.aux[0] = '\0';
	sct_decode_result(&f->call);
	if (sct.o->syscall_times)
		sct_duration(&f->line, sct_clock_ns(now - s->t0));
	sct_line_end(&f->line);
	if (sct.o->status & SCT_STATUS_SUCCESSFUL)
		sct_out_line(t, f->line.buf, f->line.len);
	return true;
}

static bool start_capture(void)
{
	struct usertrap_config cfg = {.hook = sct_hook, .flags = USERTRAP_LAZY};
	struct usertrap_error err;
	int r = usertrap_init(&cfg, &err);
	if (r == 0) {
		sct_faults_install();
		r = usertrap_capture_all(true, &err);
	}
	if (r != 0) {
		char msg[160];
		int n =
		    snprintf(msg, sizeof msg, "sctrace: cannot trace process %d: usertrap: %s (errno %d)\n",
		             (int)sct.pid, usertrap_status_name(err.status), err.sys_errno);
		sct_raw3(SYS_write, 2, msg, n);
		return false;
	}
	sct_prepatch_libc();
	return true;
}

__attribute__((constructor(101))) static void sct_start(int argc, char **argv)
{
	(void)argc;
	const char *fd_text = getenv(SCT_BOARD_ENV);
	struct sct_board *b = sct_board_attach(fd_text);
	env_clean(b ? b->lib_path : NULL);
	if (!b)
		return;
	sct.board = b;
	sct.o = &b->opts;
	sct.board_fd = atoi(fd_text);
	sct.pid = (int32_t)getpid();
	sct_tsc = b->ticks_per_ns > 0;
	sct_own_fd_add(sct.board_fd);
	if (!sct.o->follow && sct.pid != b->root_pid)
		return;        /* a process the trace does not follow */
	sct_faults_remember(); /* before anything here uses libsafecopy, which installs its handler */
	size_buffers();
	local_time_offset();
	sct.threads = 1;
	sct_out_setup();
	struct sct_thread *t = sct_thread_self();
	if (!t)
		return;
	sct.active = true;
	t->busy = true;
	if (!complete_exec(t) && sct.pid == b->root_pid &&
	    !__atomic_exchange_n(&b->root_started, 1, __ATOMIC_ACQ_REL) && sct_traced(sct.o, SYS_execve)) {
		/* the command's own execve, which strace shows (and counts) first */
		if (sct.o->summary != SCT_SUMMARY_NONE)
			__atomic_fetch_add(&b->counts[SYS_execve].calls, 1, __ATOMIC_RELAXED);
		if (sct.o->summary != SCT_SUMMARY_ONLY && (sct.o->status & SCT_STATUS_SUCCESSFUL))
			print_first_exec(t, argv);
	}
	/* usertrap's own calls while it arms the threads are not the program's: busy until it is done */
	if (!start_capture())
		sct.active = false;
	t->busy = false;
}
