/* Decoders of descriptor calls: vectors, fcntl, ioctl, poll/select, epoll, and their flags. */
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <string.h>
#include <termios.h>

#include "sctrace/decoders.h"
#include "sctrace/memread.h"
#include "sctrace/quote.h"

SCT_XLAT_PUBLIC(sct_xlat_epoll_ctl_ops, SCT_X(EPOLL_CTL_ADD), SCT_X(EPOLL_CTL_DEL), SCT_X(EPOLL_CTL_MOD));
SCT_XLAT_PUBLIC(sct_xlat_epoll_flags, SCT_X(EPOLL_CLOEXEC));
SCT_XLAT(epoll_events, SCT_X(EPOLLIN), SCT_X(EPOLLPRI), SCT_X(EPOLLOUT), SCT_X(EPOLLERR), SCT_X(EPOLLHUP),
         {0x20, "EPOLLNVAL"}, SCT_X(EPOLLRDNORM), SCT_X(EPOLLRDBAND), SCT_X(EPOLLWRNORM), SCT_X(EPOLLWRBAND),
         SCT_X(EPOLLMSG), SCT_X(EPOLLRDHUP), SCT_X(EPOLLEXCLUSIVE), SCT_X(EPOLLWAKEUP), SCT_X(EPOLLONESHOT),
         SCT_X(EPOLLET));
SCT_XLAT(poll_events, SCT_X(POLLIN), SCT_X(POLLPRI), SCT_X(POLLOUT), SCT_X(POLLERR), SCT_X(POLLHUP),
         SCT_X(POLLNVAL), SCT_X(POLLRDNORM), SCT_X(POLLRDBAND), SCT_X(POLLWRNORM), SCT_X(POLLWRBAND),
         SCT_X(POLLMSG), {0x1000, "POLLREMOVE"}, SCT_X(POLLRDHUP));
SCT_XLAT_PUBLIC(sct_xlat_efd_flags, SCT_X(EFD_SEMAPHORE), SCT_X(EFD_CLOEXEC), SCT_X(EFD_NONBLOCK));
SCT_XLAT_PUBLIC(sct_xlat_flock_ops, SCT_X(LOCK_SH), SCT_X(LOCK_EX), SCT_X(LOCK_NB), SCT_X(LOCK_UN));
SCT_XLAT_PUBLIC(sct_xlat_fadvise, SCT_X(POSIX_FADV_NORMAL), SCT_X(POSIX_FADV_RANDOM),
                SCT_X(POSIX_FADV_SEQUENTIAL), SCT_X(POSIX_FADV_WILLNEED), SCT_X(POSIX_FADV_DONTNEED),
                SCT_X(POSIX_FADV_NOREUSE));
SCT_XLAT_PUBLIC(sct_xlat_o_cloexec, SCT_X(O_CLOEXEC));
SCT_XLAT_PUBLIC(sct_xlat_grnd_flags, SCT_X(GRND_NONBLOCK), SCT_X(GRND_RANDOM), {0x4, "GRND_INSECURE"});
SCT_XLAT_PUBLIC(sct_xlat_mfd_flags, {1, "MFD_CLOEXEC"}, {2, "MFD_ALLOW_SEALING"}, {4, "MFD_HUGETLB"});
SCT_XLAT_PUBLIC(sct_xlat_tfd_flags, {1, "TFD_TIMER_ABSTIME"}, {2, "TFD_TIMER_CANCEL_ON_SET"},
                SCT_X(TFD_CLOEXEC), SCT_X(TFD_NONBLOCK));
SCT_XLAT_PUBLIC(sct_xlat_close_range, {2, "CLOSE_RANGE_UNSHARE"}, {4, "CLOSE_RANGE_CLOEXEC"});
SCT_XLAT(fcntl_cmds, SCT_X(F_DUPFD), SCT_X(F_GETFD), SCT_X(F_SETFD), SCT_X(F_GETFL), SCT_X(F_SETFL),
         SCT_X(F_GETLK), SCT_X(F_SETLK), SCT_X(F_SETLKW), SCT_X(F_SETOWN), SCT_X(F_GETOWN), SCT_X(F_SETSIG),
         SCT_X(F_GETSIG), SCT_X(F_SETOWN_EX), SCT_X(F_GETOWN_EX), {17, "F_GETOWNER_UIDS"}, SCT_X(F_OFD_GETLK),
         SCT_X(F_OFD_SETLK), SCT_X(F_OFD_SETLKW), SCT_X(F_SETLEASE), SCT_X(F_GETLEASE), SCT_X(F_NOTIFY),
         {1029, "F_CANCELLK"}, SCT_X(F_DUPFD_CLOEXEC), SCT_X(F_SETPIPE_SZ), SCT_X(F_GETPIPE_SZ),
         SCT_X(F_ADD_SEALS), SCT_X(F_GET_SEALS));
