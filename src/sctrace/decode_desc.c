/* Decoders of descriptor calls: vectors, pipes, fcntl, sendfile, and their flags (ioctl and the waits
 * for descriptors have files of their own). */
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <sys/uio.h>

#include "sctrace/decoders.h"
#include "sctrace/memread.h"
#include "sctrace/quote.h"

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
