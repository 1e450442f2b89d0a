/*
 * Layer 0 (see src/usertrap/README.md). Choosing the window of a `syscall` instruction: whole instructions
 * around it, at least UT_JUMP_LEN bytes, that can be moved into a stub (stubcode.c) and replaced by
 * `jmp rel32` followed by UT_GUARD bytes (windows.c). Decoded with Zydis, linearly from the start of the
 * function that holds the site, so every instruction boundary is one the code really has.
 *
 * A window is refused (the site stays on the SIGSYS path, still correct) when:
 * - the linear decode of the function does not land on the syscall (data in code, or not an
 *   instruction boundary), or any instruction of the function fails to decode;
 * - it would hold a call, a return, an indirect branch, jrcxz/loop, a 16-bit relative branch, any other
 *   relative operand, another system call or interrupt, an endbr64 (an indirect branch target) after
 *   its first byte, a RIP-relative operand pointing into the window itself, or cross the function's
 *   bounds;
 * - a relative branch or call anywhere in the function targets a byte strictly inside it;
 * - it is shorter than UT_JUMP_LEN.
 * An instruction boundary inside the jump (window offsets 1 to 4, when the first instruction is short)
 * must hold UT_GUARD too: that byte of the jump's rel32 is then required to be 0x06, and the stub is
 * placed where it is (E9Patch's "instruction punning"; ut_plan.pun, stubs.h). Windows are chosen by
 * length plus a cost per punned byte, the higher bytes dearer (they put the stub farther away).
 * Branch targets from other functions and jump tables cannot be seen: a thread arriving that way meets
 * UT_GUARD and is sent to the stub by the SIGILL handler (slow, still correct).
 */
#ifndef USERTRAP_DECODE_H
#define USERTRAP_DECODE_H

#include <stddef.h>

#include "usertrap/defs.h"

#define UT_JUMP_LEN      5  /* e9 rel32 */
#define UT_WIN_MAX_LEN   32 /* bytes in a window */
#define UT_WIN_MAX_INSNS 12 /* instructions in a window */
#define UT_FN_MAX_LEN    (256 * 1024)

enum ut_insn_kind {
	UT_INSN_PLAIN,   /* moved as it is */
	UT_INSN_RIPREL,  /* a disp32 relative to the next instruction, at disp_off */
	UT_INSN_JMP,     /* jmp rel8/rel32 to target */
	UT_INSN_JCC,     /* jcc rel8/rel32 to target, condition cc */
	UT_INSN_SYSCALL, /* the site */
};

struct ut_insn {
	uint8_t off, len; /* in the window */
	uint8_t kind;     /* enum ut_insn_kind */
	uint8_t disp_off; /* UT_INSN_RIPREL */
	uint8_t cc;       /* UT_INSN_JCC: the condition (0..15) */
	uintptr_t target; /* UT_INSN_RIPREL, JMP, JCC: the absolute address it refers to */
};

struct ut_plan {
	uintptr_t start, end, insn; /* the window [start, end) and the syscall instruction in it */
	unsigned n;
	uint8_t pun; /* bit k: byte k of the jump's rel32 falls on an instruction boundary */
	struct ut_insn in[UT_WIN_MAX_INSNS];
	unsigned char bytes[UT_WIN_MAX_LEN]; /* the window's bytes as decoded */
};

enum ut_plan_result {
	UT_PLAN_OK = 0,
	UT_PLAN_FAULT,      /* the function's bytes could not be read */
	UT_PLAN_MISALIGNED, /* the decode does not land on a syscall at insn, or fails */
	UT_PLAN_NO_WINDOW,  /* no window around it may be moved */
	UT_PLAN_NO_DECODER, /* Zydis is not loaded (ut_decoder_load) */
};

/* Loads the decoder if it is not yet (the preload tool dlopens Zydis; the libraries link it): true if
 * it is ready. Takes the loader's lock and allocates: never in a signal handler. */
UT_HIDDEN bool ut_decoder_load(void);
/* True once the decoder is loaded. Async-signal-safe. */
UT_HIDDEN bool ut_decoder_ready(void);

/* The code as it was before usertrap patched it: sites already patched in the function change its
 * bytes (a jump and guards would not decode), so the planner decodes the original bytes, and never
 * takes a window that overlaps a patched site. NULL members: nothing is patched. */
struct ut_code_view {
	/* Puts back into buf, which holds the n bytes at `at`, the original bytes of patched sites. */
	void (*original)(uintptr_t at, unsigned char *buf, size_t n);
	/* True if [lo, hi) overlaps a patched site. */
	bool (*patched)(uintptr_t lo, uintptr_t hi);
};

/* Plans the window of the syscall instruction at insn in the function [fn_lo, fn_hi) (at most
 * UT_FN_MAX_LEN bytes), decoding the code as `view` (may be NULL) says it was. Returns an enum
 * ut_plan_result (UT_PLAN_NO_DECODER before ut_decoder_load); *p is complete only for UT_PLAN_OK. Reads
 * through libsafecopy, no allocation: async-signal-safe if view's functions are. */
UT_HIDDEN int ut_plan_window(uintptr_t insn, uintptr_t fn_lo, uintptr_t fn_hi,
                             const struct ut_code_view *view, struct ut_plan *p);

/* The addresses of the first `max` syscall instructions of [fn_lo, fn_hi) (at most UT_FN_MAX_LEN
 * bytes) in a linear decode from fn_lo, in address order; the decode stops at the last `0f 05` of
 * the function. Returns how many were stored, or -1 if a byte could not be read, an instruction up
 * to that last `0f 05` failed to decode, or the decoder is not loaded. Reads through libsafecopy, no
 * allocation. */
UT_HIDDEN int ut_find_syscalls(uintptr_t fn_lo, uintptr_t fn_hi, uintptr_t *out, int max);

/* The index in p->in of the syscall instruction. */
UT_HIDDEN int ut_plan_syscall_index(const struct ut_plan *p);

#endif