SCT_XLAT(fd_flags, SCT_X(FD_CLOEXEC));
SCT_XLAT(lock_types, SCT_X(F_RDLCK), SCT_X(F_WRLCK), SCT_X(F_UNLCK), {4, "F_EXLCK"}, {8, "F_SHLCK"});
SCT_XLAT(seals, SCT_X(F_SEAL_SEAL), SCT_X(F_SEAL_SHRINK), SCT_X(F_SEAL_GROW), SCT_X(F_SEAL_WRITE),
         SCT_X(F_SEAL_FUTURE_WRITE));
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

/* ---- vectors ---- */

struct iov_state {
	unsigned long data_left; /* bytes of data left to show: the result for readv, all for writev */
};

static bool print_iov_elem(struct sct_call *c, const void *elem, void *data)
{
	const struct iovec *v = elem;
	struct iov_state *st = data;
	unsigned long len = v->iov_len < st->data_left ? v->iov_len : st->data_left;
	st->data_left -= len;
	sct_puts(c->l, "{iov_base=");
	sct_print_buffer(c, (uintptr_t)v->iov_base, len, 0);
	sct_puts(c->l, ", iov_len=");
	sct_udec(c->l, v->iov_len);
	sct_putc(c->l, '}');
	return true;
}

void sct_print_iov(struct sct_call *c, uintptr_t addr, unsigned long count, unsigned long data_size)
{
	struct iovec v;
	struct iov_state st = {data_size};
	sct_print_array(c, addr, count, &v, sizeof v, print_iov_elem, &st);
}

void sct_p_iov_in(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_iov(c, sct_addr(c, i), (unsigned long)c->a[i + 1], ~0UL);
}

void sct_p_iov_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	if (sct_print_if_failed(c, sct_addr(c, i)))
		return;
	sct_print_iov(c, sct_addr(c, i), (unsigned long)c->a[i + 1], (unsigned long)c->ret);
}

/* pipe, pipe2, socketpair: [3, 4] */
void sct_p_fd_pair_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	uintptr_t a = sct_addr(c, i);
	if (sct_print_if_failed(c, a))
		return;
	int fds[2];
	if (!sct_fetch(c, a, fds, sizeof fds))
		return;
	sct_putc(c->l, '[');
	sct_print_fd(c, fds[0]);
	sct_puts(c->l, ", ");
	sct_print_fd(c, fds[1]);
	sct_putc(c->l, ']');
}

void sct_p_o_flags(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_open_flags(c->l, (unsigned long)c->a[i]);
}

/* pipe2, signalfd4: O_* flags without an access mode ("0" for none) */
void sct_p_fd_flags(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_flags(c->l, sct_open_flag_names(), (unsigned long)c->a[i], "O_???");
}

/* loff_t * of sendfile, splice, copy_file_range: [N] at entry and, after the call, the new value. */
void sct_p_loff_in(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	long long v;
	if (sct_fetch(c, sct_addr(c, i), &v, sizeof v)) {
		sct_putc(c->l, '[');
		sct_dec(c->l, v);
		sct_putc(c->l, ']');
	}
}

void sct_p_loff_out(struct sct_call *c, int i, const void *aux)
{
	long long v;
	if (!c->exiting || !sct_addr(c, i) || sct_failed(c->ret) || !sct_peek(&v, sct_addr(c, i), sizeof v)) {
		sct_p_loff_in(c, i, aux);
		return;
	}
	sct_putc(c->l, '[');
	sct_dec(c->l, v);
	sct_putc(c->l, ']');
}

/* ---- fcntl ---- */

static void print_flock(struct sct_call *c, uintptr_t a, bool getlk)
{
	struct flock64 fl;
	if (!sct_fetch(c, a, &fl, sizeof fl))
		return;
	sct_puts(c->l, "{l_type=");
	sct_print_xval(c->l, &lock_types, (unsigned short)fl.l_type, "F_???");
	sct_puts(c->l, ", l_whence=");
	sct_print_xval(c->l, &sct_xlat_whence, (unsigned short)fl.l_whence, "SEEK_???");
	sct_puts(c->l, ", l_start=");
	sct_dec(c->l, fl.l_start);
	sct_puts(c->l, ", l_len=");
	sct_dec(c->l, fl.l_len);
	if (getlk) {
		sct_puts(c->l, ", l_pid=");
		sct_dec(c->l, fl.l_pid);
	}
	sct_putc(c->l, '}');
}

