/*
 * Layer 4 (see src/usertrap/README.md). Running the hook: the trampoline bodies call ut_dispatch() with the
 * call they built on the caller's stack; the SIGSYS and SIGILL handlers build one from the signal
 * context and call ut_run_hook(). usertrap_syscall(), the hook's pass-through, is here too.
 */
#ifndef USERTRAP_DISPATCH_H
#define USERTRAP_DISPATCH_H

#include "usertrap/defs.h"

/* The hook the next calls reach (set at init, before any site is patched or any thread armed). */
UT_HIDDEN void ut_dispatch_set_hook(usertrap_hook_fn hook, void *arg);
/* Calls the hook with this thread's nesting depth in call->depth; its USERTRAP_RESULT_PASS becomes
 * usertrap_syscall(call). Returns the call's result. */
UT_HIDDEN long ut_run_hook(struct usertrap_call *call);

/* What ut_dispatch tells the trampoline body (returned in RAX:RDX). gate == 0: rax is the call's
 * result. Else the hook passed the call through and it needs nothing of usertrap: rax is its number,
 * and the body restores the caller's registers and jumps to gate, the trap-table instruction that
 * makes the call and continues where the body would have (a slot's in-place gate for a patched site,
 * UT_H_WINDOW_GATE for a window's stub). */
struct ut_dispatched {
	long rax;
	uintptr_t gate;
};
_Static_assert(sizeof(struct ut_dispatched) == 16, "returned in RAX:RDX (asm/usertrap_tramp.asm)");

/* Entry from asm/usertrap_tramp.asm: counts the call and runs the hook. */
UT_HIDDEN struct ut_dispatched ut_dispatch(struct usertrap_call *call);
/* True if this call must run on the caller's own stack and registers (see site.h): vfork, rt_sigreturn,
 * and clone/clone3 with a new stack or CLONE_VM; also a call that installs a seccomp filter, which must
 * take effect after the SIGSYS handler's rt_sigreturn (seccomp.h). */
UT_HIDDEN bool ut_in_place(long nr, const long args[6]);
/* The same for an i386 call (`int $0x80`): its in-place numbers always run in place (site.h). */
UT_HIDDEN bool ut_in_place_i386(long nr, const long args[6]);

#endif
