/*
 * The decoding driver (entry half, exit half, result) and the printers most calls share.
 */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/syscall.h>

#include "sctrace/decoders.h"
#include "sctrace/memread.h"
#include "sctrace/names.h"
#include "sctrace/quote.h"
#include "sctrace/rawsys.h"
#include "sctrace/xlat.h"

/* strace's column for " = result". */
#define SCT_RESULT_COLUMN 40

static void print_args(struct sct_call *c, const struct sct_sysent *e, int from, int to)
{
	for (int i = from; i < to; i++) {
		if (i > 0)
			sct_puts(c->l, ", ");
		e->args[i].print(c, i, e->args[i].aux);
	}
}

/* The table entry of c: none for an i386 call (the table is x86-64's), whose six arguments print in
 * hex, as strace prints a number it has no name for. */
static const struct sct_sysent *sysent_of(const struct sct_call *c)
{
	return sct_sysent(c->i386 ? -1 : c->nr);
}

const char *sct_call_name(const struct sct_call *c)
{
	return c->i386 ? NULL : sct_syscall_name(c->nr);
}

void sct_decode_entry(struct sct_call *c)
{
	const struct sct_sysent *e = sysent_of(c);
	const char *name = sct_call_name(c);
	if (name) {
		sct_puts(c->l, name);
	} else {
		sct_puts(c->l, "syscall_");
		sct_hex(c->l, (unsigned long)c->nr);
	}
	sct_putc(c->l, '(');
	c->ret_kind = (enum sct_ret)e->ret;
	c->aux[0] = '\0';
	c->exiting = false;
	if (e->custom) {
		e->custom(c);
		return;
	}
	print_args(c, e, 0, e->exit_from < e->nargs ? e->exit_from : e->nargs);
	if (e->exit_from > 0 && e->exit_from < e->nargs)
		sct_puts(c->l, ", "); /* strace prints the separator before it waits for the exit */
}

void sct_decode_exit(struct sct_call *c)
{
	const struct sct_sysent *e = sysent_of(c);
	c->exiting = true;
	if (e->custom) {
		e->custom(c);
	} else if (e->exit_from < e->nargs) {
		for (int i = e->exit_from; i < e->nargs; i++) {
			if (i > e->exit_from)
				sct_puts(c->l, ", ");
			e->args[i].print(c, i, e->args[i].aux);
		}
	}
	sct_putc(c->l, ')');
}

void sct_print_errno_result(struct sct_line *l, long err)
{
	sct_puts(l, "-1 ");
	const char *name = sct_errno_name(err);
	if (name) {
		sct_puts(l, name);
	} else {
		sct_puts(l, "errno ");
		sct_dec(l, err);
	}
	const char *text = sct_errno_text(err);
	if (text) {
		sct_puts(l, " (");
		sct_puts(l, text);
		sct_putc(l, ')');
	}
}

void sct_decode_result(struct sct_call *c)
{
	struct sct_line *l = c->l;
	if (l->len < SCT_RESULT_COLUMN)
		sct_pad_to(l, SCT_RESULT_COLUMN);
	else
		sct_putc(l, ' ');
	sct_puts(l, "= ");
	if (c->ret_kind == SCT_RET_NONE) {
		sct_putc(l, '?');
	} else if (sct_failed(c->ret)) {
		sct_print_errno_result(l, -c->ret);
	} else {
		switch (c->ret_kind) {
		case SCT_RET_HEX:
			sct_hex(l, (unsigned long)c->ret);
			break;
		case SCT_RET_OCT:
			sct_print_mode(l, (unsigned long)c->ret);
			break;
		case SCT_RET_FD:
			if (c->ret <= INT_MAX) {
				sct_print_fd(c, (int)c->ret);
				break;
			}
			/* fall through */
		default:
			sct_dec(l, c->ret);
		}
	}
	if (c->aux[0]) {
		sct_puts(l, " (");
		sct_puts(l, c->aux);
		sct_putc(l, ')');
	}
}

/* ---- the printers ---- */

void sct_p_int(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_dec(c->l, (int)c->a[i]);
}

void sct_p_uint(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_udec(c->l, (unsigned)c->a[i]);
}

void sct_p_long(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_dec(c->l, c->a[i]);
}

void sct_p_ulong(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_udec(c->l, (unsigned long)c->a[i]);
}

void sct_p_hex(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_hex(c->l, (unsigned long)c->a[i]);
}

