/* Command-line parsing: strace's short options and their long spellings, and -e expressions. */
#include "sctrace/options.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sctrace/classes.h"

const char sct_usage[] =
    "Usage: sctrace [-cCfqqTtttyh] [-e EXPR]... [-o FILE] [-s STRSIZE] [--] COMMAND [ARGS...]\n"
    "Runs COMMAND with a tracer loaded into it and prints its system calls as strace does.\n"
    "\n"
    "  -o FILE, --output=FILE     write the trace to FILE instead of stderr\n"
    "  -f, --follow-forks         trace child processes and threads too\n"
    "  -ff, --output-separately   with -o, one file per process: FILE.PID\n"
    "  -c, --summary-only         count time, calls and errors per call; print a table at the end\n"
    "  -C, --summary              the table and the trace\n"
    "  -e trace=SET, --trace=SET  calls to show: names, %file %network %process %memory %signal\n"
    "                             %desc %ipc %creds %clock %pure..., all, none; !SET inverts\n"
    "  -e status=SET, --status=SET  outcomes to show: successful, failed, unfinished; !SET inverts\n"
    "  -Z, --failed-only          -e status=failed\n"
    "  -z, --successful-only      -e status=successful\n"
    "  -s N, --string-limit=N     print at most N bytes of each string (default 32)\n"
    "  -T, --syscall-times        time spent in each call\n"
    "  -t, -tt, -ttt              time of day, with microseconds, as seconds since the epoch\n"
    "  -y, --decode-fds           print the paths of file descriptors\n"
    "  -q, -qq, --quiet           -qq: no \"+++ exited with N +++\" lines\n"
    "  -h, --help                 this text\n"
    "  -V, --version              the version\n"
    "\n"
    "Limits: statically linked programs cannot be traced; calls made before the tracer's constructor\n"
    "runs (the dynamic loader's) are not shown.\n";

static enum sct_parse_result fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum sct_parse_result fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return SCT_PARSE_ERROR;
}

static void set_all(uint64_t *set, bool on)
{
	memset(set, on ? 0xff : 0, sizeof(uint64_t) * (SCT_NR_COUNT / 64));
}

/* One element of a trace set: a name, %class, "all" or "none". */
static bool add_trace_item(const char *item, uint64_t *set)
{
	if (strcmp(item, "all") == 0) {
		set_all(set, true);
		return true;
	}
	if (strcmp(item, "none") == 0)
		return true;
	if (item[0] == '%')
		return sct_class_add(item + 1, set);
	long nr = sct_syscall_lookup(item);
	if (nr < 0)
		return sct_class_add(item, set); /* strace still takes "file" for "%file" */
	set[nr / 64] |= 1ULL << (nr % 64);
	return true;
}

/* Splits a comma-separated SET; a leading '!' inverts the whole set. */
static enum sct_parse_result parse_trace_set(const char *spec, struct sct_options *o, char *err,
                                             size_t errlen)
{
	bool invert = spec[0] == '!';
	if (invert)
		spec++;
	uint64_t set[SCT_NR_COUNT / 64];
	set_all(set, false);
	char item[64];
	const char *p = spec;
	do {
		size_t n = strcspn(p, ",");
		if (n == 0 || n >= sizeof item)
			return fail(err, errlen, "invalid system call '%.*s'", (int)n, p);
		memcpy(item, p, n);
		item[n] = '\0';
		if (!add_trace_item(item, set))
			return fail(err, errlen, "invalid system call '%s'", item);
		p += n;
	} while (*p++ == ',');
	for (int i = 0; i < SCT_NR_COUNT / 64; i++)
		o->trace[i] = invert ? ~set[i] : set[i];
	return SCT_PARSE_OK;
}

