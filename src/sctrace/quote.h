/* strace's string quoting, for the bytes of a string already read from the traced program. */
#ifndef SCTRACE_QUOTE_H
#define SCTRACE_QUOTE_H

#include <stddef.h>

#include "sctrace/fmt.h"

/* Stop at the first NUL byte (it is not printed). */
#define SCT_QUOTE_NUL_ENDS 0x1u
/* Every byte as \xNN (strace does this for random bytes, e.g. getrandom's buffer). */
#define SCT_QUOTE_HEX 0x2u
/* A NUL as the last byte is not shown (extended attribute values). */
#define SCT_QUOTE_OMIT_TRAILING_NUL 0x4u

/*
 * Appends s[0..n) between double quotes: \t \n \v \f \r \" \\ escaped, printable ASCII as is, any
 * other byte in octal with as few digits as cannot be misread (three when an octal digit follows).
 * Returns the number of bytes consumed (up to and excluding the NUL with SCT_QUOTE_NUL_ENDS).
 */
size_t sct_quote(struct sct_line *l, const unsigned char *s, size_t n, unsigned flags);

#endif
