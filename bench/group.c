/* Groups: filtering, correctness checks, measurement, ratios and goals; and small services for row files. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "output.h"
#include "safecopy.h"
#include "session.h"

void bench_group_init(struct bench_group *g, const char *name, size_t bytes, const char *base)
{
	memset(g, 0, sizeof *g);
	snprintf(g->name, sizeof g->name, "%s", name);
	g->bytes = bytes;
	g->base = base;
}

struct bench_case *bench_group_add(struct bench_group *g, const char *method, void (*run)(void *, uint64_t),
                                   void *ctx)
{
	if (g->ncases == BENCH_MAX_CASES) {
		fprintf(stderr, "bench: group %s has more than %d methods\n", g->name, BENCH_MAX_CASES);
		exit(2);
	}
	struct bench_case *c = &g->cases[g->ncases++];
	memset(c, 0, sizeof *c);
	c->method = method;
	c->run = run;
	c->ctx = ctx;
	return c;
}

struct bench_case *bench_group_add_handled(struct bench_group *g, const char *method,
                                           void (*run)(void *, uint64_t), void *ctx, void (*enter)(void *),
                                           void (*leave)(void *), const char *(*check)(void *))
{
	struct bench_case *c = bench_group_add(g, method, run, ctx);
	c->enter = enter;
	c->leave = leave;
	c->check = check;
	return c;
}

const struct bench_size bench_sizes[BENCH_NSIZES] = {
    {"8B", 8, true},
    {"16B", 16, false},
    {"32B", 32, false},
    {"64B", 64, true},
    {"128B", 128, false},
    {"256B", 256, false},
    {"512B", 512, true},
    {"1KiB", 1 << 10, false},
    {"2KiB", 2 << 10, false},
    {"4KiB", 4 << 10, true},
    {"8KiB", 8 << 10, false},
    {"16KiB", 16 << 10, false},
    {"32KiB", 32 << 10, false},
    {"64KiB", 64 << 10, true},
    {"128KiB", 128 << 10, false},
    {"256KiB", 256 << 10, false},
    {"512KiB", 512 << 10, false},
    {"1MiB", 1 << 20, true},
    {"2MiB", 2 << 20, false},
    {"4MiB", 4 << 20, false},
    {"8MiB", 8 << 20, false},
    {"16MiB", 16 << 20, false},
    {"32MiB", 32 << 20, false},
    {"64MiB", 64 << 20, true},
};

bool bench_size_is_key(size_t n)
{
	for (size_t k = 0; k < BENCH_NSIZES; k++)
		if (bench_sizes[k].n == n)
			return bench_sizes[k].key;
	return false;
}

static bool row_selected(const struct bench_session *s, const char *group, const char *method)
{
	if (s->nfilters == 0)
		return true;
	char name[96];
	snprintf(name, sizeof name, "%s/%s", group, method);
	for (int i = 0; i < s->nfilters; i++)
		if (strstr(name, s->filters[i]))
			return true;
	return false;
}

static int find_case(const struct bench_group *g, const char *method)
{
	for (int i = 0; method && i < g->ncases; i++)
		if (strcmp(g->cases[i].method, method) == 0)
			return i;
	return -1;
}

/* Whether g gets the A/A control row (--aa, and g has a base to time twice) and does not have it yet. */
static bool aa_row_due(const struct bench_session *s, const struct bench_group *g)
{
	return s->aa && find_case(g, g->base) >= 0 && find_case(g, BENCH_AA_METHOD) < 0;
}

/* Counts (and under --list prints) the row g/method if --filter selects it. */
static bool select_row(struct bench_session *s, const struct bench_group *g, const char *method)
{
	if (!row_selected(s, g->name, method))
		return false;
	if (s->list_only)
		s->nlisted++;
	if (s->list_only && !s->list_quiet)
		printf("%s/%s\n", g->name, method);
	return true;
}

int bench_count_selected(struct bench_session *s, void (*list)(struct bench_session *s))
{
	bool list_only = s->list_only;
	s->list_only = s->list_quiet = true;
	s->nlisted = 0;
	list(s);
	s->list_only = list_only;
	s->list_quiet = false;
	return s->nlisted;
}

bool bench_group_selected(struct bench_session *s, const struct bench_group *g)
{
	bool any = false;
	for (int i = 0; i < g->ncases; i++)
		any |= select_row(s, g, g->cases[i].method);
	if (aa_row_due(s, g))
		any |= select_row(s, g, BENCH_AA_METHOD);
	/* --list: the suite then skips its set-up and the measurement. */
	return any && !s->list_only;
}

/*
 * The A/A control: the base method once more, as the group's last method, through its twin (the same
 * source compiled a second time) where the row file provides one. Both copies take turns with the
 * others like any method, so the control's ratio to the base is the error the harness itself adds to
 * the group's ratios: turn order, cache state left by the method before, and the code's address.
 */