/* What follows the command, for commands that say it at entry. */
static void print_fcntl_entry_arg(struct sct_call *c, unsigned cmd, long arg)
{
	switch (cmd) {
	case F_SETFD:
		sct_puts(c->l, ", ");
		sct_print_flags(c->l, &fd_flags, (unsigned long)arg, "FD_???");
		break;
	case F_SETOWN:
	case F_SETPIPE_SZ:
		sct_puts(c->l, ", ");
		sct_dec(c->l, (int)arg);
		break;
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		sct_puts(c->l, ", ");
		sct_dec(c->l, (int)arg);
		c->ret_kind = SCT_RET_FD;
		break;
	case F_SETFL:
		sct_puts(c->l, ", ");
		sct_print_open_flags(c->l, (unsigned long)arg);
		break;
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
		sct_puts(c->l, ", ");
		print_flock(c, (uintptr_t)arg, false);
		break;
	case F_ADD_SEALS:
		sct_puts(c->l, ", ");
		sct_print_flags(c->l, &seals, (unsigned long)arg, "F_SEAL_???");
		break;
	case F_SETSIG:
		sct_puts(c->l, ", ");
		sct_print_signal(c->l, arg);
		break;
	case F_SETLEASE:
		sct_puts(c->l, ", ");
		sct_print_xval(c->l, &lock_types, (unsigned long)arg, "F_???");
		break;
	case F_GETFD:
	case F_GETFL:
	case F_GETOWN:
	case F_GETPIPE_SZ:
	case F_GETLK:
	case F_OFD_GETLK:
	case F_GETSIG:
	case F_GETLEASE:
	case F_GET_SEALS:
		break;
	default:
		sct_puts(c->l, ", ");
		sct_hex(c->l, (unsigned long)arg);
	}
}

/* "flags O_RDWR|O_APPEND" in c->aux, strace's note on F_GETFL's result. */
static void note_open_flags(struct sct_call *c, unsigned long flags)
{
	struct sct_line l;
	sct_aux_begin(c, &l);
	sct_puts(&l, "flags ");
	sct_print_open_flags(&l, flags);
	sct_aux_end(c, &l);
}

void sct_dec_fcntl(struct sct_call *c)
{
	unsigned cmd = (unsigned)c->a[1];
	if (!c->exiting) {
		sct_p_fd(c, 0, NULL);
		sct_puts(c->l, ", ");
		sct_print_xval(c->l, &fcntl_cmds, cmd, "F_???");
		print_fcntl_entry_arg(c, cmd, c->a[2]);
		return;
	}
	switch (cmd) {
	case F_GETLK:
	case F_OFD_GETLK:
		sct_puts(c->l, ", ");
		if (!sct_print_if_failed(c, sct_addr(c, 2)))
			print_flock(c, sct_addr(c, 2), true);
		break;
	case F_GETFD:
		if (!sct_failed(c->ret) && c->ret)
			sct_note_flags(c, "flags ", &fd_flags, (unsigned long)c->ret);
		break;
	case F_GETFL:
		if (!sct_failed(c->ret)) {
			c->ret_kind = SCT_RET_HEX;
			note_open_flags(c, (unsigned long)c->ret);
		}
		break;
	case F_GET_SEALS:
		if (!sct_failed(c->ret))
			sct_note_flags(c, "seals ", &seals, (unsigned long)c->ret);
		break;
	}
}

/* ---- ioctl ---- */

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

/* ---- poll, select ---- */

static bool print_pollfd(struct sct_call *c, const void *elem, void *data)
{
	(void)data;
	const struct pollfd *p = elem;
	sct_puts(c->l, "{fd=");
	sct_dec(c->l, p->fd);
	if (p->fd >= 0) {
		sct_puts(c->l, ", events=");
		sct_print_flags(c->l, &poll_events, (unsigned short)p->events, "POLL???");
	}
	sct_putc(c->l, '}');
	return true;
}

