/* Reading, masking and comparing traces (see trace.h). */
#include "sctrace/trace.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sctrace/util.h"

#define MAX_TASKS 64

struct raw_line {
	long pid; /* -1: no prefix */
	char *text;
};

/* Splits "PID rest" (the -o -f prefix). */
static struct raw_line split_prefix(char *line)
{
	struct raw_line r = {-1, line};
	char *p = line;
	if (!isdigit((unsigned char)*p))
		return r;
	long pid = strtol(p, &p, 10);
	if (*p != ' ')
		return r;
	while (*p == ' ')
		p++;
	r.pid = pid;
	r.text = p;
	return r;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	return n >= t && strcmp(s + n - t, tail) == 0;
}

/* The result of a call line: the number after the last " = ", or -1. */
static long result_of(const char *text)
{
	const char *last = NULL;
	for (const char *p = text; (p = strstr(p, " = ")); p++)
		last = p;
	if (!last)
		return -1;
	char *end;
	long v = strtol(last + 3, &end, 10);
	return end != last + 3 ? v : -1;
}

static void add_pid(long *pids, size_t *n, long pid)
{
	if (pid <= 1)
		return;
	for (size_t i = 0; i < *n; i++)
		if (pids[i] == pid)
			return;
	if (*n < 256)
		pids[(*n)++] = pid;
}

/* Process ids in the trace: prefixes, and what the calls that return or take them say. */
static size_t collect_pids(struct raw_line *v, size_t n, long *pids)
{
	static const char *const returning[] = {
	    "getpid(",          "getppid(", "gettid(",    "fork(",      "vfork(",     "clone(",     "clone3(",
	    "set_tid_address(", "wait4(",   "<... clone", "<... vfork", "<... wait4", "<... clone3"};
	size_t np = 0;
	for (size_t i = 0; i < n; i++) {
		add_pid(pids, &np, v[i].pid);
		for (size_t k = 0; k < sizeof returning / sizeof returning[0]; k++)
			if (strncmp(v[i].text, returning[k], strlen(returning[k])) == 0)
				add_pid(pids, &np, result_of(v[i].text));
		const char *pt = strstr(v[i].text, "parent_tid=[");
		if (pt)
			add_pid(pids, &np, strtol(pt + 12, NULL, 10));
	}
	return np;
}

/* Appends to a growing string. */
static void append(char **s, size_t *len, size_t *cap, const char *p, size_t n)
{
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*s = realloc(*s, *cap);
		cr_assert(*s);
	}
	memcpy(*s + *len, p, n);
	*len += n;
	(*s)[*len] = '\0';
}

static bool is_pid(long v, const long *pids, size_t np)
{
	for (size_t i = 0; i < np; i++)
		if (pids[i] == v)
			return true;
	return false;
}

/* Regions whose contents are times: masked whole. */
static const char *const time_fields[] = {"left {", "ru_utime={", "ru_stime={"};

char *trace_normalize(const char *line, const long *pids, size_t npids)
{
	char *out = NULL;
	size_t len = 0, cap = 0;
	const char *p = line;
	while (*p) {
		bool masked = false;
		for (size_t k = 0; k < sizeof time_fields / sizeof time_fields[0]; k++) {
			size_t fl = strlen(time_fields[k]);
			if (strncmp(p, time_fields[k], fl) == 0) {
				const char *close = strchr(p + fl, '}');
				if (close) {
					append(&out, &len, &cap, time_fields[k], fl);
					append(&out, &len, &cap, "TIME}", 5);
					p = close + 1;
					masked = true;
				}
				break;
			}
		}
		if (masked)
			continue;
		if (p[0] == '0' && p[1] == 'x') {
			const char *h = p + 2;
			while (isxdigit((unsigned char)*h))
				h++;
			if (h - p - 2 >= 5) {
				append(&out, &len, &cap, "0xADDR", 6);
				p = h;
				continue;
			}
		}
		if (isdigit((unsigned char)*p) && (p == line || !isalnum((unsigned char)p[-1]))) {
			const char *d = p;
			while (isdigit((unsigned char)*d))
				d++;
			if (!isalnum((unsigned char)*d) && is_pid(strtol(p, NULL, 10), pids, npids)) {
				append(&out, &len, &cap, "PID", 3);
				p = d;
				continue;
			}
			append(&out, &len, &cap, p, (size_t)(d - p));
			p = d;
			continue;
		}
		if (*p == ' ') {
			/* the padding before " = result" depends on the lengths of masked values */
			const char *s = p;
			while (*s == ' ')
				s++;
			if (s[0] == '=' && s[1] == ' ') {
				append(&out, &len, &cap, " ", 1);
				p = s;
				continue;
			}
		}
		append(&out, &len, &cap, p, 1);
		p++;
	}
	if (!out)
		append(&out, &len, &cap, "", 0);
	return out;
}

/* Task numbers by order of first appearance. */
static int task_of(long pid, long *tasks, int *ntasks)
{
	for (int i = 0; i < *ntasks; i++)
		if (tasks[i] == pid)
			return i;
	cr_assert(*ntasks < MAX_TASKS, "too many tasks");
	tasks[*ntasks] = pid;
	return (*ntasks)++;
}

