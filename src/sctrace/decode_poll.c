/* Decoders of the calls that wait for descriptors: poll, ppoll, select, pselect6, epoll. */
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>

#include "sctrace/decoders.h"
#include "sctrace/memread.h"

SCT_XLAT_PUBLIC(sct_xlat_epoll_ctl_ops, SCT_X(EPOLL_CTL_ADD), SCT_X(EPOLL_CTL_DEL), SCT_X(EPOLL_CTL_MOD));
SCT_XLAT_PUBLIC(sct_xlat_epoll_flags, SCT_X(EPOLL_CLOEXEC));
SCT_XLAT(epoll_events, SCT_X(EPOLLIN), SCT_X(EPOLLPRI), SCT_X(EPOLLOUT), SCT_X(EPOLLERR), SCT_X(EPOLLHUP),
         {0x20, "EPOLLNVAL"}, SCT_X(EPOLLRDNORM), SCT_X(EPOLLRDBAND), SCT_X(EPOLLWRNORM), SCT_X(EPOLLWRBAND),
         SCT_X(EPOLLMSG), SCT_X(EPOLLRDHUP), SCT_X(EPOLLEXCLUSIVE), SCT_X(EPOLLWAKEUP), SCT_X(EPOLLONESHOT),
         SCT_X(EPOLLET));
SCT_XLAT(poll_events, SCT_X(POLLIN), SCT_X(POLLPRI), SCT_X(POLLOUT), SCT_X(POLLERR), SCT_X(POLLHUP),
         SCT_X(POLLNVAL), SCT_X(POLLRDNORM), SCT_X(POLLRDBAND), SCT_X(POLLWRNORM), SCT_X(POLLWRBAND),
         SCT_X(POLLMSG), {0x1000, "POLLREMOVE"}, SCT_X(POLLRDHUP));

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

/*
 * Begins the note after a readiness call's result. Nothing follows a failure, and (Timeout) a result
 * of 0, written whole: false then. Otherwise true, with l begun for the caller to fill and end.
 */
static bool ready_note_begin(struct sct_call *c, struct sct_line *l)
{
	if (sct_failed(c->ret))
		return false;
	sct_aux_begin(c, l);
	if (c->ret != 0)
		return true;
	sct_puts(l, "Timeout");
	sct_aux_end(c, l);
	return false;
}

/* The note after poll's result: ([{fd=3, revents=POLLIN}]) or (Timeout). */
static void note_poll_result(struct sct_call *c, uintptr_t fds, unsigned long nfds)
{
	struct sct_line l;
	if (!ready_note_begin(c, &l))
		return;
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
	sct_aux_end(c, &l);
}

/* The first two arguments poll and ppoll share: the pollfd array as the program filled it, nfds. */
static void print_pollfds_in(struct sct_call *c)
{
	struct pollfd p;
	sct_print_array(c, sct_addr(c, 0), (unsigned)c->a[1], &p, sizeof p, print_pollfd, NULL);
	sct_puts(c->l, ", ");
	sct_udec(c->l, (unsigned)c->a[1]);
}

void sct_dec_poll(struct sct_call *c)
{
	if (!c->exiting) {
		print_pollfds_in(c);
		sct_puts(c->l, ", ");
		sct_dec(c->l, (int)c->a[2]);
		return;
	}
	note_poll_result(c, sct_addr(c, 0), (unsigned)c->a[1]);
}

void sct_dec_ppoll(struct sct_call *c)
{
	if (!c->exiting) {
		print_pollfds_in(c);
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
	struct sct_line l;
	if (!ready_note_begin(c, &l))
		return;
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
