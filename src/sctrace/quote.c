/* strace's quoting rules, so that a quoted string reads the same in both tools' output. */
#include "sctrace/quote.h"

static bool is_octal_digit(unsigned char c)
{
	return c >= '0' && c <= '7';
}

/* One byte as strace escapes it, written at o (at most 4 bytes); returns the end. */
static char *quote_byte(char *o, unsigned char c, bool octal_follows)
{
	switch (c) {
	case '"':
	case '\\':
		*o++ = '\\';
		*o++ = (char)c;
		return o;
	case '\f':
		*o++ = '\\';
		*o++ = 'f';
		return o;
	case '\n':
		*o++ = '\\';
		*o++ = 'n';
		return o;
	case '\r':
		*o++ = '\\';
		*o++ = 'r';
		return o;
	case '\t':
		*o++ = '\\';
		*o++ = 't';
		return o;
	case '\v':
		*o++ = '\\';
		*o++ = 'v';
		return o;
	}
	if (c >= ' ' && c < 0x7f) {
		*o++ = (char)c;
		return o;
	}
	*o++ = '\\';
	if (octal_follows || c >> 6)
		*o++ = (char)('0' + (c >> 6));
	if (octal_follows || c >> 3)
		*o++ = (char)('0' + ((c >> 3) & 7));
	*o++ = (char)('0' + (c & 7));
	return o;
}

static char *hex_byte(char *o, unsigned char c)
{
	*o++ = '\\';
	*o++ = 'x';
	*o++ = "0123456789abcdef"[c >> 4];
	*o++ = "0123456789abcdef"[c & 15];
	return o;
}

size_t sct_quote(struct sct_line *l, const unsigned char *s, size_t n, unsigned flags)
{
	/* Every byte takes at most 4 bytes of output: quote straight into the line when it has room for
	 * that, else a byte at a time through a small buffer (the line ends truncated). */
	char tmp[4];
	bool direct = l->cap - l->len >= 4 * n + 2;
	size_t i;
	sct_putc(l, '"');
	char *o = l->buf + l->len;
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (c == 0 &&
		    ((flags & SCT_QUOTE_NUL_ENDS) || (i == n - 1 && (flags & SCT_QUOTE_OMIT_TRAILING_NUL))))
			break;
		char *start = direct ? o : tmp;
		char *end = (flags & SCT_QUOTE_HEX)
		                ? hex_byte(start, c)
		                : quote_byte(start, c, i + 1 < n && is_octal_digit(s[i + 1]));
		if (direct) {
			o = end;
			continue;
		}
		sct_put(l, tmp, (size_t)(end - tmp));
		if (l->truncated)
			break;
	}
	if (direct)
		l->len = (size_t)(o - l->buf);
	sct_putc(l, '"');
	return i;
}
