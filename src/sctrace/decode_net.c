/* Decoders of the network family: socket types, addresses, message headers, options. */
#include <arpa/inet.h> /* ntohs, ntohl */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include "sctrace/decoders.h"
#include "sctrace/memread.h"
#include "sctrace/quote.h"

SCT_XLAT(families, SCT_X(AF_UNSPEC), SCT_X(AF_UNIX), SCT_X(AF_INET), SCT_X(AF_AX25), SCT_X(AF_IPX),
         SCT_X(AF_APPLETALK), SCT_X(AF_NETROM), SCT_X(AF_BRIDGE), SCT_X(AF_ATMPVC), SCT_X(AF_X25),
         SCT_X(AF_INET6), SCT_X(AF_ROSE), SCT_X(AF_DECnet), SCT_X(AF_NETBEUI), SCT_X(AF_SECURITY),
         SCT_X(AF_KEY), SCT_X(AF_NETLINK), SCT_X(AF_PACKET), SCT_X(AF_ASH), SCT_X(AF_ECONET),
         SCT_X(AF_ATMSVC), SCT_X(AF_RDS), SCT_X(AF_SNA), SCT_X(AF_IRDA), SCT_X(AF_PPPOX), SCT_X(AF_WANPIPE),
         SCT_X(AF_LLC), SCT_X(AF_IB), SCT_X(AF_MPLS), SCT_X(AF_CAN), SCT_X(AF_TIPC), SCT_X(AF_BLUETOOTH),
         SCT_X(AF_IUCV), SCT_X(AF_RXRPC), SCT_X(AF_ISDN), SCT_X(AF_PHONET), SCT_X(AF_IEEE802154),
         SCT_X(AF_CAIF), SCT_X(AF_ALG), SCT_X(AF_NFC), SCT_X(AF_VSOCK), SCT_X(AF_KCM), SCT_X(AF_QIPCRTR),
         SCT_X(AF_SMC), {44, "AF_XDP"}, {45, "AF_MCTP"});
SCT_XLAT(sock_types, SCT_X(SOCK_STREAM), SCT_X(SOCK_DGRAM), SCT_X(SOCK_RAW), SCT_X(SOCK_RDM),
         SCT_X(SOCK_SEQPACKET), SCT_X(SOCK_DCCP), SCT_X(SOCK_PACKET));
SCT_XLAT(sock_type_flags, SCT_X(SOCK_CLOEXEC), SCT_X(SOCK_NONBLOCK));
SCT_XLAT(inet_protocols, SCT_X(IPPROTO_IP), SCT_X(IPPROTO_ICMP), SCT_X(IPPROTO_IGMP), SCT_X(IPPROTO_IPIP),
         SCT_X(IPPROTO_TCP), SCT_X(IPPROTO_EGP), SCT_X(IPPROTO_PUP), SCT_X(IPPROTO_UDP), SCT_X(IPPROTO_IDP),
         SCT_X(IPPROTO_TP), SCT_X(IPPROTO_DCCP), SCT_X(IPPROTO_IPV6), SCT_X(IPPROTO_RSVP), SCT_X(IPPROTO_GRE),
         SCT_X(IPPROTO_ESP), SCT_X(IPPROTO_AH), SCT_X(IPPROTO_ICMPV6), SCT_X(IPPROTO_MTP),
         SCT_X(IPPROTO_BEETPH), SCT_X(IPPROTO_ENCAP), SCT_X(IPPROTO_PIM), SCT_X(IPPROTO_COMP),
         SCT_X(IPPROTO_SCTP), SCT_X(IPPROTO_UDPLITE), SCT_X(IPPROTO_MPLS), SCT_X(IPPROTO_RAW));
SCT_XLAT(msg_flags, SCT_X(MSG_OOB), SCT_X(MSG_PEEK), SCT_X(MSG_DONTROUTE), SCT_X(MSG_CTRUNC),
         SCT_X(MSG_PROXY), SCT_X(MSG_TRUNC), SCT_X(MSG_DONTWAIT), SCT_X(MSG_EOR), SCT_X(MSG_WAITALL),
         SCT_X(MSG_FIN), SCT_X(MSG_SYN), SCT_X(MSG_CONFIRM), SCT_X(MSG_RST), SCT_X(MSG_ERRQUEUE),
         SCT_X(MSG_NOSIGNAL), SCT_X(MSG_MORE), SCT_X(MSG_WAITFORONE), SCT_X(MSG_BATCH), SCT_X(MSG_ZEROCOPY),
         SCT_X(MSG_FASTOPEN), SCT_X(MSG_CMSG_CLOEXEC));
