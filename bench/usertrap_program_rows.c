/*
 * usertrap program rows: real programs, unmodified, plainly and under libusertrap_preload.so (every
 * call of every thread through a counting hook, sites patched on first use). One operation is one
 * whole run, from spawn to exit; the ratio column is the whole-process time ratio preload/plain.
 *
 *   programs/dd    dd if=/dev/zero of=/dev/null bs=64 count=300000 (--quick 30000): goal <= 1.5x
 *   programs/sort  sort of a 20000-line file
 *   programs/gzip  gzip -c of the same file
 *   programs/tar   tar -cf FILE /usr/include/linux
 *   programs/find  find /usr/include
 *   programs/git   git --version: a short process, whose ratio is mostly the preload's own start and
 *                  its first patches (goal <= 1.2x); its row preload-nocache runs with
 *                  USERTRAP_CACHE=0 (the decoder loaded and every plan made in every run)
 *
 * The preload rows use a plan cache of the bench's own (USERTRAP_CACHE=/var/tmp/usertrap-bench-PID.cache,
 * empty at the start): the check run before timing (bench.h) is the cold one that fills it, so every
 * timed run is warm, as the note says.
 *
 * A note gives, per program, the share of its calls that took usertrap's patched path (trampoline /
 * calls, summed over every process of the run, from the preload's report).
 *
 * Where a warm git --version's ~210 us over its plain ~940 us go (Intel Xeon VM, 2026-12-04; rdtsc
 * marks in the constructor and a count of cycles per raw system call, alternating runs): loading the
 * .so ~22 us; the constructor before usertrap_init ~11 us (first touches of the tool's pages: each
 * page a process touches first costs a fault, 0.5-1.5 us here); usertrap_init ~55 us (libsafecopy and
 * the trampoline ~10, the table and the SIGILL/SIGSYS handlers ~12, reading the plan cache ~22, the
 * 64 rt_sigaction reads of ut_actions_filter ~6); the eager pass ~90 us for 26 sites (names to
 * bounds ~12: dlsym and FDE lookups on cold pages; 21 writes through /proc/self/mem ~32: the first
 * write into each of 12 libc pages copies the page, ~2.4 us; opening /proc/self/maps and mem ~15: a
 * process's first /proc access builds its /proc/PID entries, ~10; 11 PROCMAP_QUERY ioctls ~4; two
 * stub pages ~6); the rest in the run (one lazy first hit ~10, the report, Syscall User Dispatch's
 * slower entry for every call). Tried without a gain that the ~6 us between two builds of the same
 * code would not hide: every .bss array of a page or more page-aligned (3 fewer faults), 17 or 13
 * eager functions instead of 20, the eager pass's mappings from the loader's program headers instead
 * of PROCMAP_QUERY (7 us less).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "whole_run.h"

static char scratch[64]; /* /var/tmp/usertrap-bench-PID: the input file, the archive, the report */
static char data_path[96], tar_path[96], report_path[96];
static char pre_env[320], report_env[128], cache_path[96], cache_env[128];

struct program {
	const char *name;
	char *argv[10];
	char **env; /* NULL: the plain run */
};

/* Both runs get this process's environment (HOME, LANG: git reads ~/.gitconfig and the locale's files
 * with them), the preloaded one plus LD_PRELOAD (and, for the share, USERTRAP_REPORT): with only
 * LD_PRELOAD it did less work than the plain run, and git --version measured 1.35x instead of ~1.5x. */
static char **preload_env, **report_env_list, **nocache_env;

/* environ without LD_PRELOAD and USERTRAP_*, then `extra` (NULL-terminated, at most 3). */
static char **environ_plus(char *const extra[])
{
	extern char **environ;
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 4, sizeof *env);
	if (!env) {
		perror("calloc");
		exit(1);
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0 && strncmp(environ[i], "USERTRAP_", 9) != 0)
			env[k++] = environ[i];
	for (size_t i = 0; extra[i] && i < 3; i++)
		env[k++] = extra[i];
	return env;
}

static void run_program(void *ctx, uint64_t iters)
{
	struct program *p = ctx;
	for (uint64_t i = 0; i < iters; i++)
		bench_spawn_wait(p->argv, p->env);
}

static const char *check_program(void *ctx)
{
	struct program *p = ctx;
	int status = bench_spawn_wait(p->argv, p->env);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? NULL : "the program failed";
}

/* The share of the calls of one preloaded run that took the patched path, summed over its processes;
 * negative if there was no report. */
static double fast_share(struct program *p, unsigned long long *calls_out)
{
	unlink(report_path);
	bench_spawn_wait(p->argv, report_env_list);
	FILE *f = fopen(report_path, "r");
	if (!f)
		return -1;
	unsigned long long calls = 0, tramp = 0, c, t;
	char line[512];
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "usertrap pid=%*d calls=%llu trampoline=%llu", &c, &t) == 2) {
			calls += c;
			tramp += t;
		}
	fclose(f);
	unlink(report_path);
	*calls_out = calls;
	return calls ? 100.0 * (double)tramp / (double)calls : -1;
}

