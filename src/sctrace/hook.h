/* The usertrap hook of the tracer library, and the pieces of a call's life it delegates. */
#ifndef SCTRACE_HOOK_H
#define SCTRACE_HOOK_H

#include "sctrace/tracer.h"
#include "usertrap.h"

/* The hook registered with usertrap_init. */
SCT_HIDDEN long sct_hook(struct usertrap_call *call, void *arg);

/* The real call, except that the tracer's own descriptors survive close, close_range, dup2 and dup3
 * (fdguard.c): closing one reports EBADF, as if it were not open, which it would not be untraced. */
SCT_HIDDEN long sct_guarded_syscall(const struct usertrap_call *call);

/* execve/execveat with the tracer added to the new image's environment when that image must be
 * traced too (exec.c). Returns only if the call failed. */
SCT_HIDDEN long sct_exec_syscall(struct sct_thread *t, const struct usertrap_call *call);

/*
 * SIGSEGV/SIGBUS actions of the program, virtualised (faults.c): remember the program's actions before
 * usertrap and libsafecopy install theirs; then install the tracer's handler, which lets libsafecopy
 * take its faults and does the program's action with the others.
 */
SCT_HIDDEN void sct_faults_remember(void);
SCT_HIDDEN void sct_faults_install(void);
/* True if the call is rt_sigaction on SIGSEGV/SIGBUS, answered by sct_faults_sigaction. */
SCT_HIDDEN bool sct_faults_owns(long nr, const long *args);
SCT_HIDDEN long sct_faults_sigaction(const long *args);

/* Patches libc's sites of the calls made by code that is not captured (prepatch.c). */
SCT_HIDDEN void sct_prepatch_libc(void);

/* Adds usertrap's count of calls it could not capture in this image to the board. */
SCT_HIDDEN void sct_report_unseen(void);

/* Prints "+++ exited with N +++" for task id of t (unless -qq). */
SCT_HIDDEN void sct_print_exited(struct sct_thread *t, int code);

/* True if the calling task is traced (with -f every task; else the first process's first thread). */
SCT_HIDDEN bool sct_task_traced(const struct sct_thread *t);

#endif
