/* The state of one harness run, shared by main.c, group.c, output.c and plot.c (not by row files). */
#ifndef BENCH_SESSION_H
#define BENCH_SESSION_H

#include <stdbool.h>
#include <stdio.h>

#include "bench.h"
#include "measure.h"

enum goal_state { GOAL_STATE_NONE, GOAL_STATE_MET, GOAL_STATE_MISSED, GOAL_STATE_NA };

/* One measured row, as printed and exported. */
struct bench_row {
	char name[96]; /* "<group>/<method>" */
	char group[48];
	char method[40];
	char base[40]; /* the group's baseline method */
	bool is_base;
	size_t bytes; /* per operation; 0: no GB/s */
	struct measure_stats st;
	double gbps;  /* bytes / median ns, 0 if bytes is 0 */
	double ratio; /* median / baseline median */
	struct bench_goal goal;
	enum goal_state goal_state;
	double goal_value;
	char goal_text[96];
};

/* The machine and build the figures come from. */
struct bench_info {
	char date[40];
	char cpu[128];
	int ncpu;
	char kernel[400];
	char glibc[32];
	char glibc_memcpy[48]; /* glibc's variants in use, e.g. __memcpy_avx512_unaligned_erms */
	char glibc_memset[48];
	char compiler[128];
	char vector[96]; /* the copy/memset/string routines' vector level, and what caps it */
	char load_start[64];
	char load_end[64];
	/* During the measurements: CPU time of every other process (and steal by the hypervisor), in
	 * CPUs on average (1.0 = one CPU busy all the time); negative if /proc/stat could not be read. */
	double others_cpus;
	double steal_cpus;
	double seconds; /* wall time of the measurements */
};

/*
 * The fallback part (fallback.c): the copy and memset groups again at the vector level below the
 * table's, against glibc capped alike, measured by a child run of the bench.
 */
struct bench_fallback {
	char level[8];         /* "avx2"; "" when the run has no fallback part */
	char none_why[96];     /* then: why not */
	char vector[96];       /* the child's vector line: the level and how glibc was capped */
	char glibc_memcpy[48]; /* glibc's variants in the child */
	char glibc_memset[48];
	bool ran;       /* its rows are rows[first_row..nrows) */
	int first_row;  /* (it runs last) */
	double seconds; /* wall time of the child run that measured it */
};

struct bench_session {
	struct measure_cfg cfg;
	struct measure_cfg quick_cfg; /* what --quick uses; the run falls back to it past the budget */
	uint64_t start_ns;            /* of the measurements */
	uint64_t budget_ns;           /* past this, the remaining groups use quick_cfg (busy machine) */
	bool over_budget;
	bool quick;
	bool aa; /* --aa: every group's base is timed twice (BENCH_AA_METHOD): the harness's own noise */
	double aa_worst;      /* the A/A control's ratio farthest from 1 so far (0: none measured) */
	char aa_worst_at[48]; /* its group */
	bool list_only;       /* --list: print the selected row names, measure nothing */
	bool list_quiet;      /* with list_only: only count them (main's check that --filter selects a row) */
	int nlisted;          /* rows selected under list_only */
	const char *filters[32];
	int nfilters;
	struct bench_row *rows;
	int nrows, cap;
	char notes[32][400];
	int nnotes;
	int failures; /* failed correctness checks */
	struct bench_info info;
	/* Appended to the copy and memset groups' prefix ("copy@avx2/8B"): "@LEVEL" while the fallback
	 * part runs (or is listed), "" otherwise. */
	char group_tag[16];
	struct bench_fallback fallback;
};

/* A new zeroed row at the end of s->rows. */
struct bench_row *bench_session_new_row(struct bench_session *s);

/* How many rows list(s) names in list mode (what --filter selects), printing none. */
int bench_count_selected(struct bench_session *s, void (*list)(struct bench_session *s));

/* Keeps ratio as the A/A control's worst if it is farther from 1 than the worst so far. */
void bench_session_aa_ratio(struct bench_session *s, double ratio, const char *group);

#endif
