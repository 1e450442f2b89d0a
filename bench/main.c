/*
 * safecopy-bench: measures what safecopy costs and what it saves against what a program would use
 * instead. Options, the header block, the run of every suite, then the summary, JSON/CSV and plot.
 */
#include <errno.h>
#include <getopt.h>
#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "baselines.h"
#include "fallback.h"
#include "glibc_variant.h"
#include "output.h"
#include "plot.h"
#include "safecopy.h"
#include "session.h"
#include "vector_level.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: safecopy-bench [options]\n"
	    "Measures safecopy against glibc and the alternatives; prints one table (under 2 minutes),\n"
	    "then the fallback part: the copy and memset groups again at the vector level below the\n"
	    "table's (avx512: avx2, avx2: sse2; none at sse2), against glibc capped alike, as groups\n"
	    "copy@LEVEL/SIZE and memset@LEVEL/SIZE (measured by a second run of the bench, whose glibc\n"
	    "starts capped; each group's worst ratio in the notes, its goals in the summary).\n"
	    "  --quick          short run (a few seconds): fewer, shorter batches, noisier figures\n"
	    "  --filter SUBSTR  only rows whose name contains SUBSTR (repeatable: any may match);\n"
	    "                   rows are named group/method, e.g. copy/64B/safecopy, atomic/cas64/builtin,\n"
	    "                   fault/8B/sigsetjmp, mixed/8-64B/safecopy. A selected row brings its\n"
	    "                   group's base row and goal reference along. Note that 'copy' also matches\n"
	    "                   every safecopy row: use 'copy/' for the copy groups. Filters that\n"
	    "                   select no row are a usage error (exit status 2).\n"
	    "  --json FILE      also write every row as JSON\n"
	    "  --csv FILE       also write every row as CSV\n"
	    "  --plot-dir DIR   where copy.svg/copy.png go (default build/bench)\n"
	    "  --no-plot        do not run gnuplot\n"
	    "  --cpu LEVEL      run safecopy's copy, memset and string routines at vector level LEVEL\n"
	    "                   (sse2, avx2 or avx512; at most what the CPU offers), as the environment\n"
	    "                   variable SAFECOPY_CPU does for any program; below the CPU's highest\n"
	    "                   (by --cpu or SAFECOPY_CPU), glibc's memcpy and memset are capped alike\n"
	    "                   (the bench runs itself again with GLIBC_TUNABLES=glibc.cpu.hwcaps=...,\n"
	    "                   unless the caller set that);\n"
	    "                   the run then has no fallback part\n"
	    "  --aa             A/A control: in every group the base method is timed a second time,\n"
	    "                   as row <group>/" BENCH_AA_METHOD
	    " (from a second copy of its code where the\n"
	    "                   row file has one); its ratio shows the harness's own error for the group\n"
	    "  --list           print the names of the (selected) rows, measure nothing\n"
	    "  --fallback-part FD  internal: measure only the fallback part, hand its rows to FD\n"
	    "  --help           this text\n");
}

static void read_first_line(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	buf[0] = '\0';
	if (f) {
		if (fgets(buf, (int)n, f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
}

/* The first three fields of /proc/loadavg: how busy the 2 CPUs were around the run. */
static void read_load(char *buf, size_t n)
{
	char line[128];
	read_first_line("/proc/loadavg", line, sizeof line);
	double a = 0, b = 0, c = 0;
	if (sscanf(line, "%lf %lf %lf", &a, &b, &c) == 3)
		snprintf(buf, n, "%.2f %.2f %.2f", a, b, c);
	else
		snprintf(buf, n, "unknown");
}

/* Machine-wide busy and steal time from /proc/stat's "cpu" line, in seconds. */
static bool read_cpu_busy(double *busy, double *steal)
{
	FILE *f = fopen("/proc/stat", "r");
	if (!f)
		return false;
	unsigned long long v[8] = {0};
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
	               &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 8)
		return false;
	double hz = (double)sysconf(_SC_CLK_TCK);
	/* user nice system idle iowait irq softirq steal: busy is what ran in this machine (not idle,
	 * iowait or steal, the host's time, reported on its own). */
	*busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / hz;
	*steal = (double)v[7] / hz;
	return true;
}

/* The CPU time of this process and of its children it has waited for (the programs, sctrace and
 * fallback rows run in children): the run's own load, not another process's. */
static double process_cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	struct rusage ch = {0};
	getrusage(RUSAGE_CHILDREN, &ch);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + (double)ch.ru_utime.tv_sec +
	       (double)ch.ru_stime.tv_sec + ((double)ch.ru_utime.tv_usec + (double)ch.ru_stime.tv_usec) / 1e6;
}

static void collect_info(struct bench_info *i)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(i->date, sizeof i->date, "%Y-%m-%d %H:%M:%S UTC", &tm);

	snprintf(i->cpu, sizeof i->cpu, "unknown CPU");
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f) {
		char line[512];
		while (fgets(line, sizeof line, f)) {
			if (strncmp(line, "model name", 10) != 0)
				continue;
			char *v = strchr(line, ':');
			if (v) {
				v += 1 + (v[1] == ' ');
				v[strcspn(v, "\n")] = '\0';
				snprintf(i->cpu, sizeof i->cpu, "%s", v);
			}
			break;
		}
		fclose(f);
	}
	i->ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	bench_vector_level_describe(i->vector, sizeof i->vector);

	struct utsname u;
	if (uname(&u) == 0)
		snprintf(i->kernel, sizeof i->kernel, "%s %s %s (%s)", u.sysname, u.release, u.machine,
		         u.version);
	snprintf(i->glibc, sizeof i->glibc, "%s", gnu_get_libc_version());
	bench_glibc_variants(i->glibc_memcpy, i->glibc_memset, sizeof i->glibc_memcpy);
	/* __VERSION__ names clang ("Debian Clang 14.0.6") but not gcc ("12.2.0"). */