SCT_XLAT_PUBLIC(sct_xlat_shutdown, SCT_X(SHUT_RD), SCT_X(SHUT_WR), SCT_X(SHUT_RDWR));
SCT_XLAT(sol_levels, SCT_X(SOL_SOCKET), SCT_X(SOL_IP), SCT_X(SOL_TCP), {17, "SOL_UDP"}, SCT_X(SOL_IPV6));
SCT_XLAT(so_options, SCT_X(SO_DEBUG), SCT_X(SO_REUSEADDR), SCT_X(SO_TYPE), SCT_X(SO_ERROR),
         SCT_X(SO_DONTROUTE), SCT_X(SO_BROADCAST), SCT_X(SO_SNDBUF), SCT_X(SO_RCVBUF), SCT_X(SO_KEEPALIVE),
         SCT_X(SO_OOBINLINE), SCT_X(SO_NO_CHECK), SCT_X(SO_PRIORITY), SCT_X(SO_LINGER), SCT_X(SO_BSDCOMPAT),
         SCT_X(SO_REUSEPORT), SCT_X(SO_PASSCRED), SCT_X(SO_PEERCRED), SCT_X(SO_RCVLOWAT), SCT_X(SO_SNDLOWAT),
         {20, "SO_RCVTIMEO_OLD"}, {21, "SO_SNDTIMEO_OLD"}, SCT_X(SO_SNDBUFFORCE), SCT_X(SO_RCVBUFFORCE),
         SCT_X(SO_ACCEPTCONN), SCT_X(SO_PROTOCOL), SCT_X(SO_DOMAIN));
SCT_XLAT(tcp_options, SCT_X(TCP_NODELAY), SCT_X(TCP_MAXSEG), SCT_X(TCP_CORK), SCT_X(TCP_KEEPIDLE),
         SCT_X(TCP_KEEPINTVL), SCT_X(TCP_KEEPCNT), SCT_X(TCP_SYNCNT), SCT_X(TCP_LINGER2),
         SCT_X(TCP_DEFER_ACCEPT), SCT_X(TCP_WINDOW_CLAMP), SCT_X(TCP_INFO), SCT_X(TCP_QUICKACK),
         SCT_X(TCP_CONGESTION), SCT_X(TCP_USER_TIMEOUT), SCT_X(TCP_FASTOPEN));
SCT_XLAT(scm_types, SCT_X(SCM_RIGHTS), SCT_X(SCM_CREDENTIALS));

void sct_p_sock_domain(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_xval(c->l, &families, (unsigned)c->a[i], "AF_???");
}

/* SOCK_STREAM|SOCK_CLOEXEC */
void sct_p_sock_type(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	unsigned t = (unsigned)c->a[i];
	sct_print_xval(c->l, &sock_types, t & 0xf, "SOCK_???");
	t &= ~0xfu;
	if (t) {
		sct_putc(c->l, '|');
		sct_print_flags(c->l, &sock_type_flags, t, "SOCK_???");
	}
}

void sct_dec_socket(struct sct_call *c)
{
	if (c->exiting)
		return;
	sct_p_sock_domain(c, 0, NULL);
	sct_puts(c->l, ", ");
	sct_p_sock_type(c, 1, NULL);
	sct_puts(c->l, ", ");
	int family = (int)c->a[0];
	if (family == AF_INET || family == AF_INET6)
		sct_print_xval(c->l, &inet_protocols, (unsigned)c->a[2], "IPPROTO_???");
	else
		sct_udec(c->l, (unsigned long)c->a[2]);
}

/* sockaddr_un: sun_path="/tmp/x", or @"abstract" */
static void print_sun_path(struct sct_line *l, const struct sockaddr_un *un, long len)
{
	long path_len = len - (long)offsetof(struct sockaddr_un, sun_path);
	if (path_len <= 0)
		return;
	if (path_len > (long)sizeof un->sun_path)
		path_len = sizeof un->sun_path;
	sct_puts(l, ", sun_path=");
	if (un->sun_path[0]) {
		size_t n = strnlen(un->sun_path, (size_t)path_len);
		sct_quote(l, (const unsigned char *)un->sun_path, n, 0);
	} else {
		sct_putc(l, '@');
		sct_quote(l, (const unsigned char *)un->sun_path + 1, (size_t)path_len - 1, 0);
	}
}

static void print_ipv4(struct sct_line *l, const void *addr);

/* An IPv6 address as inet_ntop writes it (the first longest run of two or more zero groups as "::",
 * an IPv4-mapped or -compatible address with its last 32 bits dotted), without inet_ntop, which is not
 * async-signal-safe. */
