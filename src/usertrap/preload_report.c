/* The preload tool's counts line (see preload_report.h). */
#include "usertrap/preload_report.h"

struct line {
	char *out;
	size_t n, len; /* len < n always: room for the terminator */
};

static void put_str(struct line *l, const char *s)
{
	while (*s && l->len + 1 < l->n)
		l->out[l->len++] = *s++;
}

static void put_u64(struct line *l, uint64_t v)
{
	char digits[20];
	int k = 0;
	do
		digits[k++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (k > 0 && l->len + 1 < l->n)
		l->out[l->len++] = digits[--k];
}

static void put_field(struct line *l, const char *name, uint64_t v)
{
	put_str(l, name);
	put_u64(l, v);
}

size_t preload_counts_line(char *out, size_t n, long pid, uint64_t calls, const struct usertrap_counters *c)
{
	struct line l = {out, n, 0};
	put_field(&l, "usertrap pid=", (uint64_t)pid);
	put_field(&l, " calls=", calls);
	put_field(&l, " trampoline=", c->trampoline_calls);
	put_field(&l, " sigsys=", c->sigsys_calls);
	put_field(&l, " patched=", c->sites_patched);
	put_field(&l, " in_place=", c->in_place_calls);
	put_field(&l, " restarts=", c->sigill_restarts);
	put_field(&l, " sigill=", c->sigill_calls);
	put_field(&l, " sigsys_native=", c->sigsys_native);
	put_field(&l, " patches=", c->patches);
	put_field(&l, " patch_failures=", c->patch_failures);
	put_field(&l, " capture_lost=", c->capture_lost);
	/* per mille, rounded half up (1000 times a count of calls does not overflow) */
	uint64_t permille = calls ? (c->trampoline_calls * 1000 + calls / 2) / calls : 0;
	put_field(&l, " fast=", permille / 10);
	put_field(&l, ".", permille % 10);
	put_str(&l, "%\n");
	out[l.len] = '\0';
	return l.len;
}
