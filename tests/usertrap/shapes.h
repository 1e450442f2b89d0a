/* The system call shapes of window_shapes.asm, copied into fresh read-execute memory to be patched. */
#ifndef USERTRAP_TEST_SHAPES_H
#define USERTRAP_TEST_SHAPES_H

#include <criterion/criterion.h>
#include <string.h>
#include <sys/mman.h>

#include "usertrap.h"

#define DECLARE_SHAPE(n)                                                                       \
	extern const unsigned char shape_##n[], shape_##n##_sys[] __asm__("shape_" #n ".sys"), \
	    shape_##n##_fnend[] __asm__("shape_" #n ".fnend"), shape_##n##_end[] __asm__("shape_" #n ".end")
DECLARE_SHAPE(read);
DECLARE_SHAPE(read_taken);
DECLARE_SHAPE(open);
DECLARE_SHAPE(futex);
DECLARE_SHAPE(movreg);
DECLARE_SHAPE(cancel);
DECLARE_SHAPE(nocancel);
DECLARE_SHAPE(cond);
DECLARE_SHAPE(pushed);
DECLARE_SHAPE(two);
DECLARE_SHAPE(call);
DECLARE_SHAPE(target);
DECLARE_SHAPE(indirect);
DECLARE_SHAPE(regs);

typedef long (*shape_fn)(long, long, long, long);

/* The hooks' fake descriptor: read(MAGIC_FD, k, ...) answers k * 3 + 1, as NR_FAKE(_, k, ...) does. */
#define MAGIC_FD 0x7fff1234L
#define NR_FAKE_ 500

/* Calls f so that the call it makes has k as its second argument and an answered number. */
static inline long invoke_read(shape_fn f, long k)
{
	return f(MAGIC_FD, k, 0, 0);
}
static inline long invoke_first(shape_fn f, long k)
{
	return f(k, 0, 0, 0); /* the shape moves it into the second argument */
}
static inline long invoke_nr_third(shape_fn f, long k)
{
	return f(0, k, NR_FAKE_, 0);
}
static inline long invoke_nr_fourth(shape_fn f, long k)
{
	return f(0, k, 0, NR_FAKE_);
}

struct shape {
	const char *name;
	const unsigned char *start, *sys, *fnend, *end;
	unsigned window_before; /* bytes of the window before the syscall */
	unsigned window_after;  /* bytes of the window after it */
	long (*invoke)(shape_fn f, long k);
};
#define SHAPE(n, before, after, inv)                                                                   \
	{                                                                                              \
#n, shape_##n, shape_##n##_sys, shape_##n##_fnend, shape_##n##_end, before, after, inv \
	}

/* The shapes of DESIGN.md §7 that must be patchable, and three whose jump is punned. */
#define PATCHABLE_SHAPES                                                                       \
	{                                                                                      \
		SHAPE(read, 11, 0, invoke_read), SHAPE(open, 5, 0, invoke_first),              \
		    SHAPE(futex, 8, 0, invoke_first), SHAPE(movreg, 9, 0, invoke_nr_third),    \
		    SHAPE(cancel, 5, 0, invoke_nr_fourth), SHAPE(nocancel, 0, 6, invoke_read), \
		    SHAPE(cond, 5, 0, invoke_nr_third), SHAPE(pushed, 3, 0, invoke_nr_third)   \
	}
#define N_PATCHABLE_SHAPES 8

/* A copy of a shape in fresh read-execute memory: its function [fn, end), its syscall insn. */
struct placed {
	unsigned char *fn, *insn, *end;
};

/* Copies s to the start of a fresh page, with `extra` bytes written right after it. */
static inline struct placed place_shape_with(const struct shape *s, const void *extra, size_t extra_len)
{
	unsigned char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(m != MAP_FAILED);
	memset(m, 0xcc, 4096);
	size_t len = (size_t)(s->end - s->start);
	memcpy(m, s->start, len);
	if (extra_len)
		memcpy(m + len, extra, extra_len);
	cr_assert_eq(mprotect(m, 4096, PROT_READ | PROT_EXEC), 0);
	return (struct placed){m, m + (s->sys - s->start), m + (s->fnend - s->start)};
}

static inline struct placed place_shape(const struct shape *s)
{
	return place_shape_with(s, NULL, 0);
}

static inline shape_fn shape_entry(const struct placed *p)
{
	return (shape_fn)(void *)p->fn;
}

/* The answer of the shapes' calls (see invoke_*); 0 for any other call. */
static inline bool shape_answer(const struct usertrap_call *call, long *r)
{
	if ((call->nr == 0 && call->args[0] == MAGIC_FD) || call->nr == NR_FAKE_) {
		*r = call->args[1] * 3 + 1;
		return true;
	}
	return false;
}

#endif
