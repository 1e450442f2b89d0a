/*
 * Layer 3 (see src/usertrap/README.md). Sites patched by a relocated window (decode.h): the window's
 * instructions run in a stub near the code (stubcode.h, stubs.h); the window becomes `jmp rel32` to the
 * stub followed by UT_GUARD bytes. Every other instruction boundary of the window (where a thread can
 * be preempted, arrive by a branch, or return from the kernel after the syscall) holds UT_GUARD: after
 * the jump by the fill, inside it because the stub lies where the jump's rel32 has UT_GUARD in those
 * bytes (instruction punning, decode.h). Such a thread gets SIGILL and ut_window_on_sigill() sends it
 * to the same point of the stub.
 *
 * The registry of windows is only ever appended to (a thread may run a stub, or be in the SIGILL
 * handler for a window, after its site is restored), under the patch lock, and read lock-free.
 */
#ifndef USERTRAP_WINDOWS_H
#define USERTRAP_WINDOWS_H

#include "usertrap/decode.h"
#include "usertrap/defs.h"
#include "usertrap/plancache.h"

/* usertrap_patch_syscall() under the patch lock (fn_lo = fn_hi = 0: the bounds from .eh_frame_hdr):
 * same results. Async-signal-safe. */
UT_HIDDEN int ut_window_patch_locked(uintptr_t insn, uintptr_t fn_lo, uintptr_t fn_hi,
                                     struct usertrap_error *err);
/* ut_window_patch_locked with a plan from the plan cache (plancache.h): *result >= 0 is the cached
 * planner's result (*p the plan for UT_PLAN_OK, used if it still fits the code); *result = -1 plans
 * (then *result is what ut_plan_window returned and *p its plan, or stays -1 if no plan was needed). */
UT_HIDDEN int ut_window_patch_plan_locked(uintptr_t insn, uintptr_t fn_lo, uintptr_t fn_hi, struct ut_plan *p,
                                          int *result, struct usertrap_error *err);
/* The plan cache's key of the function [fn_lo, fn_hi) as it was before any patch. Patch lock. */
UT_HIDDEN bool ut_window_code_key(uintptr_t fn_lo, uintptr_t fn_hi, struct ut_fn_key *key);
/* The plan of the syscall at insn in the function [fn_lo, fn_hi) as if nothing in it were patched
 * (for the plan cache: a pure function of the function's bytes): an enum ut_plan_result. Patch lock. */
UT_HIDDEN int ut_window_plan_alone(uintptr_t insn, uintptr_t fn_lo, uintptr_t fn_hi, struct ut_plan *p);
/* usertrap_unpatch_syscall() under the patch lock: same results. */
UT_HIDDEN int ut_window_unpatch_locked(uintptr_t insn, struct usertrap_error *err);
/* Restores every patched window; returns the first error (in *err), the others still restored. Needs
 * the patch lock. */
UT_HIDDEN int ut_window_unpatch_all_locked(struct usertrap_error *err);

/* The SIGILL at pc: if pc is an instruction boundary of a window (its start included: a guard lies
 * there while the window is written), sends the thread to the same point of its stub (or, if the
 * window was restored meanwhile, back to pc) and returns true. Async-signal-safe. */
UT_HIDDEN bool ut_window_on_sigill(uintptr_t pc, void *uc);

#endif