static enum sct_parse_result parse_status_set(const char *spec, struct sct_options *o, char *err,
                                              size_t errlen)
{
	static const struct {
		const char *name;
		unsigned bits;
	} names[] = {{"successful", SCT_STATUS_SUCCESSFUL},
	             {"failed", SCT_STATUS_FAILED},
	             {"unfinished", SCT_STATUS_UNFINISHED},
	             {"all", SCT_STATUS_ALL},
	             {"none", 0}};
	bool invert = spec[0] == '!';
	if (invert)
		spec++;
	unsigned bits = 0;
	const char *p = spec;
	do {
		size_t n = strcspn(p, ",");
		size_t i;
		for (i = 0; i < sizeof names / sizeof names[0]; i++)
			if (strlen(names[i].name) == n && strncmp(names[i].name, p, n) == 0)
				break;
		if (i == sizeof names / sizeof names[0])
			return fail(err, errlen, "invalid status '%.*s'", (int)n, p);
		bits |= names[i].bits;
		p += n;
	} while (*p++ == ',');
	o->status = invert ? (SCT_STATUS_ALL & ~bits) : bits;
	return SCT_PARSE_OK;
}

/* -e EXPR: trace=SET, status=SET, or a bare SET (meaning trace=SET). */
static enum sct_parse_result parse_expr(const char *expr, struct sct_options *o, char *err, size_t errlen)
{
	if (strncmp(expr, "trace=", 6) == 0)
		return parse_trace_set(expr + 6, o, err, errlen);
	if (strncmp(expr, "t=", 2) == 0)
		return parse_trace_set(expr + 2, o, err, errlen);
	if (strncmp(expr, "status=", 7) == 0)
		return parse_status_set(expr + 7, o, err, errlen);
	const char *eq = strchr(expr, '=');
	if (eq)
		return fail(err, errlen, "invalid -e qualifier '%.*s' (sctrace knows trace= and status=)",
		            (int)(eq - expr), expr);
	return parse_trace_set(expr, o, err, errlen);
}

static enum sct_parse_result parse_strlen(const char *s, struct sct_options *o, char *err, size_t errlen)
{
	char *end;
	if (*s < '0' || *s > '9')
		return fail(err, errlen, "invalid -s argument: '%s'", s);
	unsigned long v = strtoul(s, &end, 10);
	if (*end || v > 1000000)
		return fail(err, errlen, "invalid -s argument: '%s'", s);
	o->max_strlen = (unsigned)v;
	return SCT_PARSE_OK;
}

/* The long options, each mapped to the short option it spells (arg: takes a value). */
static const struct {
	const char *name;
	char opt;
	bool arg;
} long_opts[] = {
    {"output", 'o', true},        {"follow-forks", 'f', false},  {"output-separately", 'F', false},
    {"summary-only", 'c', false}, {"summary", 'C', false},       {"trace", 'E', true},
    {"status", 'S', true},        {"failed-only", 'Z', false},   {"successful-only", 'z', false},
    {"string-limit", 's', true},  {"syscall-times", 'T', false}, {"decode-fds", 'y', false},
    {"quiet", 'q', false},        {"help", 'h', false},          {"version", 'V', false},
};

static enum sct_parse_result apply(char opt, const char *val, struct sct_options *o, int *follow_count,
                                   char *err, size_t errlen)
{
	switch (opt) {
	case 'o':
		o->output = val;
		return SCT_PARSE_OK;
	case 'f':
		++*follow_count;
		return SCT_PARSE_OK;
	case 'F': /* --output-separately */
		*follow_count = 2;
		return SCT_PARSE_OK;
	case 'c':
	case 'C': {
		enum sct_summary want = opt == 'c' ? SCT_SUMMARY_ONLY : SCT_SUMMARY_ALSO;
		if (o->summary != SCT_SUMMARY_NONE && o->summary != want)
			return fail(err, errlen, "-c/--summary-only and -C/--summary are mutually exclusive");
		o->summary = want;
		return SCT_PARSE_OK;
	}
	case 'e':
		return parse_expr(val, o, err, errlen);
	case 'E':
		return parse_trace_set(val, o, err, errlen);
	case 'S':
		return parse_status_set(val, o, err, errlen);
	case 'Z':
		o->status = SCT_STATUS_FAILED;
		return SCT_PARSE_OK;
	case 'z':
		o->status = SCT_STATUS_SUCCESSFUL;
		return SCT_PARSE_OK;
	case 's':
		return parse_strlen(val, o, err, errlen);
	case 'T':
		o->syscall_times = true;
		return SCT_PARSE_OK;
	case 't':
		if (o->timestamps < 3)
			o->timestamps++;
		return SCT_PARSE_OK;
	case 'y':
		o->decode_fds = true;
		return SCT_PARSE_OK;
	case 'q':
		o->quiet++;
		return SCT_PARSE_OK;
	case 'h':
		return SCT_PARSE_HELP;
	case 'V':
		return SCT_PARSE_VERSION;
	}
	return fail(err, errlen, "invalid option -- '%c'", opt);
}