/* The input of sort and gzip, made once, when a group that needs it is selected. */
static void make_data(void)
{
	static bool made;
	if (made)
		return;
	made = true;
	FILE *f = fopen(data_path, "w");
	if (!f) {
		perror(data_path);
		exit(1);
	}
	unsigned x = 12345;
	for (int i = 0; i < 20000; i++) {
		x = x * 1103515245u + 12345u;
		fprintf(f, "%u line %d\n", x >> 8, i);
	}
	fclose(f);
}

/* One group: the program plainly and preloaded (and preloaded without a plan cache, if pair[2] has an
 * environment). Returns false if it did not run. */
static bool program_group(struct bench_session *s, struct program pair[3], double goal)
{
	char name[48];
	snprintf(name, sizeof name, "programs/%s", pair[0].name);
	struct bench_group g;
	bench_group_init(&g, name, 0, "plain");
	g.runs = bench_is_quick(s) ? 3 : 5;
	bench_group_add_handled(&g, "plain", run_program, &pair[0], NULL, NULL, check_program);
	struct bench_case *c =
	    bench_group_add_handled(&g, "preload", run_program, &pair[1], NULL, NULL, check_program);
	if (goal > 0)
		c->goal = (struct bench_goal){GOAL_AT_MOST, "plain", goal};
	if (pair[2].env)
		bench_group_add_handled(&g, "preload-nocache", run_program, &pair[2], NULL, NULL,
		                        check_program);
	if (!bench_group_selected(s, &g))
		return false;
	make_data();
	bench_group_run(s, &g);
	return true;
}

static void copy_argv(struct program *p, const char *name, char *const argv[], char **env)
{
	p->name = name;
	p->env = env;
	int i = 0;
	for (; argv[i] && i < 9; i++)
		p->argv[i] = argv[i];
	p->argv[i] = NULL;
}

/* The bench's plan cache directory and its file (the temporary files of a save are renamed away). */
static void remove_cache(void)
{
	char file[128];
	snprintf(file, sizeof file, "%s/plans", cache_path);
	unlink(file);
	rmdir(cache_path);
}

static void suite_run(struct bench_session *s)
{
	snprintf(scratch, sizeof scratch, "/var/tmp/usertrap-bench-%d", (int)getpid());
	snprintf(data_path, sizeof data_path, "%s.data", scratch);
	snprintf(tar_path, sizeof tar_path, "%s.tar", scratch);
	snprintf(report_path, sizeof report_path, "%s.report", scratch);
	snprintf(pre_env, sizeof pre_env, "LD_PRELOAD=%s", USERTRAP_PRELOAD);
	snprintf(report_env, sizeof report_env, "USERTRAP_REPORT=%s", report_path);
	snprintf(cache_path, sizeof cache_path, "%s.cache", scratch);
	snprintf(cache_env, sizeof cache_env, "USERTRAP_CACHE=%s", cache_path);
	if (!preload_env) {
		char *pre[] = {pre_env, cache_env, NULL}, *rep[] = {pre_env, report_env, cache_env, NULL},
		     *off[] = {pre_env, "USERTRAP_CACHE=0", NULL};
		preload_env = environ_plus(pre);
		report_env_list = environ_plus(rep);
		nocache_env = environ_plus(off);
	}
	static char count[32];
	snprintf(count, sizeof count, "count=%d", bench_is_quick(s) ? 30000 : 300000);
	char *dd[] = {"/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=64", count, NULL};
	char *sort[] = {"/usr/bin/sort", data_path, NULL};
	char *gzip[] = {"/bin/gzip", "-c", data_path, NULL};
	char *tar[] = {"/bin/tar", "-cf", tar_path, "/usr/include/linux", NULL};
	char *find[] = {"/usr/bin/find", "/usr/include", NULL};
	char *git[] = {"/usr/bin/git", "--version", NULL};
	struct {
		const char *name;
		char **argv;
		double goal;
		bool nocache_row; /* a preload-nocache row too */
	} progs[] = {{"dd", dd, 1.5, false}, {"sort", sort, 0, false}, {"gzip", gzip, 0, false},
	             {"tar", tar, 0, false}, {"find", find, 0, false}, {"git", git, 1.2, true}};
	static struct program pairs[sizeof progs / sizeof progs[0]][3];
	char note[400];
	size_t len =
	    (size_t)snprintf(note, sizeof note, "programs: share of calls on usertrap's patched path:");
	bool any = false;
	for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++) {
		copy_argv(&pairs[i][0], progs[i].name, progs[i].argv, NULL);
		copy_argv(&pairs[i][1], progs[i].name, progs[i].argv, preload_env);
		copy_argv(&pairs[i][2], progs[i].name, progs[i].argv,
		          progs[i].nocache_row ? nocache_env : NULL);
		if (!program_group(s, pairs[i], progs[i].goal))
			continue;
		unsigned long long calls = 0;
		double share = fast_share(&pairs[i][1], &calls);
		if (len < sizeof note)
			len += (size_t)snprintf(note + len, sizeof note - len, " %s %.1f%% of %llu;",
			                        progs[i].name, share, calls);
		any = true;
	}
	if (any)
		bench_note(
		    s,
		    "%s (ratio column: whole-process time preload/plain; preload rows with a warm plan "
		    "cache, filled by the check run before timing; preload-nocache: USERTRAP_CACHE=0)",
		    note);
	unlink(data_path);
	unlink(tar_path);
	remove_cache();
}

const struct bench_suite usertrap_program_suite = {"usertrap_programs", suite_run};
