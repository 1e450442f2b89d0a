/*
 * The fallback part (fallback.h). glibc chooses its memcpy and memset once, at startup, from the CPU
 * and GLIBC_TUNABLES, so glibc at a lower level needs a process of its own: the bench runs itself
 * again with --cpu LEVEL (which caps safecopy's routines and re-executes with glibc capped alike,
 * vector_level.c) and --fallback-part FD. That child measures the copy and memset groups, prints them
 * under a head of its own on the shared stdout, and writes its rows and notes to FD, a memfd the
 * parent reads once the child has exited; the parent adds them to its rows, so that the summary's goal
 * count, the JSON and the CSV hold both parts. The same binary writes and reads the records.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fallback.h"
#include "glibc_variant.h"
#include "output.h"
#include "vector_level.h"

extern char **environ;
extern const struct bench_suite copy_suite, memset_suite;

/* The part's own time budget (the table's is spent by then): past it, its remaining groups use
 * --quick's settings, so that it adds at most ~40 s to a run. */
#define PART_BUDGET_NS UINT64_C(30000000000)

#define WIRE_MAGIC 0x73636662u /* "bfcs" */

/* What the child writes to FD: this head, nrows records, then nnotes notes of sizeof notes[0]. */
struct wire_head {
	uint32_t magic;
	uint32_t row_size; /* sizeof(struct wire_row) */
	int nrows, nnotes, failures;
	double aa_worst;
	char aa_worst_at[48];
	struct bench_fallback part;
};

struct wire_row {
	struct bench_row row;
	char goal_ref[40]; /* row.goal.ref points into the child's memory: the name travels instead */
};

void fallback_plan(struct bench_session *s, bool cpu_option)
{
	struct bench_fallback *f = &s->fallback;
	const char *below = bench_vector_level_below();
	if (cpu_option)
		snprintf(f->none_why, sizeof f->none_why, "--cpu chose the one level this run measures");
	else if (!below)
		snprintf(f->none_why, sizeof f->none_why, "the routines run at %s, the lowest level",
		         bench_vector_level_name());
	else
		snprintf(f->level, sizeof f->level, "%s", below);
}

/* The suites of the part, with their groups tagged "@LEVEL". */
static void run_part_suites(struct bench_session *s, const char *level)
{
	snprintf(s->group_tag, sizeof s->group_tag, "@%s", level);
	copy_suite.run(s);
	memset_suite.run(s);
	s->group_tag[0] = '\0';
}

void fallback_list(struct bench_session *s)
{
	if (s->fallback.level[0])
		run_part_suites(s, s->fallback.level);
}

