/* Decoders of ioctl: the command's name (or _IOC(...)) and, for the common ones, the argument. */
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "sctrace/decoders.h"

#ifndef IBSHIFT
#define IBSHIFT 16 /* the input speed's shift in c_cflag (asm/termbits.h, which clashes with termios.h) */
#endif

SCT_XLAT(ioctl_dirs, {0, "_IOC_NONE"}, {2, "_IOC_READ"}, {1, "_IOC_WRITE"});
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

SCT_XLAT(term_iflags, SCT_X(IGNBRK), SCT_X(BRKINT), SCT_X(IGNPAR), SCT_X(PARMRK), SCT_X(INPCK), SCT_X(ISTRIP),
         SCT_X(INLCR), SCT_X(IGNCR), SCT_X(ICRNL), SCT_X(IUCLC), SCT_X(IXON), SCT_X(IXANY), SCT_X(IXOFF),
         SCT_X(IMAXBEL), SCT_X(IUTF8));
SCT_XLAT(term_oflags, SCT_X(OPOST), SCT_X(OLCUC), SCT_X(ONLCR), SCT_X(OCRNL), SCT_X(ONOCR), SCT_X(ONLRET),
         SCT_X(OFILL), SCT_X(OFDEL));
SCT_XLAT(term_cflags, SCT_X(CSTOPB), SCT_X(CREAD), SCT_X(PARENB), SCT_X(PARODD), SCT_X(HUPCL), SCT_X(CLOCAL),
         SCT_X(CMSPAR), SCT_X(CRTSCTS));
SCT_XLAT(term_lflags, SCT_X(ISIG), SCT_X(ICANON), SCT_X(XCASE), SCT_X(ECHO), SCT_X(ECHOE), SCT_X(ECHOK),
         SCT_X(ECHONL), SCT_X(NOFLSH), SCT_X(IEXTEN), SCT_X(ECHOCTL), SCT_X(ECHOPRT), SCT_X(ECHOKE),
         SCT_X(FLUSHO), SCT_X(PENDIN), SCT_X(TOSTOP), SCT_X(EXTPROC));
SCT_XLAT(term_csize, SCT_X(CS5), SCT_X(CS6), SCT_X(CS7), SCT_X(CS8));
SCT_XLAT(bauds, SCT_X(B0), SCT_X(B50), SCT_X(B75), SCT_X(B110), SCT_X(B134), SCT_X(B150), SCT_X(B200),
         SCT_X(B300), SCT_X(B600), SCT_X(B1200), SCT_X(B1800), SCT_X(B2400), SCT_X(B4800), SCT_X(B9600),
         SCT_X(B19200), SCT_X(B38400), SCT_X(B57600), SCT_X(B115200), SCT_X(B230400), SCT_X(B460800),
         SCT_X(B500000), SCT_X(B576000), SCT_X(B921600), SCT_X(B1000000), SCT_X(B1152000), SCT_X(B1500000),
         SCT_X(B2000000), SCT_X(B2500000), SCT_X(B3000000), SCT_X(B3500000), SCT_X(B4000000),
         {0010000, "BOTHER"});
/* The output delays, each a field of its own: printed first, by name, even when 0 (NL0, CR0...). */
SCT_XLAT(nl_delays, SCT_X(NL0), SCT_X(NL1));
SCT_XLAT(cr_delays, SCT_X(CR0), SCT_X(CR1), SCT_X(CR2), SCT_X(CR3));
SCT_XLAT(tab_delays, SCT_X(TAB0), SCT_X(TAB1), SCT_X(TAB2), SCT_X(TAB3));
SCT_XLAT(bs_delays, SCT_X(BS0), SCT_X(BS1));
SCT_XLAT(vt_delays, SCT_X(VT0), SCT_X(VT1));
SCT_XLAT(ff_delays, SCT_X(FF0), SCT_X(FF1));

/* A termios as strace abbreviates it: its four flag words. */
static void print_termios(struct sct_call *c, uintptr_t a)
{
	struct termios t;
	if (!sct_fetch(c, a, &t, sizeof t))
		return;
	struct sct_line *l = c->l;
	sct_puts(l, "{c_iflag=");
	sct_print_flags(l, &term_iflags, t.c_iflag, NULL);
	sct_puts(l, ", c_oflag=");
	static const struct {
		const struct sct_xlat *x;
		unsigned mask;
		const char *unknown;
	} delays[] = {{&nl_delays, NLDLY, "NL?"}, {&cr_delays, CRDLY, "CR?"}, {&tab_delays, TABDLY, "TAB?"},
	              {&bs_delays, BSDLY, "BS?"}, {&vt_delays, VTDLY, "VT?"}, {&ff_delays, FFDLY, "FF?"}};
	unsigned o = t.c_oflag;
	for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++) {
		sct_print_xval(l, delays[i].x, o & delays[i].mask, delays[i].unknown);
		sct_putc(l, '|');
		o &= ~delays[i].mask;
	}
	sct_print_flags(l, &term_oflags, o, NULL);
	sct_puts(l, ", c_cflag=");
	unsigned cf = t.c_cflag;
	sct_print_xval(l, &bauds, cf & CBAUD, "B???");
	sct_putc(l, '|');
	if (cf & CIBAUD) {
		sct_print_xval(l, &bauds, (cf & CIBAUD) >> IBSHIFT, "B???");
		sct_puts(l, "<<IBSHIFT|");
	}
	sct_print_xval(l, &term_csize, cf & CSIZE, "CS?");
	sct_putc(l, '|');
	sct_print_flags(l, &term_cflags, cf & ~(unsigned)(CBAUD | CIBAUD | CSIZE), NULL);
	sct_puts(l, ", c_lflag=");
	sct_print_flags(l, &term_lflags, t.c_lflag, NULL);
	sct_puts(l, ", ...}");
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
		if (!sct_print_if_failed(c, arg))
			print_termios(c, arg);
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