#if defined(__clang__)
	snprintf(i->compiler, sizeof i->compiler, "%s", __VERSION__);
#else
	snprintf(i->compiler, sizeof i->compiler, "gcc %s", __VERSION__);
#endif
	size_t len = strlen(i->compiler);
#if defined(BENCH_CFLAGS) /* the optimization flags of the build, from bench/SConscript */
	snprintf(i->compiler + len, sizeof i->compiler - len, " %s%s", BENCH_CFLAGS,
#else
	snprintf(i->compiler + len, sizeof i->compiler - len, "%s",
#endif
#if defined(__OPTIMIZE__)
	         ", optimized (release build)");
#else
	         ", NOT optimized: figures are meaningless");
#endif
	read_load(i->load_start, sizeof i->load_start);
}

/* Busy work before the first measurement, so that the first group does not pay for the CPU leaving
 * an idle state or ramping its clock (its max column showed it). */
static void spin_up(unsigned ms)
{
	uint64_t end = measure_now_ns() + (uint64_t)ms * 1000000u;
	volatile uint64_t x = 0;
	while (measure_now_ns() < end)
		for (int i = 0; i < 1000; i++)
			x = x + (uint64_t)i;
}

/* Every suite, then the fallback part (in list mode: their row names). */
static void run_every_suite(struct bench_session *s)
{
	for (int k = 0; bench_suites[k]; k++)
		bench_suites[k]->run(s);
	fallback_list(s);
}

/* A filter that selects nothing is a usage error, as an unknown option is: say so before measuring. */
static void report_no_match(const struct bench_session *s)
{
	fprintf(stderr, "safecopy-bench: no row matches");
	for (int i = 0; i < s->nfilters; i++)
		fprintf(stderr, "%s --filter '%s'", i ? " or" : "", s->filters[i]);
	fprintf(stderr, "; safecopy-bench --list names every row\n");
}

