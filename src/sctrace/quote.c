/* strace's quoting rules, so that a quoted string reads the same in both tools' output. */
#include "sctrace/quote.h"

static bool is_octal_digit(unsigned char c)
{
	return c >= '0' && c <= '7';
}

static void put_octal(struct sct_line *l, unsigned char c, bool full)
{
	char d[4];
	int n = 0;
	if (full || c >> 6)
		d[n++] = (char)('0' + (c >> 6));
	if (full || c >> 3)
		d[n++] = (char)('0' + ((c >> 3) & 7));
	d[n++] = (char)('0' + (c & 7));
	sct_putc(l, '\\');
	sct_put(l, d, (size_t)n);
}

static void put_hex(struct sct_line *l, unsigned char c)
{
	char d[4] = {'\\', 'x', "0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15]};
	sct_put(l, d, 4);
}

size_t sct_quote(struct sct_line *l, const unsigned char *s, size_t n, unsigned flags)
{
	size_t i;
	sct_putc(l, '"');
	for (i = 0; i < n && !l->truncated; i++) {
		unsigned char c = s[i];
		if (c == 0 &&
		    ((flags & SCT_QUOTE_NUL_ENDS) || (i == n - 1 && (flags & SCT_QUOTE_OMIT_TRAILING_NUL))))
			break;
		if (flags & SCT_QUOTE_HEX) {
			put_hex(l, c);
			continue;
		}
		switch (c) {
		case '"':
		case '\\':
			sct_putc(l, '\\');
			sct_putc(l, (char)c);
			break;
		case '\f':
			sct_puts(l, "\\f");
			break;
		case '\n':
			sct_puts(l, "\\n");
			break;
		case '\r':
			sct_puts(l, "\\r");
			break;
		case '\t':
			sct_puts(l, "\\t");
			break;
		case '\v':
			sct_puts(l, "\\v");
			break;
		default:
			if (c >= ' ' && c < 0x7f)
				sct_putc(l, (char)c);
			else
				put_octal(l, c, i + 1 < n && is_octal_digit(s[i + 1]));
		}
	}
	sct_putc(l, '"');
	return i;
}
