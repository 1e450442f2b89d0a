/* Bounded line formatting without libc's stdio (async-signal-safe). */
#include "sctrace/fmt.h"

#include <string.h>

/* Kept free at the end of every buffer for "...\n", so a truncated line can always be closed. */
#define SCT_LINE_RESERVE 4

void sct_line_init(struct sct_line *l, char *buf, size_t cap)
{
	l->buf = buf;
	l->len = 0;
	l->cap = cap - SCT_LINE_RESERVE;
	l->truncated = false;
}

void sct_put_slow(struct sct_line *l, const char *s, size_t n)
{
	if (n > l->cap - l->len) {
		n = l->cap - l->len;
		l->truncated = true;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

void sct_puts(struct sct_line *l, const char *s)
{
	sct_put(l, s, strlen(s));
}

/* Digits of v in base b, most significant first, into out (at least 1 digit); returns the count. */
static int digits(unsigned long long v, unsigned b, char out[24])
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v % b];
		v /= b;
	} while (v);
	for (int i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

void sct_udec(struct sct_line *l, unsigned long long v)
{
	char d[24];
	sct_put(l, d, (size_t)digits(v, 10, d));
}

void sct_dec(struct sct_line *l, long long v)
{
	if (v < 0) {
		sct_putc(l, '-');
		sct_udec(l, -(unsigned long long)v);
	} else {
		sct_udec(l, (unsigned long long)v);
	}
}

void sct_hex(struct sct_line *l, unsigned long long v)
{
	char d[24];
	if (v)
		sct_put(l, "0x", 2);
	sct_put(l, d, (size_t)digits(v, 16, d));
}

void sct_oct(struct sct_line *l, unsigned long long v)
{
	char d[24];
	if (v)
		sct_putc(l, '0');
	sct_put(l, d, (size_t)digits(v, 8, d));
}

void sct_dec_width(struct sct_line *l, unsigned long long v, int width)
{
	char d[24];
	int n = digits(v, 10, d);
	for (int i = n; i < width; i++)
		sct_putc(l, '0');
	sct_put(l, d, (size_t)n);
}

void sct_ptr(struct sct_line *l, uintptr_t p)
{
	if (p)
		sct_hex(l, p);
	else
		sct_puts(l, "NULL");
}

void sct_pad_to(struct sct_line *l, size_t col)
{
	while (l->len < col && l->len < l->cap)
		l->buf[l->len++] = ' ';
}

void sct_duration(struct sct_line *l, uint64_t ns)
{
	sct_puts(l, " <");
	sct_udec(l, ns / 1000000000ULL);
	sct_putc(l, '.');
	sct_dec_width(l, ns % 1000000000ULL / 1000, 6);
	sct_putc(l, '>');
}

void sct_line_end(struct sct_line *l)
{
	char *end = l->buf + l->len;
	if (l->truncated) {
		memcpy(end, "...", 3);
		end += 3;
	}
	*end++ = '\n';
	l->len = (size_t)(end - l->buf);
}