/* The note after poll's result: ([{fd=3, revents=POLLIN}]) or (Timeout). */
static void note_poll_result(struct sct_call *c, uintptr_t fds, unsigned long nfds)
{
	if (sct_failed(c->ret))
		return;
	struct sct_line l;
	sct_aux_begin(c, &l);
	if (c->ret == 0) {
		sct_puts(&l, "Timeout");
	} else {
		bool any = false;
		unsigned printed = 0;
		for (unsigned long k = 0; k < nfds; k++) {
			struct pollfd p;
			if (!sct_peek(&p, fds + k * sizeof p, sizeof p))
				break;
			if (!p.revents)
				continue;
			sct_puts(&l, any ? ", " : "[");
			any = true;
			if (printed++ >= c->o->max_strlen) {
				sct_puts(&l, "...");
				break;
			}
			sct_puts(&l, "{fd=");
			sct_dec(&l, p.fd);
			sct_puts(&l, ", revents=");
			sct_print_flags(&l, &poll_events, (unsigned short)p.revents, NULL);
			sct_putc(&l, '}');
		}
		if (any)
			sct_putc(&l, ']');
	}
	sct_aux_end(c, &l);
}

void sct_dec_poll(struct sct_call *c)
{
	if (!c->exiting) {
		struct pollfd p;
		sct_print_array(c, sct_addr(c, 0), (unsigned)c->a[1], &p, sizeof p, print_pollfd, NULL);
		sct_puts(c->l, ", ");
		sct_udec(c->l, (unsigned)c->a[1]);
		sct_puts(c->l, ", ");
		sct_dec(c->l, (int)c->a[2]);
		return;
	}
	note_poll_result(c, sct_addr(c, 0), (unsigned)c->a[1]);
}

void sct_dec_ppoll(struct sct_call *c)
{
	if (!c->exiting) {
		struct pollfd p;
		sct_print_array(c, sct_addr(c, 0), (unsigned)c->a[1], &p, sizeof p, print_pollfd, NULL);
		sct_puts(c->l, ", ");
		sct_udec(c->l, (unsigned)c->a[1]);
		sct_puts(c->l, ", ");
		sct_print_timespec_at(c, sct_addr(c, 2));
		sct_puts(c->l, ", ");
		sct_print_sigset_at(c, sct_addr(c, 3), (unsigned long)c->a[4]);
		sct_puts(c->l, ", ");
		sct_udec(c->l, (unsigned long)c->a[4]);
		return;
	}
	note_poll_result(c, sct_addr(c, 0), (unsigned)c->a[1]);
	if (c->a[2] && !sct_failed(c->ret)) {
		/* ", left {tv_sec=0, tv_nsec=...}" as strace appends it */
		struct sct_line l;
		sct_aux_begin(c, &l);
		l.len = strlen(c->aux); /* after the fds' note */
		struct sct_call sub = *c;
		sub.l = &l;
		sct_puts(&l, l.len ? ", left " : "left ");
		sct_print_timespec_at(&sub, sct_addr(c, 2));
		sct_aux_end(c, &l);
	}
}

/* An fd_set of nfds bits at addr: [0 3] */
static void print_fdset(struct sct_call *c, uintptr_t addr, int nfds)
{
	if (!addr) {
		sct_puts(c->l, "NULL");
		return;
	}
	unsigned long bits[1024 / 64];
	size_t bytes = (size_t)((nfds + 63) / 64) * 8;
	if (nfds < 0 || bytes > sizeof bits) {
		sct_hex(c->l, addr);
		return;
	}
	if (bytes && !sct_peek(bits, addr, bytes)) {
		sct_hex(c->l, addr);
		return;
	}
	sct_putc(c->l, '[');
	bool first = true;
	for (int fd = 0; fd < nfds; fd++) {
		if (!((bits[fd / 64] >> (fd % 64)) & 1))
			continue;
		if (!first)
			sct_putc(c->l, ' ');
		first = false;
		sct_print_fd(c, fd);
	}
	sct_putc(c->l, ']');
}

/* The note after select's result: (in [3], left {...}) or (Timeout). */
static void note_select_result(struct sct_call *c, int nfds, bool timespec)
{
	if (sct_failed(c->ret))
		return;
	struct sct_line l;
	sct_aux_begin(c, &l);
	if (c->ret == 0) {
		sct_puts(&l, "Timeout");
		sct_aux_end(c, &l);
		return;
	}
	static const char *const set_names[] = {"in", "out", "except"};
	const char *sep = "";
	long ready = c->ret;
	for (int s = 0; s < 3 && ready > 0; s++) {
		unsigned long bits[1024 / 64];
		size_t bytes = (size_t)((nfds + 63) / 64) * 8;
		if (!c->a[s + 1] || nfds <= 0 || bytes > sizeof bits ||
		    !sct_peek(bits, sct_addr(c, s + 1), bytes))
			continue;
		bool first = true;
		for (int fd = 0; fd < nfds && ready > 0; fd++) {
			if (!((bits[fd / 64] >> (fd % 64)) & 1))
				continue;
			if (first) {
				sct_puts(&l, sep);
				sct_puts(&l, set_names[s]);
				sct_puts(&l, " [");
				first = false;
				sep = ", ";
			} else {
				sct_putc(&l, ' ');
			}
			sct_udec(&l, (unsigned)fd);
			ready--;
		}
		if (!first)
			sct_putc(&l, ']');
	}
	if (c->a[4]) {
		struct sct_call sub = *c;
		sub.l = &l;
		sct_puts(&l, sep);
		sct_puts(&l, "left ");
		if (timespec)
			sct_print_timespec_at(&sub, sct_addr(c, 4));
		else
			sct_print_timeval_at(&sub, sct_addr(c, 4));
	}
	sct_aux_end(c, &l);
}