static void print_ipv6(struct sct_line *l, const unsigned char *a)
{
	unsigned g[8];
	for (int i = 0; i < 8; i++)
		g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	int best = -1, len = 0;
	for (int i = 0; i < 8;) {
		int j = i;
		while (j < 8 && g[j] == 0)
			j++;
		if (j - i >= 2 && j - i > len) {
			best = i;
			len = j - i;
		}
		i = j > i ? j : i + 1;
	}
	for (int i = 0; i < 8; i++) {
		if (best >= 0 && i >= best && i < best + len) {
			if (i == best)
				sct_putc(l, ':');
			continue;
		}
		if (i)
			sct_putc(l, ':');
		if (i == 6 && best == 0 && (len == 6 || (len == 5 && g[5] == 0xffff))) {
			print_ipv4(l, a + 12);
			return;
		}
		char d[4];
		int n = 0;
		unsigned v = g[i];
		do {
			d[n++] = "0123456789abcdef"[v & 15];
			v >>= 4;
		} while (v);
		while (n)
			sct_putc(l, d[--n]);
	}
	if (best >= 0 && best + len == 8)
		sct_putc(l, ':');
}

static void print_ipv4(struct sct_line *l, const void *addr)
{
	const unsigned char *b = addr;
	for (int k = 0; k < 4; k++) {
		if (k)
			sct_putc(l, '.');
		sct_udec(l, b[k]);
	}
}

void sct_print_sockaddr(struct sct_call *c, uintptr_t addr, long len)
{
	if (!addr) {
		sct_puts(c->l, "NULL");
		return;
	}
	struct sockaddr_storage ss;
	if (len < 2 || (size_t)len > sizeof ss + 1024) {
		sct_hex(c->l, addr);
		return;
	}
	size_t n = (size_t)len < sizeof ss ? (size_t)len : sizeof ss;
	memset(&ss, 0, sizeof ss);
	if (!sct_peek(&ss, addr, n)) {
		sct_hex(c->l, addr);
		return;
	}
	sct_puts(c->l, "{sa_family=");
	sct_print_xval(c->l, &families, ss.ss_family, "AF_???");
	switch (ss.ss_family) {
	case AF_UNIX:
		print_sun_path(c->l, (const struct sockaddr_un *)&ss, (long)n);
		break;
	case AF_INET: {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
		sct_puts(c->l, ", sin_port=htons(");
		sct_udec(c->l, ntohs(in->sin_port));
		sct_puts(c->l, "), sin_addr=inet_addr(\"");
		print_ipv4(c->l, &in->sin_addr);
		sct_puts(c->l, "\")");
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
		sct_puts(c->l, ", sin6_port=htons(");
		sct_udec(c->l, ntohs(in6->sin6_port));
		sct_puts(c->l, "), sin6_flowinfo=htonl(");
		sct_udec(c->l, ntohl(in6->sin6_flowinfo));
		sct_puts(c->l, "), inet_pton(AF_INET6, \"");
		print_ipv6(c->l, in6->sin6_addr.s6_addr);
		sct_puts(c->l, "\", &sin6_addr), sin6_scope_id=");
		sct_udec(c->l, in6->sin6_scope_id);
		break;
	}
	default:
		if (n > 2) {
			sct_puts(c->l, ", sa_data=");
			sct_quote(c->l, (const unsigned char *)&ss + 2, n - 2, 0);
		}
	}
	sct_putc(c->l, '}');
}

void sct_p_sockaddr_in(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_sockaddr(c, sct_addr(c, i), (int)c->a[i + 1]);
}

/*
 * An address the call writes (accept, getsockname, recvfrom): the length argument after it is in-out,
 * [in => out] when it changed. The length before the call was saved at entry in saved[1].
 */
void sct_p_sockaddr_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	uintptr_t a = sct_addr(c, i);
	int rlen;
	if (!a) {
		sct_puts(c->l, "NULL");
		return;
	}
	if (sct_failed(c->ret) || !sct_peek(&rlen, sct_addr(c, i + 1), sizeof rlen)) {
		sct_hex(c->l, a);
		return;
	}
	int ulen = (int)c->saved[1];
	sct_print_sockaddr(c, a, ulen < rlen ? ulen : rlen);
}

