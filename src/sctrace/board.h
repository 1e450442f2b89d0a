/*
 * The board: one shared memory area (a memfd the command creates, inherited by every traced process and
 * mapped again after each exec) holding what the processes of one trace share: the options, where the
 * output goes, the -c counters, how many tasks are alive, and the calls in progress that another task
 * may have to close with "<unfinished ...>" before it prints its own line.
 */
#ifndef SCTRACE_BOARD_H
#define SCTRACE_BOARD_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sctrace/names.h"
#include "sctrace/options.h"

#define SCT_BOARD_MAGIC 0x3152544353ULL /* "SCTR1" */
#define SCT_BOARD_ENV   "SCTRACE_BOARD" /* its descriptor number, in the environment */
#define SCT_SLOTS       256
#define SCT_SLOT_TEXT   8000

struct sct_count {
	uint64_t calls, errors, ticks; /* ticks of the call clock (see ticks_per_ns) */
};

/* A task's call in progress: text is the line so far (prefix included), up to the point where strace
 * would print " <unfinished ...>". */
enum sct_slot_state {
	SCT_SLOT_IDLE = 0,
	SCT_SLOT_PENDING, /* published; the owner will finish the line itself unless someone closes it */
	SCT_SLOT_CLOSING, /* another task is writing the "<unfinished ...>" line */
	SCT_SLOT_CLOSED,  /* it was written: the owner prints "<... name resumed>" */
};

struct sct_slot {
	int32_t tid; /* owner; 0: free */
	int32_t pid; /* the owner's process */
	uint32_t state;
	uint32_t len;
	uint32_t exec_pid; /* nonzero: an execve in progress; the new image of that pid completes it */
	uint64_t t0;       /* when the call began (monotonic ns, the same clock in every process) */
	char text[SCT_SLOT_TEXT];
};

struct sct_board {
	uint64_t magic;
	uint64_t size;
	struct sct_options opts; /* opts.output is not meaningful here */
	int32_t out_fd;          /* the shared output; -1 with -ff (each process opens its own) */
	int32_t board_fd;
	int32_t root_pid;
	char out_path[PATH_MAX];   /* -o FILE (the base name with -ff) */
	char lib_path[PATH_MAX];   /* the tracer library, for LD_PRELOAD of new images */
	int32_t root_started;      /* the first image of the root process printed its execve line */
	int32_t root_exit_printed; /* its "+++ exited" line is out (else the command prints how it ended) */
	/* The clock of -c and -T: TSC ticks per ns when the command found an invariant TSC (a read costs a
	 * fraction of clock_gettime's, and this is read twice per call); 0: CLOCK_MONOTONIC, in ns. */
	double ticks_per_ns;
	uint64_t exec_t0;      /* the call clock when the command called execve, for the first line's -T */
	int32_t live_tasks;    /* traced tasks alive (strace's nprocs): more than 1 means [pid N] */
	uint32_t pending;      /* slots in state PENDING */
	uint32_t slots_used;   /* slots ever claimed (a high-water mark bounding scans) */
	uint64_t unseen_tasks; /* processes or threads that started but could not be traced */
	uint64_t capture_lost; /* calls usertrap could not hand over (summed at exit) */
	uint64_t sealed_tasks; /* processes that installed a seccomp filter (sct_note_sealed) */
	struct sct_count counts[SCT_NR_COUNT];
	struct sct_slot slots[SCT_SLOTS];
};

/* The command: creates the board (a memfd at a descriptor >= min_fd, inherited across exec). Returns
 * it mapped, or NULL with errno set. */
struct sct_board *sct_board_create(int min_fd);

/* The tracer library: maps the board whose descriptor is in $SCTRACE_BOARD, or returns NULL. Uses
 * only direct system calls. */
struct sct_board *sct_board_attach(const char *fd_text);

/* The slot owned by tid (of process pid), claiming a free one if it has none; -1 if all are taken.
 * Async-signal-safe. */
int sct_board_claim(struct sct_board *b, int32_t tid, int32_t pid);

/* The slot owned by tid, or -1. */
int sct_board_find(const struct sct_board *b, int32_t tid);

/* Gives the slot back (its owner is gone). */
void sct_board_release(struct sct_board *b, int slot);

/* Gives back every slot of process pid (it is ending). */
void sct_board_release_process(struct sct_board *b, int32_t pid);

#endif