void sct_p_ptr(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_ptr(c->l, sct_addr(c, i));
}

/* The path of descriptor fd, from /proc/self/fd, quoted as strace quotes it between < and >. */
static void print_fd_path(struct sct_call *c, const char *link)
{
	char *path = c->scratch;
	size_t cap = c->scratch_cap < PATH_MAX ? c->scratch_cap : PATH_MAX;
	long n = sct_raw4(SYS_readlinkat, AT_FDCWD, link, path, cap);
	if (n < 0 || (size_t)n >= cap)
		return;
	bool deleted = n > 10 && memcmp(path + n - 10, " (deleted)", 10) == 0;
	if (deleted)
		n -= 10;
	sct_putc(c->l, '<');
	for (long k = 0; k < n; k++) {
		unsigned char ch = (unsigned char)path[k];
		if (ch == '<' || ch == '>' || ch < ' ' || ch >= 0x7f) {
			/* strace's quoting of one odd byte, without the surrounding quotes */
			struct sct_line one;
			char tmp[16];
			sct_line_init(&one, tmp, sizeof tmp);
			sct_quote(&one, &ch, 1, 0);
			sct_put(c->l, tmp + 1, one.len - 2);
		} else {
			sct_putc(c->l, (char)ch);
		}
	}
	sct_putc(c->l, '>');
	if (deleted)
		sct_puts(c->l, "(deleted)");
}

void sct_print_fd(struct sct_call *c, int fd)
{
	sct_dec(c->l, fd);
	if (!c->o->decode_fds || fd < 0)
		return;
	char link[32] = "/proc/self/fd/";
	struct sct_line ln;
	sct_line_init(&ln, link, sizeof link);
	ln.len = strlen(link);
	sct_udec(&ln, (unsigned)fd);
	link[ln.len] = '\0';
	print_fd_path(c, link);
}

void sct_p_fd(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_fd(c, (int)c->a[i]);
}

void sct_p_dirfd(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	if ((int)c->a[i] == AT_FDCWD) {
		sct_puts(c->l, "AT_FDCWD");
		if (c->o->decode_fds)
			print_fd_path(c, "/proc/self/cwd");
		return;
	}
	sct_print_fd(c, (int)c->a[i]);
}

bool sct_fetch(struct sct_call *c, uintptr_t addr, void *dst, size_t n)
{
	if (!addr) {
		sct_puts(c->l, "NULL");
		return false;
	}
	if (!sct_peek(dst, addr, n)) {
		sct_hex(c->l, addr);
		return false;
	}
	return true;
}

bool sct_print_if_failed(struct sct_call *c, uintptr_t addr)
{
	if (!sct_failed(c->ret))
		return false;
	sct_ptr(c->l, addr);
	return true;
}

/* A NUL-terminated string of at most limit bytes: "text", "text"... when longer, the address when
 * it cannot be read. */
void sct_print_string_n(struct sct_call *c, uintptr_t addr, size_t limit)
{
	if (!addr) {
		sct_puts(c->l, "NULL");
		return;
	}
	if (limit + 1 > c->scratch_cap)
		limit = c->scratch_cap - 1;
	size_t len;
	enum sct_str_result r = sct_read_string(c->scratch, addr, limit + 1, &len);
	if (r == SCT_STR_FAULT) {
		sct_hex(c->l, addr);
		return;
	}
	sct_quote(c->l, (const unsigned char *)c->scratch, len > limit ? limit : len, 0);
	if (r == SCT_STR_NO_NUL)
		sct_puts(c->l, "...");
}

void sct_print_path(struct sct_call *c, uintptr_t addr)
{
	sct_print_string_n(c, addr, PATH_MAX - 1);
}

void sct_print_string(struct sct_call *c, uintptr_t addr)
{
	sct_print_string_n(c, addr, c->o->max_strlen);
}

void sct_p_path(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_path(c, sct_addr(c, i));
}

void sct_p_str(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_string(c, sct_addr(c, i));
}

