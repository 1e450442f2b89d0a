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

/* Prints "+++ exited with N +++" for task id of t (unless -qq). */
SCT_HIDDEN void sct_print_exited(struct sct_thread *t, int code);

/* True if the calling task is traced (with -f every task; else the first process's first thread). */
SCT_HIDDEN bool sct_task_traced(const struct sct_thread *t);

#endif
