/* strace's quoting and the line formatter (src/sctrace/quote.c, fmt.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "sctrace/fmt.h"
#include "sctrace/quote.h"

static char buf[256];

static const char *quoted(const void *s, size_t n, unsigned flags)
{
	struct sct_line l;
	sct_line_init(&l, buf, sizeof buf);
	sct_quote(&l, s, n, flags);
	buf[l.len] = '\0';
	return buf;
}

Test(quote, escapes_and_printable)
{
	cr_assert_str_eq(quoted("a\tb\nc\"d\\e\rf\vg\fh", 15, 0), "\"a\\tb\\nc\\\"d\\\\e\\rf\\vg\\fh\"");
	cr_assert_str_eq(quoted("plain text ~!", 13, 0), "\"plain text ~!\"");
}

Test(quote, octal_as_short_as_unambiguous)
{
	/* strace: \177ELF\2\1\1\3\0 ... ; three digits only when an octal digit follows */
	cr_assert_str_eq(quoted("\177ELF\2\1\0", 7, 0), "\"\\177ELF\\2\\1\\0\"");
	cr_assert_str_eq(quoted("\0"
	                        "1",
	                        2, 0),
	                 "\"\\0001\"");
	cr_assert_str_eq(quoted("\0"
	                        "8",
	                        2, 0),
	                 "\"\\08\"");
	cr_assert_str_eq(quoted("\377\200", 2, 0), "\"\\377\\200\"");
	cr_assert_str_eq(quoted("\033[", 2, 0), "\"\\33[\"");
}

Test(quote, nul_ends_and_hex)
{
	cr_assert_str_eq(quoted("ab\0cd", 5, SCT_QUOTE_NUL_ENDS), "\"ab\"");
	cr_assert_str_eq(quoted("ab\0cd", 5, 0), "\"ab\\0cd\"");
	cr_assert_str_eq(quoted("\x01\xab", 2, SCT_QUOTE_HEX), "\"\\x01\\xab\"");
	cr_assert_str_eq(quoted("val\0", 4, SCT_QUOTE_OMIT_TRAILING_NUL), "\"val\"");
	cr_assert_str_eq(quoted("v\0l", 3, SCT_QUOTE_OMIT_TRAILING_NUL), "\"v\\0l\"");
}

Test(fmt, numbers)
{
	struct sct_line l;
	sct_line_init(&l, buf, sizeof buf);
	sct_dec(&l, -42);
	sct_putc(&l, ' ');
	sct_dec(&l, (long long)(-9223372036854775807LL - 1));
	sct_putc(&l, ' ');
	sct_udec(&l, 18446744073709551615ULL);
	sct_putc(&l, ' ');
	sct_hex(&l, 0);
	sct_putc(&l, ' ');
	sct_hex(&l, 0x7f00ab);
	sct_putc(&l, ' ');
	sct_oct(&l, 0644);
	sct_putc(&l, ' ');
	sct_oct(&l, 0);
	sct_putc(&l, ' ');
	sct_dec_width(&l, 7, 3);
	sct_putc(&l, ' ');
	sct_ptr(&l, 0);
	buf[l.len] = '\0';
	cr_assert_str_eq(buf, "-42 -9223372036854775808 18446744073709551615 0 0x7f00ab 0644 0 007 NULL");
}

Test(fmt, padding_and_truncation)
{
	struct sct_line l;
	sct_line_init(&l, buf, sizeof buf);
	sct_puts(&l, "brk(NULL)");
	sct_pad_to(&l, 40);
	sct_puts(&l, "= 0");
	cr_assert_eq(l.len, 43);
	sct_pad_to(&l, 10); /* already past: nothing */
	cr_assert_eq(l.len, 43);
	sct_line_end(&l);
	buf[l.len] = '\0';
	cr_assert_str_eq(buf, "brk(NULL)                               = 0\n");

	char small[16];
	sct_line_init(&l, small, sizeof small);
	sct_puts(&l, "0123456789abcdefghij");
	cr_assert(l.truncated);
	cr_assert_eq(l.len, 12);
	sct_line_end(&l);
	cr_assert_eq(l.len, 16);
	cr_assert_eq(memcmp(small, "0123456789ab...\n", 16), 0);
}
