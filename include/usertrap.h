/*
 * usertrap: send the system calls made by code in this process through a hook, and patch the call
 * sites so that later calls reach the hook by a plain jump instead of a signal (after gVisor's systrap
 * usertrap). x86-64 Linux only.
 *
 * How a call reaches the hook:
 * - Patched site. A site is the 7-byte sequence `b8 imm32 0f 05` (mov $nr,%eax; syscall) with imm32
 *   equal to the syscall number. Patching rewrites it to `ff 24 25 a32` (jmp *a32), where a32 is a cell
 *   of the trap table, a small area mapped at a random page in [0x60000, 0x70000). The jump enters a
 *   trampoline that saves the registers, calls the hook and returns to the instruction after the site
 *   with the result in RAX. The rewrite is made while other threads may run the same bytes: 0x06 is
 *   written at +5 first (an invalid opcode: a thread that already ran the old `mov` gets SIGILL and
 *   usertrap restarts it at the site), then 0x06 at +0 (threads arriving at the site wait there, in
 *   SIGILL), then bytes +1..+6, then 0xff at +0. (The guard at +0 is a fourth write the usual three do
 *   not have: without it a thread can run a `mov` whose immediate is the jump's bytes and, preempted,
 *   later meet a restored syscall with that wrong number.)
 * - Lazy capture (Syscall User Dispatch, kernel >= 5.11). While capture is on for a thread, each of its
 *   system calls made from outside usertrap's own code raises SIGSYS; usertrap's handler gives the call
 *   to the hook and patches the site, so the next call there takes a jump: the pattern above while
 *   the table has room, else a relocated window (usertrap_patch_syscall: `xor %eax,%eax; syscall`,
 *   `mov %reg,%eax; syscall`, a `mov` farther away...). Sites neither form fits stay on this slower
 *   path and remain correct.
 *
 * Every read and write of instruction bytes goes through libsafecopy: a site on an unmapped or
 * vanishing page is an error return, never a crash. No page is ever writable and executable at once,
 * and no thread ever finds code it runs non-executable: the trap table's code is filled once and made
 * read-execute before use; each of the ordered writes to a site is made in a read-write copy of its
 * page, which then gets the page's exact protection (read from /proc/self/maps) and replaces it in one
 * mremap(). (A patched page thus becomes private anonymous memory: /proc/self/maps shows it without
 * the file's name. A page that is already writable, e.g. JIT code, is written in place.)
 *
 * Errors: functions return 0 or a negative `enum usertrap_status`; when `struct usertrap_error *err` is
 * given it is always written (status USERTRAP_OK and zeros on success).
 *
 * Signals usertrap owns while initialised: SIGILL (restart of a thread caught on the guard byte) and,
 * with lazy capture, SIGSYS. (libsafecopy owns SIGSEGV and SIGBUS.)
 * Signals it does not own are passed on exactly as libsafecopy passes on foreign faults: the previous
 * handler is called with its own mask and flags, SIG_DFL/SIG_IGN end the process with the signal.
 * SIGSYS, SIGILL, SIGSEGV and SIGBUS stay deliverable (an intercepted call while SIGSYS is blocked
 * would kill the process): calls passed through usertrap_syscall() never give the kernel a mask that
 * blocks them, neither a thread's mask (rt_sigprocmask), nor a handler's sa_mask or its own signal
 * (rt_sigaction: SA_NODEFER is added for those four; rt_sigaction reports back the action as the
 * application gave it), nor a temporary mask (rt_sigsuspend, ppoll, pselect6, epoll_pwait,
 * epoll_pwait2, io_pgetevents, io_uring_enter). Actions installed before usertrap_init() with
 * USERTRAP_LAZY are filtered by it and given back as they were by usertrap_shutdown(). rt_sigaction
 * on SIGSYS (with lazy capture) and on SIGILL is virtualised: the application's action is kept and
 * receives every such signal that is not usertrap's (a SIGSYS from seccomp, a SIGILL not at a guard
 * byte); usertrap_shutdown() installs it.
 *
 * Limits (known, by design or not yet done):
 * - x86-64 Linux only. Lazy capture needs Syscall User Dispatch (5.11+); without it explicit patching
 *   still works. usertrap is not a security boundary: code in the process can always get around it.
 * - Never patched (they stay on the signal path, still correct): sites that neither match the pattern
 *   nor have a window that can be moved (src/usertrap/decode.h: e.g. a call or a branch target next
 *   to the syscall, or no .eh_frame_hdr entry for the function, as in JIT code, unless bounds are
 *   given to usertrap_patch_syscall); sites in usertrap's, libsafecopy's or a sanitizer runtime's
 *   own code (the patcher runs it while a site is half-written), in the vDSO, in MAP_SHARED or
 *   non-executable mappings, or whose 7 bytes span two mappings; rt_sigreturn, clone, clone3 and
 *   vfork sites. Those four run "in place" (the SIGSYS handler resumes the caller at a per-site gate
 *   in the trap table, so the call runs on the caller's own stack); each distinct such site takes a
 *   slot, and without a free slot that thread's capture is switched off (counted in capture_lost).
 * - i386 calls made with `int $0x80` (USERTRAP_CALL_I386) are given to the hook and made as given,
 *   but for the thread-mask calls: i386 rt_sigprocmask and sigprocmask change the thread's mask, and
 *   rt_sigsuspend and sigsuspend sleep with theirs, SIGSYS, SIGILL, SIGSEGV and SIGBUS left out, as
 *   x86-64 calls do. Not filtered: the masks of i386 ppoll, pselect6, epoll_pwait(2), io_pgetevents
 *   and io_uring_enter (the kernel reads their pointers as 32-bit, and usertrap keeps no memory below
 *   4 GiB for a filtered copy), and i386 signal actions (rt_sigaction, sigaction and signal can
 *   replace usertrap's handler); no cached mapping is forgotten after an i386 call; a task made by
 *   i386 fork, clone or vfork (run in place) is not captured.
 * - x32 calls (RAX with bit 30, 0x40000000, set) reach the hook with that bit in nr and are made as
 *   given. This kernel runs none (x32 off: -ENOSYS), but one built with x32 enabled runs x32's table:
 *   a hook that filters by number must treat such numbers as another ABI (x32 openat is 0x40000101,
 *   not 257), and usertrap filters no x32 mask or action call (x32 rt_sigprocmask, 0x4000000e).
 * - A captured thread cannot block SIGSYS, SIGILL, SIGSEGV or SIGBUS (rt_sigprocmask leaves them out and
 *   reports them unblocked: the thread's mask is the kernel's; arming a thread unblocks them). Masks
 *   are filtered, and rt_sigaction on SIGSYS virtualised, only for calls that reach the hook and are
 *   passed through; a wait region registered with io_uring (IORING_ENTER_EXT_ARG_REG) is not looked
 *   into. An application that later installs its own SIGILL handler replaces usertrap's (as with
 *   libsafecopy and SIGSEGV): guard-byte restarts stop.
 * - Unwinders (backtrace(), gdb) walk from a hook through usertrap's signal frames and trampolines into
 *   the calling code; the three instructions of a trap-table slot that lead into a trampoline and the
 *   gates where in-place and passed-through calls are made have no unwind information (a profiler
 *   sampling exactly there stops).
 * - Sites are written through /proc/self/mem, which keeps a patched page in its file's mapping. On a
 *   kernel that refuses forced writes (proc_mem.force_override=never) a patched page is a private
 *   anonymous copy instead: tools that name code by /proc/self/maps (perf, a sanitizer's symbolizer)
 *   then no longer see which file that page came from.
 * - Code that jumps straight to a site's syscall instruction with another number in EAX (not through
 *   its `mov`) would, once the site is patched, be restarted at the site and make the site's call
 *   instead (as in gVisor).
 * - New threads are armed from their start routine on (pthread_create is wrapped); the few calls glibc
 *   makes before it, threads made with a raw clone, and threads glibc starts internally without the
 *   pthread_create symbol (thrd_create, SIGEV_THREAD timers, POSIX AIO) are not captured. Threads that exist
 * before usertrap_capture_all(true) and block SIGSYS are not armed.
 * - A thread that blocks SIGILL is killed by the kernel if it meets a guard byte (a blocked synchronous
 *   SIGILL is forced with its default action), and while a multi-threaded process patches, a thread
 *   running through the site meets one. So every thread made with pthread_create while libusertrap is
 *   loaded runs its start routine with SIGILL, SIGSEGV and SIGBUS unblocked, the rest of its mask as its
 *   creator left it (libraries make helper threads with every signal blocked: nanomsg's worker, run by
 *   Criterion, died so at glibc's __lll_lock_wake about once in 300 runs of the procs suite). Still
 *   exposed: a thread made before libusertrap was loaded or by a raw clone, or one that blocks SIGILL
 *   later through a call usertrap does not see (an uncaptured thread's own rt_sigprocmask site).
 * - pthread_create is interposed (dlsym(RTLD_NEXT) finds the real one): fully static executables
 *   (-static) are not supported.
 * - usertrap keeps a little initial-exec TLS: dlopen() of libusertrap.so late in a program's life can
 *   fail if the static TLS reserve is used up (LD_PRELOAD or linking it in is always fine).
 * - A trap-table slot, once bound to a site, stays bound (a thread may still be in its trampoline): at
 *   most USERTRAP_MAX_SITES distinct sites over the life of the process; a window and its stub stay
 *   too: at most USERTRAP_MAX_WINDOWS windows.
 * - Windows: a stub has no unwind information (a backtrace from the hook stops there); RCX after a
 *   call through a window is an address in the stub, not after the site (code never reads it); a
 *   thread that reaches a window's interior by a branch usertrap could not see (another function, a
 *   jump table) is moved into the stub by a SIGILL each time: correct, slow.
 */
