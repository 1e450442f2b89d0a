/* Decoders of ioctl: the command's name (or _IOC(...)) and, for the common ones, the argument. */
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "sctrace/decoders.h"

SCT_XLAT(ioctl_dirs, {0, "_IOC_NONE"}, {1, "_IOC_WRITE"}, {2, "_IOC_READ"});
/* The ioctls met on descriptors of every kind (terminals, files, sockets). */
SCT_XLAT(ioctl_names, SCT_X(TCGETS), SCT_X(TCSETS), SCT_X(TCSETSW), SCT_X(TCSETSF), SCT_X(TCGETA),
         SCT_X(TCSETA), SCT_X(TCSETAW), SCT_X(TCSETAF), SCT_X(TCSBRK), SCT_X(TCXONC), SCT_X(TCFLSH),
         SCT_X(TIOCEXCL), SCT_X(TIOCNXCL), SCT_X(TIOCSCTTY), SCT_X(TIOCGPGRP), SCT_X(TIOCSPGRP),
         SCT_X(TIOCOUTQ), SCT_X(TIOCSTI), SCT_X(TIOCGWINSZ), SCT_X(TIOCSWINSZ), SCT_X(TIOCMGET),
         SCT_X(TIOCMBIS), SCT_X(TIOCMBIC), SCT_X(TIOCMSET), SCT_X(FIONREAD), SCT_X(TIOCLINUX),
         SCT_X(TIOCCONS), SCT_X(TIOCGSERIAL), SCT_X(TIOCSSERIAL), SCT_X(TIOCPKT), SCT_X(FIONBIO),
         SCT_X(TIOCNOTTY), SCT_X(TIOCSETD), SCT_X(TIOCGETD), SCT_X(TIOCGSID), SCT_X(TIOCGPTN),
         SCT_X(TIOCSPTLCK), SCT_X(FIONCLEX), SCT_X(FIOCLEX), SCT_X(FIOASYNC), SCT_X(FIOQSIZE),
         SCT_X(TIOCGPTPEER), SCT_X(FS_IOC_GETFLAGS), SCT_X(FS_IOC_SETFLAGS), SCT_X(FIGETBSZ), SCT_X(FIBMAP),
         SCT_X(FICLONE), SCT_X(FIONREAD));

static void print_ioctl_code(struct sct_line *l, unsigned code)
{
	const char *name = sct_xlat_name(&ioctl_names, code);
	if (name) {
		sct_puts(l, name);
		return;
	}
	sct_puts(l, "_IOC(");
	sct_print_flags(l, &ioctl_dirs, _IOC_DIR(code), "_IOC_???");
	sct_puts(l, ", ");
	sct_hex(l, _IOC_TYPE(code));
	sct_puts(l, ", ");
	sct_hex(l, _IOC_NR(code));
	sct_puts(l, ", ");
	sct_hex(l, _IOC_SIZE(code));
	sct_putc(l, ')');
}

static void print_winsize(struct sct_call *c, uintptr_t a)
{
	struct winsize w;
	if (!sct_fetch(c, a, &w, sizeof w))
		return;
	sct_puts(c->l, "{ws_row=");
	sct_udec(c->l, w.ws_row);
	sct_puts(c->l, ", ws_col=");
	sct_udec(c->l, w.ws_col);
	sct_puts(c->l, ", ws_xpixel=");
	sct_udec(c->l, w.ws_xpixel);
	sct_puts(c->l, ", ws_ypixel=");
	sct_udec(c->l, w.ws_ypixel);
	sct_putc(c->l, '}');
}

/* ioctls whose argument the kernel writes: decoded at exit. */
static bool ioctl_writes_arg(unsigned code)
{
	switch (code) {
	case TCGETS:
	case TIOCGWINSZ:
	case TIOCGPGRP:
	case TIOCGSID:
	case FIONREAD:
	case TIOCOUTQ:
	case TIOCGPTN:
	case TIOCGETD:
		return true;
	}
	return false;
}

static void print_ioctl_arg(struct sct_call *c, unsigned code, uintptr_t arg)
{
	switch (code) {
	case TCGETS:
	case TCSETS:
	case TCSETSW:
	case TCSETSF:
		/* strace abbreviates a termios to its four flag words; without a terminal decoder here, the
		 * address is printed (as strace does when the call fails) */
		sct_ptr(c->l, arg);
		return;
	case TIOCGWINSZ:
	case TIOCSWINSZ:
		if (!sct_print_if_failed(c, arg))
			print_winsize(c, arg);
		return;
	case TIOCGPGRP:
	case TIOCSPGRP:
	case TIOCGSID:
	case FIONREAD:
	case TIOCOUTQ:
	case TIOCGPTN:
	case TIOCGETD:
	case TIOCSETD:
	case FIONBIO:
	case FIOASYNC:
		if (!sct_print_if_failed(c, arg))
			sct_print_int_in_brackets(c, arg);
		return;
	case TCXONC:
	case TCFLSH:
	case TCSBRK:
	case TIOCSCTTY:
		sct_dec(c->l, (int)arg);
		return;
	}
	sct_hex(c->l, arg);
}

void sct_dec_ioctl(struct sct_call *c)
{
	unsigned code = (unsigned)c->a[1];
	bool no_arg = code == FIOCLEX || code == FIONCLEX || code == TIOCNOTTY || code == TIOCEXCL ||
	              code == TIOCNXCL || code == TIOCCONS;
	if (!c->exiting) {
		sct_p_fd(c, 0, NULL);
		sct_puts(c->l, ", ");
		print_ioctl_code(c->l, code);
		if (!no_arg && !ioctl_writes_arg(code)) {
			sct_puts(c->l, ", ");
			print_ioctl_arg(c, code, sct_addr(c, 2));
		}
		return;
	}
	if (!no_arg && ioctl_writes_arg(code)) {
		sct_puts(c->l, ", ");
		print_ioctl_arg(c, code, sct_addr(c, 2));
	}
}