int main(int argc, char **argv)
{
	static struct bench_session s;
	const char *json = NULL, *csv = NULL, *plot_dir = "build/bench";
	bool plot = true;
	const char *cpu_level = NULL;
	int fallback_fd = -1; /* --fallback-part FD: this run is a run's fallback part (fallback.c) */
	enum {
		OPT_JSON = 256,
		OPT_CSV,
		OPT_FILTER,
		OPT_PLOT_DIR,
		OPT_NO_PLOT,
		OPT_LIST,
		OPT_CPU,
		OPT_AA,
		OPT_FALLBACK_PART
	};
	static const struct option opts[] = {
	    {"quick", no_argument, NULL, 'q'},
	    {"filter", required_argument, NULL, OPT_FILTER},
	    {"json", required_argument, NULL, OPT_JSON},
	    {"csv", required_argument, NULL, OPT_CSV},
	    {"plot-dir", required_argument, NULL, OPT_PLOT_DIR},
	    {"no-plot", no_argument, NULL, OPT_NO_PLOT},
	    {"list", no_argument, NULL, OPT_LIST},
	    {"aa", no_argument, NULL, OPT_AA},
	    {"cpu", required_argument, NULL, OPT_CPU},
	    {"fallback-part", required_argument, NULL, OPT_FALLBACK_PART},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	for (int o; (o = getopt_long(argc, argv, "qh", opts, NULL)) != -1;) {
		switch (o) {
		case 'q':
			s.quick = true;
			break;
		case OPT_FILTER:
			if (s.nfilters == (int)(sizeof s.filters / sizeof s.filters[0])) {
				fprintf(stderr, "safecopy-bench: too many --filter options\n");
				return 2;
			}
			s.filters[s.nfilters++] = optarg;
			break;
		case OPT_JSON:
			json = optarg;
			break;
		case OPT_CSV:
			csv = optarg;
			break;
		case OPT_PLOT_DIR:
			plot_dir = optarg;
			break;
		case OPT_NO_PLOT:
			plot = false;
			break;
		case OPT_CPU:
			cpu_level = optarg;
			break;
		case OPT_FALLBACK_PART:
			fallback_fd = atoi(optarg);
			break;
		case OPT_LIST:
			s.list_only = true;
			break;
		case OPT_AA:
			s.aa = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "safecopy-bench: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (cpu_level && !bench_vector_level_set(cpu_level)) {
		fprintf(stderr, "safecopy-bench: --cpu '%s': not sse2, avx2 or avx512\n", cpu_level);
		usage(stderr);
		return 2;
	}
	if (!cpu_level)
		bench_vector_level_follow_env(); /* SAFECOPY_CPU's cap: glibc capped alike */

	/* Many short batches: on a shared machine a time slice taken by another process spoils only
	 * the batch it lands in, and the median passes over those. Default: ~10 s on 2 idle vCPUs;
	 * --quick: ~4 s (budgets: 2 min and 10 s). */
	s.quick_cfg =
	    (struct measure_cfg){.batch_ns = 1000000, .batches = 15, .slow_batches = 5, .warmup = 1};
	if (s.quick)
		s.cfg = s.quick_cfg;
	else
		s.cfg = (struct measure_cfg){
		    .batch_ns = 1000000, .batches = 101, .slow_batches = 21, .warmup = 3};
	/* A whole run must stay under 2 minutes. The default run takes ~10 s on an idle machine; past 45 s (a
	 * busy machine: at load 75 on 2 CPUs even --quick takes ~55 s) the rest goes quick. */
	s.budget_ns = s.quick ? 0 : UINT64_C(45000000000);

	/* safecopy first: the baselines swap their handlers in and out around safecopy's. */
	int err = safecopy_init();
	if (err) {
		fprintf(stderr, "safecopy-bench: safecopy_init: %s\n", strerror(-err));
		return 1;
	}
	err = bl_init();
	if (err) {
		fprintf(stderr, "safecopy-bench: setting up the baselines: %s\n", strerror(-err));
		return 1;
	}
	if (fallback_fd >= 0)
		return fallback_child(&s, fallback_fd);
	fallback_plan(&s, cpu_level != NULL);
	if (s.nfilters > 0 && bench_count_selected(&s, run_every_suite) == 0) {
		report_no_match(&s);
		return 2;
	}
	if (s.list_only) {
		run_every_suite(&s);
		return 0;
	}
	collect_info(&s.info);
	output_info(stdout, &s);
	spin_up(s.quick ? 50 : 200);
	output_table_head(stdout);
	/* How much CPU everything else took while we measured: the honest noise indicator on a shared
	 * machine (the load average counts this process too). */
	double busy0, steal0, busy1, steal1, own0 = process_cpu_seconds();
	bool stat_ok = read_cpu_busy(&busy0, &steal0);
	uint64_t t0 = measure_now_ns();
	s.start_ns = t0;
	for (int k = 0; bench_suites[k]; k++)
		bench_suites[k]->run(&s);
	fallback_run(&s);
	double secs = (double)(measure_now_ns() - t0) / 1e9;
	if (s.aa_worst > 0)
		bench_note(&s,
		           "%s: the base method timed again in every group; the ratio farthest from 1.00x"
		           " was %.3fx (%s)",
		           BENCH_AA_METHOD, s.aa_worst, s.aa_worst_at);
	double own = process_cpu_seconds() - own0;
	stat_ok = stat_ok && read_cpu_busy(&busy1, &steal1);
	read_load(s.info.load_end, sizeof s.info.load_end);
	s.info.seconds = secs;
	s.info.others_cpus = stat_ok && secs > 0 ? (busy1 - busy0 - own) / secs : -1;
	s.info.steal_cpus = stat_ok && secs > 0 ? (steal1 - steal0) / secs : -1;
	if (s.info.others_cpus < 0 && stat_ok)
		s.info.others_cpus = 0; /* tick granularity */

	output_summary(stdout, &s);
	if (s.info.others_cpus >= 0)
		printf("machine:   other processes used %.2f of the %d CPUs on average while this ran (steal "
		       "%.2f)\n",
		       s.info.others_cpus, s.info.ncpu, s.info.steal_cpus);
	if (s.info.others_cpus > 0.2 || s.info.steal_cpus > 0.05)
		printf("warning:   the machine was shared: figures are noisier than on an idle machine (less "
		       "so than\n"
		       "           it sounds: preempted batches were run again, and the methods of a group "
		       "take turns)\n");
	if (s.fallback.ran)
		printf("run time:  %.1f s (the fallback part %.1f s of it)\n", secs, s.fallback.seconds);
	else
		printf("run time:  %.1f s\n", secs);
	int rc = s.failures ? 1 : 0;
	if (json && output_json(json, &s) != 0) {
		fprintf(stderr, "safecopy-bench: writing %s: %s\n", json, strerror(errno));
		rc = 1;
	} else if (json) {
		printf("json:      %s\n", json);
	}
	if (csv && output_csv(csv, &s) != 0) {
		fprintf(stderr, "safecopy-bench: writing %s: %s\n", csv, strerror(errno));
		rc = 1;
	} else if (csv) {
		printf("csv:       %s\n", csv);
	}
	if (plot)
		plot_copy(&s, plot_dir);
	return rc;
}