void sct_p_socklen_inout(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	uintptr_t a = sct_addr(c, i);
	if (!c->exiting) {
		int ulen = 0;
		c->saved[1] = sct_peek(&ulen, a, sizeof ulen) ? (unsigned)ulen : 0;
		return;
	}
	int rlen;
	if (!a) {
		sct_puts(c->l, "NULL");
		return;
	}
	int ulen = (int)c->saved[1];
	if (sct_failed(c->ret) || !sct_peek(&rlen, a, sizeof rlen)) {
		sct_putc(c->l, '[');
		sct_dec(c->l, ulen);
		sct_putc(c->l, ']');
		return;
	}
	sct_putc(c->l, '[');
	if (ulen != rlen) {
		sct_dec(c->l, ulen);
		sct_puts(c->l, " => ");
	}
	sct_dec(c->l, rlen);
	sct_putc(c->l, ']');
}

void sct_p_msg_flags(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_flags(c->l, &msg_flags, (unsigned)c->a[i], "MSG_???");
}

/* Control messages: SCM_RIGHTS as [fd, ...], others as their header. */
static void print_cmsgs(struct sct_call *c, uintptr_t addr, size_t len)
{
	sct_puts(c->l, ", msg_control=");
	unsigned char buf[512];
	if (len > sizeof buf)
		len = sizeof buf;
	if (!sct_peek(buf, addr, len)) {
		sct_hex(c->l, addr);
		return;
	}
	sct_putc(c->l, '[');
	size_t off = 0;
	bool first = true;
	while (off + sizeof(struct cmsghdr) <= len) {
		struct cmsghdr h;
		memcpy(&h, buf + off, sizeof h);
		if (!first)
			sct_puts(c->l, ", ");
		first = false;
		sct_puts(c->l, "{cmsg_len=");
		sct_udec(c->l, h.cmsg_len);
		sct_puts(c->l, ", cmsg_level=");
		sct_print_xval(c->l, &sol_levels, (unsigned)h.cmsg_level, "SOL_???");
		sct_puts(c->l, ", cmsg_type=");
		if (h.cmsg_level == SOL_SOCKET)
			sct_print_xval(c->l, &scm_types, (unsigned)h.cmsg_type, "SCM_???");
		else
			sct_hex(c->l, (unsigned)h.cmsg_type);
		if (h.cmsg_level == SOL_SOCKET && h.cmsg_type == SCM_RIGHTS) {
			sct_puts(c->l, ", cmsg_data=[");
			size_t data = off + CMSG_LEN(0), end = off + h.cmsg_len;
			if (end > len)
				end = len;
			for (size_t p = data; p + sizeof(int) <= end; p += sizeof(int)) {
				int fd;
				memcpy(&fd, buf + p, sizeof fd);
				if (p != data)
					sct_puts(c->l, ", ");
				sct_print_fd(c, fd);
			}
			sct_putc(c->l, ']');
		}
		sct_putc(c->l, '}');
		if (h.cmsg_len < sizeof h)
			break;
		off += CMSG_ALIGN(h.cmsg_len);
	}
	sct_putc(c->l, ']');
}

static void print_msghdr(struct sct_call *c, uintptr_t addr, unsigned long data_size)
{
	struct msghdr m;
	if (!sct_fetch(c, addr, &m, sizeof m))
		return;
	sct_puts(c->l, "{msg_name=");
	sct_print_sockaddr(c, (uintptr_t)m.msg_name, (long)m.msg_namelen);
	sct_puts(c->l, ", msg_namelen=");
	sct_dec(c->l, (int)m.msg_namelen);
	sct_puts(c->l, ", msg_iov=");
	sct_print_iov(c, (uintptr_t)m.msg_iov, m.msg_iovlen, data_size);
	sct_puts(c->l, ", msg_iovlen=");
	sct_udec(c->l, m.msg_iovlen);
	if (m.msg_control && m.msg_controllen)
		print_cmsgs(c, (uintptr_t)m.msg_control, m.msg_controllen);
	sct_puts(c->l, ", msg_controllen=");
	sct_udec(c->l, m.msg_controllen);
	sct_puts(c->l, ", msg_flags=");
	sct_print_flags(c->l, &msg_flags, (unsigned)m.msg_flags, "MSG_???");
	sct_putc(c->l, '}');
}

void sct_p_msghdr_in(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	print_msghdr(c, sct_addr(c, i), ~0UL);
}

void sct_p_msghdr_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	if (!sct_print_if_failed(c, sct_addr(c, i)))
		print_msghdr(c, sct_addr(c, i), (unsigned long)c->ret);
}

static void print_sockopt_name(struct sct_call *c)
{
	int level = (int)c->a[1];
	sct_print_xval(c->l, &sol_levels, (unsigned)level, "SOL_???");
	sct_puts(c->l, ", ");
	if (level == SOL_SOCKET)
		sct_print_xval(c->l, &so_options, (unsigned)c->a[2], "SO_???");
	else if (level == SOL_TCP)
		sct_print_xval(c->l, &tcp_options, (unsigned)c->a[2], "TCP_???");
	else
		sct_udec(c->l, (unsigned)c->a[2]);
}