static bool write_all(int fd, const void *buf, size_t n)
{
	for (const char *p = buf; n > 0;) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

int fallback_child(struct bench_session *s, int fd)
{
	struct wire_head h = {.magic = WIRE_MAGIC, .row_size = sizeof(struct wire_row)};
	struct bench_fallback *f = &h.part;
	snprintf(f->level, sizeof f->level, "%s", bench_vector_level_name());
	bench_vector_level_describe(f->vector, sizeof f->vector);
	bench_glibc_variants(f->glibc_memcpy, f->glibc_memset, sizeof f->glibc_memcpy);
	output_fallback_head(stdout, f);
	s->start_ns = measure_now_ns();
	s->budget_ns = s->quick ? 0 : PART_BUDGET_NS;
	run_part_suites(s, f->level);

	h.nrows = s->nrows;
	h.nnotes = s->nnotes;
	h.failures = s->failures;
	h.aa_worst = s->aa_worst;
	snprintf(h.aa_worst_at, sizeof h.aa_worst_at, "%s", s->aa_worst_at);
	bool ok = write_all(fd, &h, sizeof h);
	for (int k = 0; ok && k < s->nrows; k++) {
		struct wire_row w = {.row = s->rows[k]};
		snprintf(w.goal_ref, sizeof w.goal_ref, "%s", w.row.goal.ref ? w.row.goal.ref : "");
		ok = write_all(fd, &w, sizeof w);
	}
	for (int k = 0; ok && k < s->nnotes; k++)
		ok = write_all(fd, s->notes[k], sizeof s->notes[k]);
	if (!ok) {
		perror("safecopy-bench: fallback part: writing its rows");
		return 1;
	}
	return s->failures ? 1 : 0;
}

/* The part could not be measured: a failed check of the run, named in the notes. */
static void part_failed(struct bench_session *s, const char *why)
{
	printf("fallback part at %s: FAILED: %s\n", s->fallback.level, why);
	bench_note(s, "CHECK FAILED fallback part at %s: %s", s->fallback.level, why);
	s->failures++;
}

/* Runs the child; returns its wait status, or -1 if it did not start. */
static int spawn_child(const struct bench_session *s, int fd)
{
	char fd_text[16];
	snprintf(fd_text, sizeof fd_text, "%d", fd);
	/* 6 fixed, --quick, --aa, two per filter (s->filters holds 32), the terminating NULL */
	char *argv[6 + 2 + 2 * 32 + 1] = {"/proc/self/exe",  "--cpu", (char *)s->fallback.level,
	                                  "--fallback-part", fd_text, "--no-plot"};
	int argc = 6;
	if (s->quick)
		argv[argc++] = "--quick";
	if (s->aa)
		argv[argc++] = "--aa";
	for (int i = 0; i < s->nfilters; i++) {
		argv[argc++] = "--filter";
		argv[argc++] = (char *)s->filters[i];
	}
	fflush(NULL);
	pid_t pid;
	if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return -1;
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

/* Adds what the child wrote (buf, n bytes) to s; false if it is not a whole record. */
static bool take_child_part(struct bench_session *s, const char *buf, size_t n)
{
	struct wire_head h;
	if (n < sizeof h)
		return false;
	memcpy(&h, buf, sizeof h);
	size_t need =
	    sizeof h + (size_t)h.nrows * sizeof(struct wire_row) + (size_t)h.nnotes * sizeof s->notes[0];
	if (h.magic != WIRE_MAGIC || h.row_size != sizeof(struct wire_row) || h.nrows < 0 || h.nnotes < 0 ||
	    need != n || strcmp(h.part.level, s->fallback.level) != 0)
		return false;
	s->fallback = h.part;
	s->fallback.ran = true;
	s->fallback.first_row = s->nrows;
	const char *p = buf + sizeof h;
	for (int k = 0; k < h.nrows; k++, p += sizeof(struct wire_row)) {
		struct wire_row w;
		memcpy(&w, p, sizeof w);
		struct bench_row *r = bench_session_new_row(s);
		*r = w.row;
		r->goal.ref = w.goal_ref[0] ? strdup(w.goal_ref) : NULL;
	}
	for (int k = 0; k < h.nnotes; k++, p += sizeof s->notes[0])
		bench_note(s, "%.*s", (int)sizeof s->notes[0], p);
	s->failures += h.failures;
	bench_session_aa_ratio(s, h.aa_worst, h.aa_worst_at);
	return true;
}

void fallback_run(struct bench_session *s)
{
	if (!s->fallback.level[0] || bench_count_selected(s, fallback_list) == 0)
		return;
	int fd = memfd_create("safecopy-bench-fallback", 0); /* no CLOEXEC: the child writes to it */
	if (fd < 0) {
		part_failed(s, strerror(errno));
		return;
	}
	uint64_t t0 = measure_now_ns();
	int status = spawn_child(s, fd);
	double seconds = (double)(measure_now_ns() - t0) / 1e9;
	off_t size = lseek(fd, 0, SEEK_END);
	char *buf = size > 0 ? malloc((size_t)size) : NULL;
	bool read_ok = buf && pread(fd, buf, (size_t)size, 0) == size;
	close(fd);
	char why[96];
	if (status < 0)
		snprintf(why, sizeof why, "the bench could not run itself again");
	else if (WIFSIGNALED(status))
		snprintf(why, sizeof why, "its run was killed by signal %d", WTERMSIG(status));
	else if (!read_ok || !take_child_part(s, buf, (size_t)size))
		snprintf(why, sizeof why, "its run (exit status %d) handed no rows back",
		         WEXITSTATUS(status));
	else
		why[0] = '\0';
	free(buf);
	if (why[0])
		part_failed(s, why);
	else
		s->fallback.seconds = seconds;
}
