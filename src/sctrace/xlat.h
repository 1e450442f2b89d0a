/* Named constants and flag sets, printed the way strace prints them. */
#ifndef SCTRACE_XLAT_H
#define SCTRACE_XLAT_H

#include <stdint.h>

#include "sctrace/fmt.h"

struct sct_xval {
	uint64_t val;
	const char *name;
};

struct sct_xlat {
	const struct sct_xval *v;
	unsigned n;
};

/* Defines `static const struct sct_xlat name` from a list of {value, "NAME"} pairs. */
#define SCT_XLAT(name, ...)                                           \
	static const struct sct_xval name##_values[] = {__VA_ARGS__}; \
	static const struct sct_xlat name = {name##_values, sizeof name##_values / sizeof name##_values[0]}

/* The same, with external linkage (a table the call table names). */
#define SCT_XLAT_PUBLIC(name, ...)                                    \
	static const struct sct_xval name##_values[] = {__VA_ARGS__}; \
	const struct sct_xlat name = {name##_values, sizeof name##_values / sizeof name##_values[0]}

/* A {value, "NAME"} pair named after the constant itself. */
#define SCT_X(c)                  \
	{                         \
		(uint64_t)(c), #c \
	}

/* The name of val, or NULL. */
const char *sct_xlat_name(const struct sct_xlat *x, uint64_t val);

/*
 * Flags as NAME|NAME|0x..., in table order; an entry of value 0 matches only a zero value. A value
 * with no name at all prints in hex followed by a comment holding dflt when dflt
 * is given (0x40, then the comment "O_???"); zero prints "0".
 */
void sct_print_flags(struct sct_line *l, const struct sct_xlat *x, uint64_t flags, const char *dflt);

/* A constant: its name, else the value in hex (or decimal for _d) with the comment dflt if given. */
void sct_print_xval(struct sct_line *l, const struct sct_xlat *x, uint64_t val, const char *dflt);
void sct_print_xval_d(struct sct_line *l, const struct sct_xlat *x, long long val, const char *dflt);

/* A comment as strace writes it: space, slash-star, space, text, space, star-slash. */
void sct_comment(struct sct_line *l, const char *text);

#endif
