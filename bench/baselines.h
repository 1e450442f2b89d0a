/*
 * What a program would use instead of safecopy to touch memory that may not be there, each as a copy
 * function with one contract: copy n bytes from src to dst and return n, or return 0 (or the partial
 * count the method itself reports) if src could not be read. Plus the signal handlers those methods
 * need, and the bare signal round trip that is the physical limit of any fault path.
 *
 * Only one SIGSEGV action exists at a time: every *_enter() saves the current SIGSEGV and SIGBUS
 * actions (safecopy's, normally) and installs its own; bl_leave() puts the saved ones back.
 * The bench calls them around each batch, never nested.
 */
#ifndef BENCH_BASELINES_H
#define BENCH_BASELINES_H

#include <stddef.h>
#include <stdint.h>

/* Opens /proc/self/mem and the probe pipe (grown to 1 MiB if the kernel allows). Returns 0 or -errno. */
int bl_init(void);

/* Bytes the probe pipe holds: bl_pipe_copy is measured for sizes up to this. */
size_t bl_pipe_capacity(void);

/* process_vm_readv(2) on the own pid: the kernel copies, a bad source gives EFAULT. */
size_t bl_pvr_copy(void *dst, const void *src, size_t n);

/* pread(2) of /proc/self/mem at offset src: a bad source gives EIO. */
size_t bl_procmem_copy(void *dst, const void *src, size_t n);

/* sigsetjmp(env, 1) + memcpy; the handler siglongjmps back (needs bl_sigsetjmp_enter). */
size_t bl_sigsetjmp_copy(void *dst, const void *src, size_t n);

/* setjmp + memcpy guarded by libsigsegv; its handler unblocks SIGSEGV and longjmps through
 * sigsegv_leave_handler (needs bl_libsigsegv_enter). */
size_t bl_libsigsegv_copy(void *dst, const void *src, size_t n);

/* write(2) src into a pipe, read(2) it back into dst: how sanitizer runtimes probe memory. */
size_t bl_pipe_copy(void *dst, const void *src, size_t n);

/* Loads 8 bytes from p. A fault is only survivable with bl_bare_enter: its handler moves RIP past the load.
 */
uint64_t bl_probe_load(const void *p);

/* How many faults the bare handler has resumed so far. */
unsigned long bl_bare_resumed(void);

/* Handler installers for bench_case.enter (ctx unused); bl_leave restores what they replaced. */
void bl_sigsetjmp_enter(void *ctx);
void bl_bare_enter(void *ctx);
/* Like bl_bare_enter, but the handler jumps back to the resume point itself instead of returning
 * through rt_sigreturn: shows what sigreturn costs (a leaf-only trick; see baselines.c). */
void bl_bare_nosigreturn_enter(void *ctx);
void bl_leave(void *ctx);
/* A program's own SA_SIGINFO handler that hands faults to safecopy_handle_signal() (the embedding
 * API for runtimes that own the handler), so safecopy's rows can be timed through it. */
void bl_embedded_enter(void *ctx);
/* libsigsegv installs with plain sigaction and resets SIGSEGV to SIG_DFL on deinstall: its own leave. */
void bl_libsigsegv_enter(void *ctx);
void bl_libsigsegv_leave(void *ctx);

#endif
