/*
 * The row API: what a row file (copy_rows.c, fault_rows.c, ...) uses to declare and run its rows.
 *
 * A row file defines one `const struct bench_suite` and registry.c lists it: adding rows is adding one
 * file and one line. A suite builds groups; a group is the set of methods that do the same operation
 * (say, copying 64 bytes), one of them the baseline every ratio in the group is relative to. Each
 * method is a row named "<group>/<method>", e.g. "copy/64B/safecopy"; --filter picks rows by substring.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Keeps a value alive without a memory access: the compiler cannot drop the computation. */
#define BENCH_SINK(v) __asm__ volatile("" : : "r"(v))
/* Compiler barrier: memory is assumed read and written here. */
#define BENCH_BARRIER() __asm__ volatile("" : : : "memory")

/*
 * A baseline's called function: a real call with the real ABI (external linkage, not inlined, not
 * cloned by gcc's IPA), starting on a 32-byte boundary as safecopy's routines do (SC_ROUTINE), so that
 * the call under test and its baseline are placed alike.
 */
#if defined(__clang__)
#define BENCH_NOINLINE __attribute__((noinline, aligned(32)))
#else
#define BENCH_NOINLINE __attribute__((noinline, noipa, aligned(32)))
#endif

struct bench_session;

enum bench_goal_kind {
	GOAL_NONE,
	GOAL_AT_MOST,    /* time(row) / time(ref) <= limit: "at most 1.5x memcpy's time" */
	GOAL_REF_FASTER, /* time(row) / time(ref) >= limit: "ref is at least 50x faster than this row" */
	GOAL_THROUGHPUT, /* time(ref) / time(row) >= limit: "at least 0.95x ref's throughput" */
};

/* A goal (README.md, Performance), evaluated on the row that carries it against another row of its group. */
struct bench_goal {
	enum bench_goal_kind kind;
	const char *ref; /* method name in the same group */
	double limit;
};

/* One method of a group. Only method and run are required. */
struct bench_case {
	const char *method;
	void (*run)(void *ctx, uint64_t iters); /* the operation, iters times */
	void *ctx;
	void (*enter)(void *ctx); /* before each batch, untimed: install this method's signal handler */
	void (*leave)(void *ctx); /* after each batch, untimed: restore what enter replaced */
	/* Once before timing (between enter and leave): NULL if the operation gives the right result,
	 * else a short description of what is wrong. A failed check drops the row and fails the run. */
	const char *(*check)(void *ctx);
	struct bench_goal goal;
	/* For the A/A control (--aa), on the group's base method only: a second copy of run's code (the
	 * same source, compiled again, so at another address), or NULL to time run itself again. */
	void (*twin)(void *ctx, uint64_t iters);
};

#define BENCH_MAX_CASES 12

struct bench_group {
	char name[48];    /* "copy/64B" */
	size_t bytes;     /* bytes per operation, for GB/s; 0 when throughput means nothing */
	const char *base; /* method name of the baseline */
	struct bench_case cases[BENCH_MAX_CASES];
	int ncases;
	/* > 0: one operation is a whole program run: after one untimed run each, every method is timed
	 * this many times, in turn (measure_runs), instead of in calibrated batches */
	int runs;
};

/* A row file's entry point. */
struct bench_suite {
	const char *name;
	void (*run)(struct bench_session *s);
};

/* NULL-terminated list of every suite, in table order (registry.c). */
extern const struct bench_suite *const bench_suites[];

/* Starts an empty group. name is copied. */
void bench_group_init(struct bench_group *g, const char *name, size_t bytes, const char *base);

/* Adds a method to g and returns it, so that the caller can set enter/leave/check/goal. */
struct bench_case *bench_group_add(struct bench_group *g, const char *method, void (*run)(void *, uint64_t),
                                   void *ctx);

/*
 * Adds a method that measures under signal handling of its own: enter/leave run untimed around each
 * batch (install and restore its handler), check once before timing. Returns the method.
 */
struct bench_case *bench_group_add_handled(struct bench_group *g, const char *method,
                                           void (*run)(void *, uint64_t), void *ctx, void (*enter)(void *),
                                           void (*leave)(void *), const char *(*check)(void *));

/* The sizes of the copy and memset groups: every power of two from 8 B to 64 MiB (beyond the caches). */
struct bench_size {
	const char *label; /* "8B", "64KiB", ... */
	size_t n;
	bool key; /* one of the sizes the alternatives to safecopy are measured at (the README's rows) */
};
#define BENCH_NSIZES 24
extern const struct bench_size bench_sizes[BENCH_NSIZES];

/* True if n is one of the key sizes of bench_sizes. */
bool bench_size_is_key(size_t n);

/*
 * The groups of a suite that measures every size of bench_sizes: group "<prefix>/<label>" of size n
 * ("<prefix>@<level>/<label>" in the fallback part),
 * with baseline `base`. add(g, n, ctx) adds the methods (and goals) for size n; for a group that
 * --filter selects, buffers(ctx, n, true) sets up its memory before it runs and buffers(ctx, n, false)
 * frees it after. Returns the largest size that ran (0: none). Adds a note with the worst ratio of the
 * "safecopy" rows to the base over the sizes measured.
 */
size_t bench_size_groups(struct bench_session *s, const char *prefix, const char *base,
                         void (*add)(struct bench_group *g, size_t n, void *ctx),
                         void (*buffers)(void *ctx, size_t n, bool get), void *ctx);

/* True if --filter selects at least one row of g: a suite checks this before allocating buffers.
 * Under --list it counts (and prints) the selected row names and returns false. */
bool bench_group_selected(struct bench_session *s, const struct bench_group *g);

/*
 * Checks, measures and records the selected rows of g, plus the baseline and goal references they
 * need, and prints them. Exits with a message if safecopy's handler is no longer installed afterwards
 * (a method's leave() did not restore it).
 */
void bench_group_run(struct bench_session *s, struct bench_group *g);

/* The A/A control's method name: the base method timed a second time as one more row of its group. */
#define BENCH_AA_METHOD "aa_control"

/* True in the fallback part (the copy and memset groups again at a lower vector level, fallback.c):
 * the copy suite then leaves out its alternatives to safecopy. */
bool bench_in_fallback_part(const struct bench_session *s);

/* True for --quick: suites may use fewer sizes of slow set-up, never different methods. */
bool bench_is_quick(const struct bench_session *s);

/* Adds a line to the notes printed after the table (and stored in the JSON). printf-style. */
void bench_note(struct bench_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Anonymous private mapping of n bytes, every page touched (no first-touch faults while timing). Exits on
 * failure. */
void *bench_alloc(size_t n);

/* Unmaps what bench_alloc returned. */
void bench_free(void *p, size_t n);

#endif
