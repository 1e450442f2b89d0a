/*
 * Lines out: strace's prefixes, one write per line (or a batch of whole lines), and the closing of
 * calls other tasks left in progress ("<unfinished ...>") before a line of another task is printed.
 * Async-signal-safe; a line is never split, and a line printed by a signal handler while this thread
 * is itself writing one waits until that one is out.
 */
#ifndef SCTRACE_OUTPUT_H
#define SCTRACE_OUTPUT_H

#include "sctrace/tracer.h"

/* Sets up this process's output (after sct.board and sct.o are set). */
SCT_HIDDEN void sct_out_setup(void);

/* Starts line l with the prefix strace puts before every line of task t: "[pid N] " or "N ", then the
 * -t/-tt/-ttt timestamp. */
SCT_HIDDEN void sct_out_prefix(struct sct_thread *t, struct sct_line *l);

/* Prints one complete line (ending in '\n'). */
SCT_HIDDEN void sct_out_line(struct sct_thread *t, const char *text, size_t len);

/* Notes on the board, once per process, that it confined itself with a seccomp filter: from then on
 * the tracer makes no system call in it, so it shows none of its calls (sct_hook). */
SCT_HIDDEN void sct_note_sealed(void);

/* Writes the lines gathered so far (before the process may stop: exit, exec, fork, a blocking call). */
SCT_HIDDEN void sct_out_flush(void);

/*
 * Publishes frame f's entry half where a line printed before the call returns closes it with
 * "<unfinished ...>": on the board when other tasks may print meanwhile (always for a call that makes
 * a task, new_task, or an execve, whose new image completes the line: exec_pid is its pid), else in the
 * thread. Returns false if it could not (no free slot): the line is then printed whole at exit.
 */
SCT_HIDDEN bool sct_out_publish(struct sct_thread *t, struct sct_frame *f, bool new_task, uint32_t exec_pid);

/* Takes the entry half back at exit; true if another task closed it meanwhile (the rest of the line
 * must then be printed as "<... name resumed>"). */
SCT_HIDDEN bool sct_out_withdraw(struct sct_thread *t, struct sct_frame *f);

/* The -ff output of thread t (opened on first use), or the shared output. */
SCT_HIDDEN int sct_out_fd(struct sct_thread *t);

/* True if fd is one of the tracer's own descriptors. */
SCT_HIDDEN bool sct_own_fd(int fd);
SCT_HIDDEN void sct_own_fd_add(int fd);
SCT_HIDDEN void sct_own_fd_replace(int old_fd, int new_fd);

#endif
