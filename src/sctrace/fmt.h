/*
 * A line being built: bounded appends that never allocate, so that the hook can format in signal
 * context. When the buffer is full, further appends are dropped and the line is marked truncated
 * (sct_line_end then closes it with "..."): a line is never written in pieces.
 */
#ifndef SCTRACE_FMT_H
#define SCTRACE_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sct_line {
	char *buf;
	size_t len; /* bytes used */
	size_t cap; /* bytes available, including room kept for the "...\n" of a truncated line */
	bool truncated;
};

/* Starts an empty line over buf[0..cap) (cap >= 8). */
void sct_line_init(struct sct_line *l, char *buf, size_t cap);

/* Appends n bytes / a NUL-terminated string / one byte. */
void sct_put_slow(struct sct_line *l, const char *s, size_t n);
void sct_puts(struct sct_line *l, const char *s);

static inline void sct_put(struct sct_line *l, const char *s, size_t n)
{
	if (n <= l->cap - l->len) {
		__builtin_memcpy(l->buf + l->len, s, n);
		l->len += n;
	} else {
		sct_put_slow(l, s, n);
	}
}

static inline void sct_putc(struct sct_line *l, char c)
{
	if (l->len < l->cap)
		l->buf[l->len++] = c;
	else
		l->truncated = true;
}

/* Numbers: signed and unsigned decimal, "0x"-prefixed hex ("0" for zero, as %#lx), octal with a
 * leading 0 ("0644", "0" for zero), and zero-padded decimal of a given width. */
void sct_dec(struct sct_line *l, long long v);
void sct_udec(struct sct_line *l, unsigned long long v);
void sct_hex(struct sct_line *l, unsigned long long v);
void sct_oct(struct sct_line *l, unsigned long long v);
void sct_dec_width(struct sct_line *l, unsigned long long v, int width);

/* A pointer as strace prints one: NULL, or 0x... */
void sct_ptr(struct sct_line *l, uintptr_t p);

/* Pads with spaces up to column col (counted from the start of the line); nothing if already there. */
void sct_pad_to(struct sct_line *l, size_t col);

/* " <seconds.microseconds>", strace's -T. */
void sct_duration(struct sct_line *l, uint64_t ns);

/* Ends the line with '\n' (after "..." if it was truncated). */
void sct_line_end(struct sct_line *l);

#endif