static void add_aa_row(struct bench_group *g)
{
	const struct bench_case *b = &g->cases[find_case(g, g->base)];
	struct bench_case copy = *b;
	if (b->twin)
		copy.run = b->twin;
	copy.twin = NULL;
	copy.goal = (struct bench_goal){GOAL_NONE, NULL, 0};
	*bench_group_add(g, BENCH_AA_METHOD, copy.run, copy.ctx) = copy;
	g->cases[g->ncases - 1].method = BENCH_AA_METHOD;
}

/* Two decimals, or as many more (up to 4) as it takes for a value just past its limit not to print
 * as equal to it. */
static void ratio_text(char *buf, size_t n, double v, double limit)
{
	if (v >= 9.995) {
		snprintf(buf, n, v < 99.95 ? "%.1fx" : "%.0fx", v);
		return;
	}
	int digits = 2;
	while (digits < 4 && v != limit && fabs(round(v * pow(10, digits)) / pow(10, digits) - limit) < 1e-9)
		digits++;
	snprintf(buf, n, "%.*fx", digits, v);
}

/* Fills the goal columns of r; ratio = time(r) / time(ref), ref_measured: whether ref was measured. */
static void eval_goal(struct bench_row *r, bool ref_measured, double ratio)
{
	const struct bench_goal *g = &r->goal;
	if (g->kind == GOAL_NONE) {
		r->goal_state = GOAL_STATE_NONE;
		return;
	}
	char v[16];
	if (!ref_measured) {
		r->goal_state = GOAL_STATE_NA;
		snprintf(r->goal_text, sizeof r->goal_text, "%s not measured", g->ref);
		return;
	}
	bool met = false;
	switch (g->kind) {
	case GOAL_AT_MOST:
		r->goal_value = ratio;
		met = r->goal_value <= g->limit;
		ratio_text(v, sizeof v, r->goal_value, g->limit);
		snprintf(r->goal_text, sizeof r->goal_text, "%s %s's time (goal <= %gx)", v, g->ref,
		         g->limit);
		break;
	case GOAL_REF_FASTER:
		r->goal_value = ratio;
		met = r->goal_value >= g->limit;
		ratio_text(v, sizeof v, r->goal_value, g->limit);
		snprintf(r->goal_text, sizeof r->goal_text, "%s %s faster (goal >= %gx)", g->ref, v,
		         g->limit);
		break;
	case GOAL_THROUGHPUT:
		r->goal_value = 1 / ratio;
		met = r->goal_value >= g->limit;
		ratio_text(v, sizeof v, r->goal_value, g->limit);
		snprintf(r->goal_text, sizeof r->goal_text, "%s %s's GB/s (goal >= %gx)", v, g->ref,
		         g->limit);
		break;
	case GOAL_NONE:
		break;
	}
	r->goal_state = met ? GOAL_STATE_MET : GOAL_STATE_MISSED;
}

struct bench_row *bench_session_new_row(struct bench_session *s)
{
	if (s->nrows == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 128;
		s->rows = realloc(s->rows, (size_t)s->cap * sizeof *s->rows);
		if (!s->rows)
			abort();
	}
	struct bench_row *r = &s->rows[s->nrows++];
	memset(r, 0, sizeof *r);
	return r;
}

void bench_session_aa_ratio(struct bench_session *s, double ratio, const char *group)
{
	if (ratio > 0 && fabs(log(ratio)) > fabs(log(s->aa_worst ? s->aa_worst : 1))) {
		s->aa_worst = ratio;
		snprintf(s->aa_worst_at, sizeof s->aa_worst_at, "%s", group);
	}
}