/* An option value: [int] when it is an int, else the bytes. */
static void print_sockopt_value(struct sct_call *c, uintptr_t addr, long len)
{
	if (len == sizeof(int)) {
		sct_print_int_in_brackets(c, addr);
		return;
	}
	sct_print_buffer(c, addr, len < 0 ? 0 : (unsigned long)len, 0);
}

void sct_dec_setsockopt(struct sct_call *c)
{
	if (c->exiting)
		return;
	sct_p_fd(c, 0, NULL);
	sct_puts(c->l, ", ");
	print_sockopt_name(c);
	sct_puts(c->l, ", ");
	print_sockopt_value(c, sct_addr(c, 3), (int)c->a[4]);
	sct_puts(c->l, ", ");
	sct_dec(c->l, (int)c->a[4]);
}

void sct_dec_getsockopt(struct sct_call *c)
{
	if (!c->exiting) {
		sct_p_fd(c, 0, NULL);
		sct_puts(c->l, ", ");
		print_sockopt_name(c);
		sct_puts(c->l, ", ");
		int ulen = 0;
		c->saved[1] = sct_peek(&ulen, sct_addr(c, 4), sizeof ulen) ? (unsigned)ulen : 0;
		return;
	}
	int rlen = 0;
	if (sct_failed(c->ret) || !sct_peek(&rlen, sct_addr(c, 4), sizeof rlen))
		sct_ptr(c->l, sct_addr(c, 3));
	else
		print_sockopt_value(c, sct_addr(c, 3), rlen);
	sct_puts(c->l, ", ");
	sct_p_socklen_inout(c, 4, NULL);
}

/* accept, accept4, getsockname, getpeername: fd, then the address and its in-out length at exit. */
void sct_dec_sockname(struct sct_call *c)
{
	if (!c->exiting) {
		sct_p_fd(c, 0, NULL);
		sct_puts(c->l, ", ");
		int ulen = 0;
		bool have = c->a[1] && c->a[2] && sct_peek(&ulen, sct_addr(c, 2), sizeof ulen);
		c->saved[0] = have;
		c->saved[1] = (unsigned)ulen;
		if (!have) {
			sct_ptr(c->l, sct_addr(c, 1));
			sct_puts(c->l, ", ");
			sct_ptr(c->l, sct_addr(c, 2));
		}
		if (!have && c->nr == SYS_accept4) {
			sct_puts(c->l, ", ");
			sct_print_flags(c->l, &sock_type_flags, (unsigned)c->a[3], "SOCK_???");
		}
		return;
	}
	if (c->saved[0]) {
		sct_p_sockaddr_out(c, 1, NULL);
		sct_puts(c->l, ", ");
		sct_p_socklen_inout(c, 2, NULL);
		if (c->nr == SYS_accept4) {
			sct_puts(c->l, ", ");
			sct_print_flags(c->l, &sock_type_flags, (unsigned)c->a[3], "SOCK_???");
		}
	}
}

/* recvfrom(fd, buf, len, flags, src_addr, addrlen) */
void sct_dec_recvfrom(struct sct_call *c)
{
	if (!c->exiting) {
		sct_p_fd(c, 0, NULL);
		sct_puts(c->l, ", ");
		int ulen = 0;
		c->saved[1] = c->a[5] && sct_peek(&ulen, sct_addr(c, 5), sizeof ulen) ? (unsigned)ulen : 0;
		return;
	}
	if (sct_print_if_failed(c, sct_addr(c, 1))) {
		/* the address, printed */
	} else {
		unsigned long n = (unsigned long)c->ret < (unsigned long)c->a[2] ? (unsigned long)c->ret
		                                                                 : (unsigned long)c->a[2];
		sct_print_buffer(c, sct_addr(c, 1), n, 0);
	}
	sct_puts(c->l, ", ");
	sct_udec(c->l, (unsigned long)c->a[2]);
	sct_puts(c->l, ", ");
	sct_p_msg_flags(c, 3, NULL);
	sct_puts(c->l, ", ");
	if (!c->a[4] || !c->a[5]) {
		sct_ptr(c->l, sct_addr(c, 4));
		sct_puts(c->l, ", ");
		sct_ptr(c->l, sct_addr(c, 5));
		return;
	}
	sct_p_sockaddr_out(c, 4, NULL);
	sct_puts(c->l, ", ");
	sct_p_socklen_inout(c, 5, NULL);
}