/* "--name" or "--name=value"; the value may also be the next argument. */
static enum sct_parse_result parse_long(int argc, char **argv, int *i, struct sct_options *o,
                                        int *follow_count, char *err, size_t errlen)
{
	const char *name = argv[*i] + 2;
	size_t n = strcspn(name, "=");
	for (size_t k = 0; k < sizeof long_opts / sizeof long_opts[0]; k++) {
		if (strlen(long_opts[k].name) != n || strncmp(long_opts[k].name, name, n) != 0)
			continue;
		const char *val = NULL;
		if (long_opts[k].arg) {
			if (name[n] == '=')
				val = name + n + 1;
			else if (*i + 1 < argc)
				val = argv[++*i];
			else
				return fail(err, errlen, "option '--%s' requires an argument",
				            long_opts[k].name);
		} else if (name[n] == '=') {
			return fail(err, errlen, "option '--%s' doesn't allow an argument",
			            long_opts[k].name);
		}
		return apply(long_opts[k].opt, val, o, follow_count, err, errlen);
	}
	return fail(err, errlen, "unrecognized option '%s'", argv[*i]);
}

/* A bundle of short options: "-ff", "-fo" FILE, "-s64", "-etrace=open". */
static enum sct_parse_result parse_short(int argc, char **argv, int *i, struct sct_options *o,
                                         int *follow_count, char *err, size_t errlen)
{
	const char *p = argv[*i] + 1;
	for (; *p; p++) {
		char opt = *p;
		if (strchr("oes", opt)) {
			const char *val = p[1] ? p + 1 : NULL;
			if (!val) {
				if (*i + 1 >= argc)
					return fail(err, errlen, "option requires an argument -- '%c'", opt);
				val = argv[++*i];
			}
			return apply(opt, val, o, follow_count, err, errlen);
		}
		if (!strchr("fcCZzTtyqhV", opt))
			return fail(err, errlen, "invalid option -- '%c'", opt);
		enum sct_parse_result r = apply(opt, NULL, o, follow_count, err, errlen);
		if (r != SCT_PARSE_OK)
			return r;
	}
	return SCT_PARSE_OK;
}

enum sct_parse_result sct_parse_options(int argc, char **argv, struct sct_options *o, char *err,
                                        size_t errlen)
{
	memset(o, 0, sizeof *o);
	o->max_strlen = SCT_DEFAULT_STRLEN;
	o->status = SCT_STATUS_ALL;
	set_all(o->trace, true);
	int follow_count = 0;
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		enum sct_parse_result r = a[1] == '-'
		                              ? parse_long(argc, argv, &i, o, &follow_count, err, errlen)
		                              : parse_short(argc, argv, &i, o, &follow_count, err, errlen);
		if (r != SCT_PARSE_OK)
			return r;
	}
	o->follow = follow_count > 0;
	o->separate = follow_count > 1 && o->output != NULL;
	if (i >= argc)
		return fail(err, errlen, "must have PROG [ARGS]");
	o->cmd = i;
	return SCT_PARSE_OK;
}
