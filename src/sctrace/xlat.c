/* Printing named constants and flag sets. */
#include "sctrace/xlat.h"

const char *sct_xlat_name(const struct sct_xlat *x, uint64_t val)
{
	for (unsigned i = 0; i < x->n; i++)
		if (x->v[i].val == val)
			return x->v[i].name;
	return NULL;
}

void sct_comment(struct sct_line *l, const char *text)
{
	sct_puts(l, " /* ");
	sct_puts(l, text);
	sct_puts(l, " */");
}

void sct_print_flags(struct sct_line *l, const struct sct_xlat *x, uint64_t flags, const char *dflt)
{
	unsigned named = 0;
	for (unsigned i = 0; i < x->n && (flags || !named); i++) {
		uint64_t v = x->v[i].val;
		if (flags == v || (v && (flags & v) == v)) {
			if (named++)
				sct_putc(l, '|');
			sct_puts(l, x->v[i].name);
			flags &= ~v;
			if (!flags)
				break;
		}
	}
	if (named) {
		if (flags) {
			sct_putc(l, '|');
			sct_hex(l, flags);
		}
	} else if (flags) {
		sct_hex(l, flags);
		if (dflt)
			sct_comment(l, dflt);
	} else {
		sct_putc(l, '0');
	}
}

void sct_print_xval(struct sct_line *l, const struct sct_xlat *x, uint64_t val, const char *dflt)
{
	const char *name = sct_xlat_name(x, val);
	if (name) {
		sct_puts(l, name);
		return;
	}
	sct_hex(l, val);
	if (dflt)
		sct_comment(l, dflt);
}

void sct_print_xval_d(struct sct_line *l, const struct sct_xlat *x, long long val, const char *dflt)
{
	const char *name = sct_xlat_name(x, (uint64_t)val);
	if (name) {
		sct_puts(l, name);
		return;
	}
	sct_dec(l, val);
	if (dflt)
		sct_comment(l, dflt);
}