static void select_entry(struct sct_call *c)
{
	int nfds = (int)c->a[0];
	sct_dec(c->l, nfds);
	for (int s = 1; s <= 3; s++) {
		sct_puts(c->l, ", ");
		print_fdset(c, sct_addr(c, s), nfds < 0 ? 0 : nfds);
	}
	sct_puts(c->l, ", ");
}

void sct_dec_select(struct sct_call *c)
{
	if (!c->exiting) {
		select_entry(c);
		sct_print_timeval_at(c, sct_addr(c, 4));
		return;
	}
	note_select_result(c, (int)c->a[0], false);
}

void sct_dec_pselect6(struct sct_call *c)
{
	if (!c->exiting) {
		select_entry(c);
		sct_print_timespec_at(c, sct_addr(c, 4));
		sct_puts(c->l, ", ");
		/* {sigmask, sigsetsize} */
		unsigned long data[2];
		uintptr_t a = sct_addr(c, 5);
		if (sct_fetch(c, a, data, sizeof data)) {
			sct_puts(c->l, "{sigmask=");
			sct_print_sigset_at(c, data[0], data[1]);
			sct_puts(c->l, ", sigsetsize=");
			sct_udec(c->l, data[1]);
			sct_putc(c->l, '}');
		}
		return;
	}
	note_select_result(c, (int)c->a[0], true);
}

/* ---- epoll ---- */

static bool print_epoll_event(struct sct_call *c, const void *elem, void *data)
{
	(void)data;
	const struct epoll_event *e = elem;
	sct_puts(c->l, "{events=");
	sct_print_flags(c->l, &epoll_events, e->events, "EPOLL???");
	sct_puts(c->l, ", data={u32=");
	sct_udec(c->l, (uint32_t)e->data.u64);
	sct_puts(c->l, ", u64=");
	sct_udec(c->l, e->data.u64);
	sct_puts(c->l, "}}");
	return true;
}

void sct_p_epoll_event_in(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	struct epoll_event e;
	if (sct_fetch(c, sct_addr(c, i), &e, sizeof e))
		print_epoll_event(c, &e, NULL);
}

void sct_p_epoll_events_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	if (sct_print_if_failed(c, sct_addr(c, i)))
		return;
	struct epoll_event e;
	sct_print_array(c, sct_addr(c, i), (unsigned long)c->ret, &e, sizeof e, print_epoll_event, NULL);
}

/* getrandom's bytes are printed in hex (they are random: text would mislead). */
void sct_p_getrandom_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	if (sct_print_if_failed(c, sct_addr(c, i)))
		return;
	sct_print_buffer(c, sct_addr(c, i), (unsigned long)c->ret, SCT_QUOTE_HEX);
}

/* sendfile(out, in, offset, count): the offset, when given, is shown again after the call. */
void sct_dec_sendfile(struct sct_call *c)
{
	if (!c->exiting) {
		sct_p_fd(c, 0, NULL);
		sct_puts(c->l, ", ");
		sct_p_fd(c, 1, NULL);
		sct_puts(c->l, ", ");
		if (!c->a[2]) {
			sct_puts(c->l, "NULL, ");
			sct_udec(c->l, (unsigned long)c->a[3]);
			c->saved[0] = 0;
			return;
		}
		sct_p_loff_in(c, 2, NULL);
		c->saved[0] = 1;
		return;
	}
	if (!c->saved[0])
		return;
	if (!sct_failed(c->ret) && c->ret) {
		sct_puts(c->l, " => ");
		sct_p_loff_in(c, 2, NULL);
	}
	sct_puts(c->l, ", ");
	sct_udec(c->l, (unsigned long)c->a[3]);
}