void bench_group_run(struct bench_session *s, struct bench_group *g)
{
	if (s->list_only) {
		(void)bench_group_selected(s, g); /* prints the names */
		return;
	}
	if (aa_row_due(s, g))
		add_aa_row(g);
	bool need[BENCH_MAX_CASES] = {false};
	bool any = false;
	int base = find_case(g, g->base);
	for (int i = 0; i < g->ncases; i++) {
		if (!row_selected(s, g->name, g->cases[i].method))
			continue;
		any = need[i] = true;
		/* A selected row brings the rows its ratio and goal are computed against. */
		if (base >= 0)
			need[base] = true;
		int ref = find_case(g, g->cases[i].goal.ref);
		if (ref >= 0)
			need[ref] = true;
	}
	if (!any)
		return;
	/* On a very busy machine the full run would take many minutes: keep to the budget instead. */
	if (!s->over_budget && s->budget_ns && measure_now_ns() - s->start_ns > s->budget_ns) {
		s->over_budget = true;
		s->cfg = s->quick_cfg;
		bench_note(
		    s,
		    "the run passed its time budget (%.0f s; the machine is busy) at %s: that group and"
		    " the ones after it were measured with --quick's settings",
		    (double)s->budget_ns / 1e9, g->name);
	}

	struct measure_item items[BENCH_MAX_CASES];
	int idx[BENCH_MAX_CASES], n = 0;
	for (int i = 0; i < g->ncases; i++) {
		struct bench_case *c = &g->cases[i];
		if (!need[i])
			continue;
		if (c->check) {
			if (c->enter)
				c->enter(c->ctx);
			const char *err = c->check(c->ctx);
			if (c->leave)
				c->leave(c->ctx);
			if (err) {
				printf("%s/%s: CHECK FAILED: %s (row dropped)\n", g->name, c->method, err);
				bench_note(s, "CHECK FAILED %s/%s: %s", g->name, c->method, err);
				s->failures++;
				continue;
			}
		}
		items[n] =
		    (struct measure_item){.run = c->run, .ctx = c->ctx, .enter = c->enter, .leave = c->leave};
		idx[n++] = i;
	}
	fflush(stdout);
	if (n == 0)
		return;
	if (g->runs > 0)
		measure_runs(items, n, g->runs);
	else
		measure_items(&s->cfg, items, n);
	if (!safecopy_handler_active()) {
		fprintf(
		    stderr,
		    "bench: safecopy's signal handler is no longer installed after group %s (bench bug)\n",
		    g->name);
		exit(2);
	}

	int base_k = -1;
	for (int k = 0; k < n; k++)
		if (idx[k] == base)
			base_k = k;
	int first = s->nrows;
	for (int k = 0; k < n; k++) {
		const struct bench_case *c = &g->cases[idx[k]];
		struct bench_row *r = bench_session_new_row(s);
		snprintf(r->name, sizeof r->name, "%s/%s", g->name, c->method);
		snprintf(r->group, sizeof r->group, "%s", g->name);
		snprintf(r->method, sizeof r->method, "%s", c->method);
		snprintf(r->base, sizeof r->base, "%s", g->base ? g->base : "");
		r->is_base = idx[k] == base;
		r->bytes = g->bytes;
		r->st = items[k].stats;
		r->gbps = g->bytes ? (double)g->bytes / r->st.median_ns : 0;
		r->goal = c->goal;
		/* Ratios from the rounds both rows ran in (measure_paired_ratio), not from the medians. */
		r->ratio = base_k >= 0 ? measure_paired_ratio(&items[k], &items[base_k]) : 0;
		int ref_k = -1;
		for (int j = 0; r->goal.kind != GOAL_NONE && j < n; j++)
			if (strcmp(g->cases[idx[j]].method, r->goal.ref) == 0)
				ref_k = j;
		eval_goal(r, ref_k >= 0, ref_k >= 0 ? measure_paired_ratio(&items[k], &items[ref_k]) : 0);
		if (strcmp(r->method, BENCH_AA_METHOD) == 0)
			bench_session_aa_ratio(s, r->ratio, r->group);
	}
	measure_release(items, n);
	for (int k = first; k < s->nrows; k++)
		output_table_row(stdout, &s->rows[k]);
	putchar('\n');
	fflush(stdout);
}

/* The ratio of `method`'s row to its group's base among rows [first, s->nrows); 0 if not measured. */
static double method_ratio(const struct bench_session *s, int first, const char *method)
{
	for (int k = first; k < s->nrows; k++)
		if (!s->rows[k].is_base && strcmp(s->rows[k].method, method) == 0)
			return s->rows[k].ratio;
	return 0;
}

size_t bench_size_groups(struct bench_session *s, const char *prefix, const char *base,
                         void (*add)(struct bench_group *g, size_t n, void *ctx),
                         void (*buffers)(void *ctx, size_t n, bool get), void *ctx)
{
	size_t largest = 0;
	double worst = 0;
	const char *worst_at = NULL;
	int measured = 0;
	char tagged[32];
	snprintf(tagged, sizeof tagged, "%s%s", prefix, s->group_tag);
	for (size_t k = 0; k < BENCH_NSIZES; k++) {
		size_t n = bench_sizes[k].n;
		struct bench_group g;
		char name[48];
		snprintf(name, sizeof name, "%s/%s", tagged, bench_sizes[k].label);
		bench_group_init(&g, name, n, base);
		add(&g, n, ctx);
		if (!bench_group_selected(s, &g))
			continue;
		buffers(ctx, n, true);
		int first = s->nrows;
		bench_group_run(s, &g);
		buffers(ctx, n, false);
		largest = n;
		double r = method_ratio(s, first, "safecopy");
		measured += r > 0;
		if (r > worst) {
			worst = r;
			worst_at = bench_sizes[k].label;
		}
	}
	if (worst_at)
		bench_note(s, "%s/*: safecopy's worst ratio to %s over the %d sizes measured: %.2fx (%s)",
		           tagged, base, measured, worst, worst_at);
	return largest;
}

bool bench_in_fallback_part(const struct bench_session *s)
{
	return s->group_tag[0] != '\0';
}

bool bench_is_quick(const struct bench_session *s)
{
	return s->quick;
}

void bench_note(struct bench_session *s, const char *fmt, ...)
{
	if (s->nnotes == (int)(sizeof s->notes / sizeof s->notes[0]))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->notes[s->nnotes++], sizeof s->notes[0], fmt, ap);
	va_end(ap);
}

void *bench_alloc(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("bench: mmap");
		exit(2);
	}
	memset(p, 0x5a, n);
	return p;
}

void bench_free(void *p, size_t n)
{
	munmap(p, n);
}
