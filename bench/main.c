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
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "baselines.h"
#include "output.h"
#include "plot.h"
#include "safecopy.h"
#include "session.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: safecopy-bench [options]\n"
		"Measures safecopy against glibc and the alternatives; prints one table (under 2 minutes).\n"
		"  --quick          short run (about 10 s), fewer and shorter batches: noisier figures\n"
		"  --filter SUBSTR  only rows whose name contains SUBSTR (repeatable: any may match);\n"
		"                   rows are named group/method, e.g. copy/64B/safecopy, atomic/cas64/builtin,\n"
		"                   fault/8B/sigsetjmp, mixed/8-64B/safecopy. A selected row brings its\n"
		"                   group's base row and goal reference along.\n"
		"  --json FILE      also write every row as JSON\n"
		"  --csv FILE       also write every row as CSV\n"
		"  --plot-dir DIR   where copy.svg/copy.png go (default build/bench)\n"
		"  --no-plot        do not run gnuplot\n"
		"  --list           print the suites and exit\n"
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

	struct utsname u;
	if (uname(&u) == 0)
		snprintf(i->kernel, sizeof i->kernel, "%s %s %s (%s)", u.sysname, u.release, u.machine, u.version);
	snprintf(i->glibc, sizeof i->glibc, "%s", gnu_get_libc_version());
#if defined(__clang__)
	snprintf(i->compiler, sizeof i->compiler, "clang %s%s", __clang_version__,
#else
	snprintf(i->compiler, sizeof i->compiler, "gcc %s%s", __VERSION__,
#endif
#if defined(__OPTIMIZE__)
		 ", optimized (release build)"
#else
		 ", NOT optimized"
#endif
	);
	read_load(i->load_start, sizeof i->load_start);
}

int main(int argc, char **argv)
{
	static struct bench_session s;
	const char *json = NULL, *csv = NULL, *plot_dir = "build/bench";
	bool plot = true;
	enum { OPT_JSON = 256, OPT_CSV, OPT_FILTER, OPT_PLOT_DIR, OPT_NO_PLOT, OPT_LIST };
	static const struct option opts[] = {
		{"quick", no_argument, NULL, 'q'},
		{"filter", required_argument, NULL, OPT_FILTER},
		{"json", required_argument, NULL, OPT_JSON},
		{"csv", required_argument, NULL, OPT_CSV},
		{"plot-dir", required_argument, NULL, OPT_PLOT_DIR},
		{"no-plot", no_argument, NULL, OPT_NO_PLOT},
		{"list", no_argument, NULL, OPT_LIST},
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
		case OPT_LIST:
			for (int k = 0; bench_suites[k]; k++)
				printf("%s\n", bench_suites[k]->name);
			return 0;
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

	/* Default: ~1 minute on 2 vCPUs; --quick: ~10 s. The median of many short batches is steadier
	 * on a shared machine than a few long ones. */
	if (s.quick)
		s.cfg = (struct measure_cfg){.batch_ns = 300000, .batches = 7, .slow_batches = 3, .warmup = 1};
	else
		s.cfg = (struct measure_cfg){.batch_ns = 2000000, .batches = 21, .slow_batches = 7, .warmup = 2};

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
	collect_info(&s.info);
	output_info(stdout, &s);
	output_table_head(stdout);
	uint64_t t0 = measure_now_ns();
	for (int k = 0; bench_suites[k]; k++)
		bench_suites[k]->run(&s);
	read_load(s.info.load_end, sizeof s.info.load_end);
	double secs = (double)(measure_now_ns() - t0) / 1e9;

	if (s.nrows == 0)
		printf("no row matches the filter (see --help for row names)\n");
	output_summary(stdout, &s);
	double load_start = atof(s.info.load_start), load_end = atof(s.info.load_end);
	if (load_start > 0.5 || load_end > 0.5)
		printf("warning:   the load average was high: other processes shared the CPUs, so figures are noisier\n"
		       "           than on an idle machine (ratios less so: methods of a group take turns)\n");
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