struct trace trace_read(const char *path, bool markers)
{
	char *text = slurp(path, NULL);
	size_t cap = 64, n = 0;
	struct raw_line *raw = malloc(cap * sizeof *raw);
	cr_assert(raw);
	for (char *line = text; *line;) {
		char *end = strchr(line, '\n');
		if (end)
			*end = '\0';
		if (n == cap) {
			cap *= 2;
			raw = realloc(raw, cap * sizeof *raw);
			cr_assert(raw);
		}
		raw[n++] = split_prefix(line);
		if (!end)
			break;
		line = end + 1;
	}
	long pids[256];
	size_t np = collect_pids(raw, n, pids);
	struct trace t = {calloc(n + 1, sizeof *t.v), 0, 0};
	long tasks[MAX_TASKS];
	int ntasks = 0;
	char *pending[MAX_TASKS] = {0};
	bool loading[MAX_TASKS] = {0};
	for (size_t i = 0; i < n; i++) {
		int task = task_of(raw[i].pid, tasks, &ntasks);
		char *line = strdup(raw[i].text);
		cr_assert(line);
		if (ends_with(line, " <unfinished ...>")) {
			line[strlen(line) - strlen(" <unfinished ...>")] = '\0';
			free(pending[task]);
			pending[task] = line;
			continue;
		}
		if (strncmp(line, "<... ", 5) == 0 && pending[task]) {
			const char *rest = strstr(line, " resumed>");
			if (rest) {
				rest += strlen(" resumed>");
				size_t a = strlen(pending[task]), b = strlen(rest);
				char *joined = malloc(a + b + 1);
				cr_assert(joined);
				memcpy(joined, pending[task], a);
				memcpy(joined + a, rest, b + 1);
				free(line);
				free(pending[task]);
				pending[task] = NULL;
				line = joined;
			}
		}
		bool exec_ok = strncmp(line, "execve(", 7) == 0 && ends_with(line, " = 0");
		if (markers && loading[task]) {
			if (strstr(line, "sctrace-test-marker"))
				loading[task] = false;
			t.dropped++;
			free(line);
			continue;
		}
		if (markers && exec_ok)
			loading[task] = true;
		t.v[t.n].task = task;
		t.v[t.n].text = trace_normalize(line, pids, np);
		t.n++;
		free(line);
	}
	for (int k = 0; k < ntasks; k++)
		free(pending[k]);
	free(raw);
	free(text);
	return t;
}

void trace_free(struct trace *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].text);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

/* The lines of one task. */
static size_t task_lines(const struct trace *t, int task, const char **out)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].task == task)
			out[n++] = t->v[i].text;
	return n;
}

static void note_missing(struct trace_cmp *out, const char *line)
{
	size_t len = strlen(out->missing);
	if (len + strlen(line) + 8 < sizeof out->missing)
		snprintf(out->missing + len, sizeof out->missing - len, "  - %s\n", line);
}

/* LCS of a[0..n) and b[0..m): its length; the a lines not in it are noted. */
static size_t lcs(const char **a, size_t n, const char **b, size_t m, struct trace_cmp *out)
{
	if ((n + 1) * (m + 1) > 32u * 1024 * 1024) {
		/* too large to keep the table: the length only, in two rows */
		uint32_t *prev = calloc(m + 1, sizeof *prev), *cur = calloc(m + 1, sizeof *cur);
		cr_assert(prev && cur);
		for (size_t i = 1; i <= n; i++) {
			for (size_t j = 1; j <= m; j++)
				cur[j] = strcmp(a[i - 1], b[j - 1]) == 0
				             ? prev[j - 1] + 1
				             : (prev[j] > cur[j - 1] ? prev[j] : cur[j - 1]);
			uint32_t *s = prev;
			prev = cur;
			cur = s;
		}
		size_t r = prev[m];
		free(prev);
		free(cur);
		return r;
	}
	uint32_t *d = calloc((n + 1) * (m + 1), sizeof *d);
	cr_assert(d);
#define D(i, j) d[(i) * (m + 1) + (j)]
	for (size_t i = n; i-- > 0;)
		for (size_t j = m; j-- > 0;)
			D(i, j) = strcmp(a[i], b[j]) == 0
			              ? D(i + 1, j + 1) + 1
			              : (D(i + 1, j) > D(i, j + 1) ? D(i + 1, j) : D(i, j + 1));
	size_t r = D(0, 0);
	for (size_t i = 0, j = 0; i < n;) {
		if (j < m && strcmp(a[i], b[j]) == 0) {
			i++;
			j++;
		} else if (j < m && D(i, j + 1) >= D(i + 1, j)) {
			j++;
		} else {
			note_missing(out, a[i]);
			i++;
		}
	}
#undef D
	free(d);
	return r;
}

void trace_compare(const struct trace *ref, const struct trace *got, struct trace_cmp *out)
{
	memset(out, 0, sizeof *out);
	const char **a = malloc((ref->n + 1) * sizeof *a), **b = malloc((got->n + 1) * sizeof *b);
	cr_assert(a && b);
	int tasks = 0;
	for (size_t i = 0; i < ref->n; i++)
		if (ref->v[i].task + 1 > tasks)
			tasks = ref->v[i].task + 1;
	for (int k = 0; k < tasks; k++) {
		size_t n = task_lines(ref, k, a), m = task_lines(got, k, b);
		out->ref_lines += n;
		out->matched += lcs(a, n, b, m, out);
	}
	free(a);
	free(b);
}