#ifndef USERTRAP_H
#define USERTRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "safecopy.h"

#ifdef __cplusplus
extern "C" {
#endif

#define USERTRAP_API __attribute__((visibility("default")))

/* Number of sites the trap table can hold: 256 slots of 80 bytes, slot 0 is the table's header. */
#define USERTRAP_MAX_SITES 255
/* Number of sites that can be patched by a relocated window (usertrap_patch_syscall), besides. */
#define USERTRAP_MAX_WINDOWS 4096

/* The trap table lies in [USERTRAP_TABLE_LOW, USERTRAP_TABLE_HIGH). */
#define USERTRAP_TABLE_LOW  0x60000UL
#define USERTRAP_TABLE_HIGH 0x70000UL

enum usertrap_status {
	USERTRAP_OK = 0,
	USERTRAP_ERR_PATTERN = -1,    /* the bytes at the site are not `b8 imm32 0f 05` */
	USERTRAP_ERR_NR = -2,         /* the pattern is there but imm32 is not the syscall number given */
	USERTRAP_ERR_TABLE_FULL = -3, /* all USERTRAP_MAX_SITES slots are in use; the site stays as it is */
	USERTRAP_ERR_NOT_PATCHABLE =
	    -4,                       /* page is MAP_SHARED, not executable, the vDSO, holds usertrap's or
	                                 libsafecopy's own code, or mprotect/mremap refused (err->sys_errno) */
	USERTRAP_ERR_FAULT = -5,      /* reading or writing the site faulted (err->fault) */
	USERTRAP_ERR_TABLE_BUSY = -6, /* no free place for the trap table in [0x60000, 0x70000) */
	USERTRAP_ERR_NO_SUD = -7,     /* lazy capture asked for, but the kernel lacks Syscall User Dispatch
	                                 (sys_errno EINVAL) or valgrind runs the program (ENOTSUP) */
	USERTRAP_ERR_STATE = -8,      /* not initialised, or initialised twice */
	USERTRAP_ERR_INVAL = -9,      /* bad argument (NULL hook, unknown flag, NULL site) */
	USERTRAP_ERR_SYS = -10,       /* a system call usertrap needs failed (err->sys_errno) */
	USERTRAP_ERR_IN_PLACE = -11,  /* the syscall must run on the caller's own stack (rt_sigreturn, clone,
	                                 clone3, vfork): its site is never patched */
	USERTRAP_ERR_CPU = -12,       /* the CPU lacks XSAVE (for the vector save mode) or 64-bit SAHF */
};

struct usertrap_error {
	enum usertrap_status status;
	int sys_errno; /* errno of the failing system call for ERR_SYS / ERR_NOT_PATCHABLE, else 0 */
	struct safecopy_fault fault; /* for ERR_FAULT: where reading or writing the site stopped */
};

/* How a call reached the hook (struct usertrap_call.flags). */
/* through the jump of a patched site */
#define USERTRAP_CALL_PATCHED 0x1u
/* in a signal handler: Syscall User Dispatch (lazy capture), or a site left half-written by a failed
 * patch (met in SIGILL) */
#define USERTRAP_CALL_SIGSYS 0x2u
/* clone/clone3 with a new stack or CLONE_VM, vfork, and on the SIGSYS path the calls that install a
 * seccomp filter (usertrap_seccomp_sealed): see usertrap_syscall */
#define USERTRAP_CALL_IN_PLACE 0x4u
/*
 * An i386 call (`int $0x80`, caught by Syscall User Dispatch): nr is the i386 number (20 is getpid,
 * not writev), args are EBX, ECX, EDX, ESI, EDI, EBP zero-extended. A hook that filters by number must
 * check this flag first, as a seccomp filter checks the arch: otherwise i386 chmod (15) passes as
 * x86-64 rt_sigreturn, and a call it denies by its x86-64 number gets in under another. usertrap_syscall
 * makes such a call with `int $0x80` (the number and args of *call, possibly changed) and returns RAX
 * as the kernel left it. Never through a patched site: `int $0x80` sites are not patched. The i386
 * numbers that must run on the caller's stack (fork 2, sigreturn 119, clone 120, rt_sigreturn 173,
 * vfork 190, clone3 435) always come with USERTRAP_CALL_IN_PLACE too.
 */
#define USERTRAP_CALL_I386 0x8u

struct usertrap_call {
	long nr;      /* syscall number as the kernel runs it: EAX sign-extended, RAX's upper half ignored
	                 (with USERTRAP_CALL_I386: an i386 number; bit 30 set: an x32 call, see Limits) */
	long args[6]; /* rdi, rsi, rdx, r10, r8, r9 as the caller set them (USERTRAP_CALL_I386: ebx, ecx,
	                 edx, esi, edi, ebp zero-extended) */
	void *site;   /* address of the syscall instruction (for a patched site: pattern start + 5; for
	                 USERTRAP_CALL_I386: the `int $0x80`) */
	unsigned int flags;
	unsigned int depth; /* hooks already running on this thread below this call (0: outermost) */
	void *internal_;    /* usertrap's own; do not touch */
};

/*
 * The hook. Called for every captured or patched syscall, on the calling thread, with the call's
 * registers already saved. Returns the syscall's result in the kernel's convention (-4095..-1 is
 * -errno). To run the real syscall, return usertrap_syscall(call). The hook may itself make system
 * calls: those made at patched or captured sites reach the hook again with depth + 1 (a hook that
 * calls into libc should pass such calls straight through). A hook that only observes calls returns
 * USERTRAP_RESULT_PASS instead of usertrap_syscall(call): the cheaper pass-through (see there). The
 * hook runs in signal context for USERTRAP_CALL_SIGSYS calls (keep it async-signal-safe if capture is
 * on). Unless the hook was registered with USERTRAP_HOOK_NO_VECTOR, it may freely use vector and x87
 * registers.
 */
typedef long (*usertrap_hook_fn)(struct usertrap_call *call, void *arg);

/* Configuration flags (struct usertrap_config.flags). */
/* set up lazy capture (Syscall User Dispatch); capture starts off */
#define USERTRAP_LAZY 0x1u
/* captured calls never patch their site (measure the signal path) */
#define USERTRAP_LAZY_NO_PATCH 0x2u
/* the hook promises not to change any vector/x87/MXCSR state: the trampoline then saves only general
 * registers and flags */
#define USERTRAP_HOOK_NO_VECTOR 0x4u

/*
 * How the trampoline preserves vector state (struct usertrap_config.vector_save). What each mode costs
 * is measured by `scons bench` (the syscall/getppid rows, see bench/PERFORMANCE.md): on the CPUs measured
 * the plain moves and the XINUSE body cost a fraction of what XSAVEC/XSAVE do, whose XRSTOR dominates.
 */
enum usertrap_vector_save {
	USERTRAP_VECTOR_AUTO = 0, /* INUSE where the CPU has it, except AMD's CPUs; else REGS */
	USERTRAP_VECTOR_XSAVEC,   /* XSAVEC/XRSTOR of every enabled component (incl. x87 registers, PKRU) */
	USERTRAP_VECTOR_XSAVE,    /* XSAVE/XRSTOR, standard format, same components */
	USERTRAP_VECTOR_NONE,     /* same as USERTRAP_HOOK_NO_VECTOR */
	USERTRAP_VECTOR_REGS,     /* plain moves: zmm0-31 and k0-7 (AVX-512), else ymm0-15 (AVX), else
	                             xmm0-15; MXCSR and the x87 control word. Not the x87/MMX data registers:
	                             the ABI has the x87 stack empty at every call, so only a hand-written site
	                             with live x87 values whose hook uses long double would notice (use XSAVEC).
	                             Its 512-bit restores leave the upper halves of zmm0-15 in use (XINUSE)
	                             after the first call, which costs the program's later SSE code on Intel.
	                           */
	USERTRAP_VECTOR_INUSE,    /* as REGS on AVX-512, but only the state components that XGETBV(ECX=1)
	                             (XINUSE) reports in use at the site (after vzeroupper, e.g., no upper
	                             halves), and a component not in use at the site is left so; needs AVX-512
	                             and XINUSE (else ERR_CPU). AUTO's choice but on AMD CPUs: on the AMD
	                             measured XGETBV alone cost more than all of REGS's moves. */
};

struct usertrap_config {
	usertrap_hook_fn hook; /* required */
	void *arg;             /* passed to every hook call */
	unsigned int flags;    /* USERTRAP_LAZY, USERTRAP_LAZY_NO_PATCH, USERTRAP_HOOK_NO_VECTOR */
	enum usertrap_vector_save vector_save;
	uintptr_t table_addr; /* 0: a random free page in [0x60000, 0x70000); else that page exactly */
};

/*
 * Maps the trap table, installs the SIGILL handler (and, with USERTRAP_LAZY, the SIGSYS
 * handler), and registers the hook. Capture is off for every thread afterwards. Returns 0 or:
 * ERR_INVAL (no hook, unknown flags), ERR_STATE (already initialised), ERR_TABLE_BUSY (every candidate
 * place of the table is occupied), ERR_NO_SUD (USERTRAP_LAZY on a kernel without Syscall User
 * Dispatch: nothing is initialised; explicit patching works without the flag), ERR_CPU, ERR_SYS.
 * On error nothing is changed. Not async-signal-safe; call it before creating the threads to capture.
 * After usertrap_shutdown() it may be called again (the table is reused, the hook replaced).
 */
USERTRAP_API int usertrap_init(const struct usertrap_config *config, struct usertrap_error *err);

/*
 * Patches the site at `site` (the address of the b8 byte), whose imm32 must equal `nr`. Idempotent: a
 * site already patched returns 0. Errors (nothing changed unless said): ERR_STATE, ERR_INVAL,
 * ERR_PATTERN, ERR_NR, ERR_IN_PLACE (nr is rt_sigreturn, clone, clone3 or vfork), ERR_TABLE_FULL,
 * ERR_NOT_PATCHABLE (see the enum; err->sys_errno set when mprotect or mremap failed), ERR_FAULT
 * (err->fault). If a write after the first fails (the page vanished or was sealed meanwhile), the site
 * keeps a guard byte and its calls are then made by the SIGILL handler, through the hook. Thread-safe;
 * blocks while another thread patches. Not async-signal-safe.
 */
USERTRAP_API int usertrap_patch(void *site, long nr, struct usertrap_error *err);

/*
 * Restores the original bytes of a site patched by usertrap, in four ordered writes (0x06 at +0; +1..+6
 * with the guard kept at +5; b8 at +0; 0x0f at +5), so that no thread ever runs the restored syscall
 * with a number loaded from the jump's bytes.
 * Its slot stays bound to the site (a thread may still be inside its trampoline), so patching it again
 * reuses the slot. Returns 0, ERR_INVAL (site never patched), or the errors of usertrap_patch.
 */
USERTRAP_API int usertrap_unpatch(void *site, struct usertrap_error *err);

/*
 * Patches now every `syscall` instruction of each function named in names[0..n) (looked up with
 * dlsym(RTLD_DEFAULT), bounded by the .eh_frame_hdr entry that starts there, decoded linearly): the 7-byte
 * form where the site has the pattern and the table has room, else a relocated window inside the
 * function, as a first hit under lazy capture would. For start-up: a short process pays a SIGSYS and
 * a patch at each site's first hit, and most processes reach the same few libc wrappers (read, openat,
 * mmap...); patched here, in one pass under one lock and one read of /proc/self/maps, their first
 * calls already take the jump. Names not found, and sites that cannot be patched (they stay on the
 * signal path, still correct), are skipped; counters: patches += the sites patched, patch_failures +=
 * those refused. Returns the number of sites patched (>= 0), or ERR_STATE (not running), ERR_INVAL
 * (names NULL with n > 0). Thread-safe, not async-signal-safe. The preload tool calls it at start
 * with its list (src/usertrap/preload.c) unless USERTRAP_EAGER=0.
 */
USERTRAP_API int usertrap_patch_functions(const char *const *names, size_t n, struct usertrap_error *err);

/*
 * The plan cache of usertrap_patch_functions (off by default): what it learns from the instruction
 * decoder (each function's syscall instructions, the relocated window of each site not patched in the
 * 7-byte form) is kept in DIR/plans, keyed by each function's length and a hash of its bytes, and
 * read back by later processes, which then neither decode nor plan those functions (the preload tool
 * also skips loading the decoder, Zydis, when its cache holds every eager function; it is then
 * loaded only at the end of a process, by usertrap_save_plan_cache, if a first hit missed a plan). The file
 * is used only if it is a regular file owned by the effective user, writable by no one else, well-formed; an
 * entry only for a function whose bytes still hash to its key. It is replaced whole (a temporary file
 * renamed), DIR created (0700) if missing; a directory that cannot be written is no error (nothing
 * is saved). dir NULL turns the cache off. Returns 0, or ERR_INVAL (path too long). Not thread-safe
 * against a concurrent usertrap_patch_functions, not async-signal-safe.
 */
USERTRAP_API int usertrap_set_plan_cache(const char *dir);

/*
 * For a process's end (an atexit handler or destructor, never a signal handler): lazy capture's first
 * hits also use the plan cache (a site needing a window takes its cached plan; a window planned is
 * recorded); a site they could not plan (no decoder loaded, see usertrap_set_plan_cache) was left on
 * the signal path and noted: this plans those (loading the decoder) and writes the cache file if
 * anything was learnt since it was read. Returns 0, or ERR_SYS if the file could not be written.
 */
USERTRAP_API int usertrap_save_plan_cache(void);

/*
 * The patch policy of lazy capture: a site is patched at its k-th call caught by Syscall User Dispatch
 * (its first k-1 calls, and any call while k is not reached, take the signal path). k = 1 (the default;
 * 0 means 1) patches at the first hit. A patch costs several signal-path calls, so a larger k spares a
 * short process the patches of sites it calls once or twice. Counts are kept for the first 1024 sites
 * caught; sites caught after those are patched at their first hit. The counts survive fork (the child
 * continues its parent's) and are forgotten by usertrap_shutdown(); k is kept. Async-signal-safe.
 */
USERTRAP_API void usertrap_set_patch_hits(unsigned k);

/*
 * Patches the system call at `insn` (a `syscall` instruction, 0f 05, of any form: `xor %eax,%eax`,
 * `mov %reg,%eax`, a `mov $nr,%eax` farther away...) by a relocated window: a few whole instructions
 * around it (at least 5 bytes) are moved into a stub within 2 GiB, which runs them, calls the hook
 * with RAX as the number where the syscall was, and jumps back; the window becomes `jmp rel32` to the
 * stub and 0x06 bytes, the stub placed so that the rel32 has 0x06 wherever an instruction boundary
 * falls inside the jump (a thread at any other instruction boundary of the window meets one, and the
 * SIGILL handler moves it to the same point of the stub). rt_sigreturn,
 * clone, clone3 and vfork made through such a site are made as real system calls from the stub.
 * [fn_start, fn_end) are the bounds of the function holding insn, decoded from fn_start on; both NULL:
 * taken from the .eh_frame_hdr of the loaded object holding insn. The rules a window must meet are in
 * src/usertrap/decode.h (no call, return or indirect branch in it, no branch target of the function
 * inside it...). A call through the stub reports `site` = insn. Idempotent. Returns 0 or (nothing
 * changed): ERR_STATE, ERR_INVAL (NULL insn, one bound only), ERR_PATTERN (no window there can be
 * moved, or the function's bounds are unknown), ERR_TABLE_FULL (USERTRAP_MAX_WINDOWS windows),
 * ERR_NOT_PATCHABLE (as for usertrap_patch, or no page for its stub could be mapped within reach),
 * ERR_FAULT, ERR_SYS. Thread-safe, not async-signal-safe.
 */
USERTRAP_API int usertrap_patch_syscall(void *insn, const void *fn_start, const void *fn_end,
                                        struct usertrap_error *err);

/*
 * Restores a window patched by usertrap_patch_syscall (or lazily), in two writes: its first
 * instruction, then the rest (a thread running the first instruction meanwhile meets a guard and continues in
 * the stub). The stub stays. Returns 0, ERR_INVAL (never patched), ERR_PATTERN (its bytes were changed by
 * someone else), or the errors of usertrap_patch_syscall.
 */
USERTRAP_API int usertrap_unpatch_syscall(void *insn, struct usertrap_error *err);

/*
 * Lazy capture for the calling thread: on arms Syscall User Dispatch for it, off disarms it. An armed
 * thread is captured unless usertrap_capture_all(false) paused capture everywhere (it is not paused
 * after usertrap_init). Requires usertrap_init() with USERTRAP_LAZY (else ERR_STATE). Returns 0 or
 * ERR_SYS. Async-signal-safe.
 */
USERTRAP_API int usertrap_capture_thread(bool on, struct usertrap_error *err);

/*
 * Lazy capture for every thread. off pauses capture at once in all threads (one shared selector byte)
 * and stops arming new threads. on resumes it in every armed thread, arms the calling thread and every
 * other thread of the process that does not block SIGSYS (each is sent a SIGSYS and arms itself;
 * returns after all answered or 1 s), and makes threads created later by pthread_create come up armed
 * (from their start routine on). Returns 0, ERR_STATE or ERR_SYS. Not async-signal-safe.
 */
USERTRAP_API int usertrap_capture_all(bool on, struct usertrap_error *err);

/*
 * True once the program has installed a seccomp filter or strict mode (seccomp(2), prctl(PR_SET_SECCOMP))
 * through usertrap_syscall(). The filter applies to usertrap's own system calls as well, and may forbid
 * any of them, so from the moment such a call is made usertrap makes none of its own: lazy capture is
 * paused in every thread and cannot be resumed, no site is patched any more, no thread is armed
 * (usertrap_capture_thread, usertrap_capture_all, usertrap_patch, usertrap_unpatch and
 * usertrap_patch_functions return ERR_STATE). Sites patched before keep reaching the hook; calls at
 * other sites run uncaptured. SIGSYS is the program's own again: its action goes back to the kernel
 * (a filter's SECCOMP_RET_TRAP reaches the program's handler directly) and rt_sigaction on it is no
 * longer virtualised. A hook that makes system calls of its own should check this too. If the
 * kernel refuses the filter nothing changes, except when the call came by SIGSYS: it then runs in place
 * (USERTRAP_CALL_IN_PLACE: returning from the handler after it would take rt_sigreturn), usertrap is
 * sealed when the hook passes it on (usertrap_syscall or USERTRAP_RESULT_PASS), and stays sealed
 * whatever the kernel answers. Async-signal-safe.
 */
USERTRAP_API bool usertrap_seccomp_sealed(void);

/*
 * The real syscall for `call`, as the hook's pass-through: runs it from usertrap's own syscall gate and
 * returns the kernel's result (-errno on error). What a plain call could not do is taken care of:
 * rt_sigprocmask never blocks SIGSYS/SIGILL/SIGSEGV/SIGBUS (for a SIGSYS call it updates the mask that
 * the thread gets back); rt_sigaction on SIGSYS is virtualised; a fork-like clone re-arms capture in the
 * child; while lazy capture is set up, prctl(PR_SET_SYSCALL_USER_DISPATCH) to arm the program's own
 * dispatch returns -EBUSY, and to disarm it returns 0 (usertrap's stays); a call that would unmap,
 * replace, re-protect, move or discard usertrap's own memory (the trap table, the stub pages) fails
 * without being made (mmap with MAP_FIXED: -ENOMEM; munmap, madvise, mremap: -EINVAL; mprotect: -EACCES). For
 * USERTRAP_CALL_IN_PLACE calls (which can only run on the caller's own stack) it returns
 * USERTRAP_RESULT_IN_PLACE without making the call (it only seals usertrap before a seccomp filter, see
 * usertrap_seccomp_sealed); the hook must return that value unchanged, and the call then runs natively in
 * the caller's context (any other return value emulates the call). Async-signal-safe.
 */
#define USERTRAP_RESULT_IN_PLACE (-4096L - 77)
USERTRAP_API long usertrap_syscall(const struct usertrap_call *call);

/*
 * A hook's answer meaning "make this call as the caller made it; I do not need its result": returning
 * it is the same as returning usertrap_syscall(call) (the same filtering of masks and signal actions,
 * the same re-arming after fork, USERTRAP_RESULT_IN_PLACE's effect for an USERTRAP_CALL_IN_PLACE call),
 * except for where and when the real call is made. The caller gets the kernel's result; the hook never
 * sees it.
 * - Through a patched site (USERTRAP_CALL_PATCHED), for a call usertrap_syscall would pass to the
 *   kernel untouched (all but the calls named above, the mapping calls mmap, munmap, mremap, mprotect,
 *   pkey_mprotect, shmat, shmdt, and the fork-like ones), the call is made after the hook has returned,
 *   with every register of the caller restored, from an instruction in the trap table. It then behaves
 *   as the native call would: an interrupted call is restarted there or returns -EINTR to the caller as
 *   the signal's SA_RESTART says, and a hook called meanwhile (from a signal handler) has depth 0 on
 *   this thread, as no hook is running below it. This is cheaper than usertrap_syscall(), which
 *   makes the call inside the hook's call chain: on the CPUs measured each return after a system
 *   call mispredicts (bench rows syscall/getppid/patched and patched_call).
 * - Everywhere else the call is made by usertrap_syscall(call) as the hook returns.
 * The hook must return it with call->nr and call->args as it got them (usertrap may make the call from
 * the caller's saved registers or from *call).
 */
#define USERTRAP_RESULT_PASS (-4096L - 78)

/*
 * What usertrap did. Every run of the hook is counted in exactly one of trampoline_calls, sigsys_calls
 * and sigill_calls, so a hook that counts its own runs finds their sum. The counts of events (all but
 * sites_patched, slots_used and slots_free) start at zero in a child made by fork (a fork-like clone
 * that usertrap_syscall ran): the child reports its own work, not its parent's.
 */
struct usertrap_counters {
	uint64_t sites_patched;  /* sites currently patched */
	uint64_t patches;        /* successful patch operations */
	uint64_t patch_failures; /* patch attempts (explicit or lazy) that were refused */
	uint64_t slots_used;     /* trap-table slots bound to a site (patched sites and in-place gates) */
	uint64_t slots_free;
	uint64_t trampoline_calls; /* calls that came through a patched site */
	uint64_t sigsys_calls;     /* calls that came through Syscall User Dispatch and went to the hook */
	uint64_t in_place_calls;   /* SIGSYS calls run natively in the caller's context */
	uint64_t
	    capture_lost; /* in-place calls without a free slot: that thread's capture was switched off */
	uint64_t sigill_restarts;  /* threads caught on the guard byte and restarted at the site */
	uint64_t restart_syscalls; /* of those, interrupted calls resumed with restart_syscall */
	uint64_t sigsys_native;    /* SIGSYS calls the hook never sees: rt_sigreturn (it returns from a
	                              handler), and calls caught as usertrap shut down */
	uint64_t sigill_calls;     /* calls the SIGILL handler made through the hook: at a site a failed
	                              write left half-written, or met by a handler of its own patcher */
};

/* A snapshot of the counters (each value is read atomically; the set is not one instant). */
USERTRAP_API void usertrap_get_counters(struct usertrap_counters *out);

/*
 * Shutdown: switches capture off in every thread, restores every patched site, stops arming new
 * threads, and puts the previous SIGSYS action back. The trap table stays mapped and the SIGILL
 * handler stays installed (a thread may still be inside a trampoline or have a SIGILL pending; both
 * pass on everything that is not usertrap's). Returns 0, or the first error met while restoring a site
 * (the other sites are still restored). Not async-signal-safe.
 */
USERTRAP_API int usertrap_shutdown(struct usertrap_error *err);

/* A short constant English name for a status ("ok", "pattern", ...); "unknown" for other values. */
USERTRAP_API const char *usertrap_status_name(int status);

/* The trap table's address, or 0 before usertrap_init(). */
USERTRAP_API uintptr_t usertrap_table_address(void);

#ifdef __cplusplus
}
#endif

#endif /* USERTRAP_H */