void sct_print_buffer(struct sct_call *c, uintptr_t addr, unsigned long len, unsigned quote_flags)
{
	if (!addr) {
		sct_puts(c->l, "NULL");
		return;
	}
	unsigned long max = c->o->max_strlen;
	unsigned long want = len < max + 1 ? len : max + 1; /* one more byte: the quoting looks ahead */
	if (want > c->scratch_cap)
		want = c->scratch_cap;
	if (!sct_peek(c->scratch, addr, want)) {
		sct_hex(c->l, addr);
		return;
	}
	size_t shown = want > max ? max : want;
	/* the look-ahead byte must not be taken for an octal digit when it is not shown */
	unsigned char saved = 0;
	if (shown < c->scratch_cap) {
		saved = (unsigned char)c->scratch[shown];
		c->scratch[shown] = (char)0xff;
	}
	sct_quote(c->l, (const unsigned char *)c->scratch, shown, quote_flags);
	if (shown < c->scratch_cap)
		c->scratch[shown] = (char)saved;
	if (len > max)
		sct_puts(c->l, "...");
}

void sct_p_buf_in(struct sct_call *c, int i, const void *aux)
{
	sct_print_buffer(c, sct_addr(c, i), (unsigned long)c->a[(intptr_t)aux], 0);
}

void sct_p_buf_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	if (sct_print_if_failed(c, sct_addr(c, i)))
		return;
	sct_print_buffer(c, sct_addr(c, i), (unsigned long)c->ret, 0);
}

void sct_print_mode(struct sct_line *l, unsigned long mode)
{
	/* %#03o: 0 is "000", 5 is "005", 0644 is "0644" */
	char d[24];
	int n = 0;
	do {
		d[n++] = (char)('0' + (mode & 7));
		mode >>= 3;
	} while (mode);
	if (n < 3) {
		for (int k = n; k < 3; k++)
			sct_putc(l, '0');
	} else {
		sct_putc(l, '0');
	}
	while (n)
		sct_putc(l, d[--n]);
}

void sct_p_mode(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_mode(c->l, (unsigned)c->a[i]);
}

void sct_p_flags(struct sct_call *c, int i, const void *aux)
{
	sct_print_flags(c->l, aux, (unsigned long)c->a[i], NULL);
}

void sct_p_xval(struct sct_call *c, int i, const void *aux)
{
	sct_print_xval(c->l, aux, (unsigned long)c->a[i], NULL);
}

void sct_p_xval_d(struct sct_call *c, int i, const void *aux)
{
	sct_print_xval_d(c->l, aux, (int)c->a[i], NULL);
}

void sct_p_signal(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_signal(c->l, (int)c->a[i]);
}

void sct_print_array(struct sct_call *c, uintptr_t addr, size_t nmemb, void *elem, size_t elem_size,
                     sct_elemfn fn, void *data)
{
	if (!addr) {
		sct_puts(c->l, "NULL");
		return;
	}
	if (nmemb == 0) {
		sct_puts(c->l, "[]");
		return;
	}
	uintptr_t end = addr + nmemb * elem_size;
	if (end <= addr || (end - addr) / elem_size != nmemb) {
		sct_hex(c->l, addr);
		return;
	}
	size_t shown = 0;
	for (uintptr_t cur = addr; cur < end; cur += elem_size, shown++) {
		if (cur != addr)
			sct_puts(c->l, ", ");
		if (!sct_peek(elem, cur, elem_size)) {
			if (cur == addr) {
				sct_hex(c->l, cur);
				return;
			}
			/* "..." and the address of the element in a comment */
			sct_puts(c->l, "... /* ");
			sct_hex(c->l, cur);
			sct_puts(c->l, " */");
			break;
		}
		if (cur == addr)
			sct_putc(c->l, '[');
		if (shown >= c->o->max_strlen) {
			sct_puts(c->l, "...");
			break;
		}
		if (!fn(c, elem, data))
			break;
	}
	sct_putc(c->l, ']');
}

void sct_print_int_in_brackets(struct sct_call *c, uintptr_t addr)
{
	int v;
	if (!sct_fetch(c, addr, &v, sizeof v))
		return;
	sct_putc(c->l, '[');
	sct_dec(c->l, v);
	sct_putc(c->l, ']');
}

void sct_aux_begin(struct sct_call *c, struct sct_line *l)
{
	sct_line_init(l, c->aux, sizeof c->aux);
}

void sct_aux_end(struct sct_call *c, const struct sct_line *l)
{
	c->aux[l->len] = '\0';
}

void sct_note_flags(struct sct_call *c, const char *prefix, const struct sct_xlat *x, unsigned long v)
{
	struct sct_line l;
	c->ret_kind = SCT_RET_HEX;
	sct_aux_begin(c, &l);
	sct_puts(&l, prefix);
	sct_print_flags(&l, x, v, NULL);
	sct_aux_end(c, &l);
}
