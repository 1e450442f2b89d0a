/* Decoders of prctl and arch_prctl: the option, then what it takes and what it gives back. */
#include <asm/prctl.h>
#include <sys/prctl.h>

#include "sctrace/decoders.h"
#include "sctrace/quote.h"

SCT_XLAT(arch_prctl_codes, SCT_X(ARCH_SET_GS), SCT_X(ARCH_SET_FS), SCT_X(ARCH_GET_FS), SCT_X(ARCH_GET_GS),
         {0x1011, "ARCH_GET_CPUID"}, {0x1012, "ARCH_SET_CPUID"}, {0x1021, "ARCH_GET_XCOMP_SUPP"},
         {0x1022, "ARCH_GET_XCOMP_PERM"}, {0x1023, "ARCH_REQ_XCOMP_PERM"});
SCT_XLAT(prctl_options, SCT_X(PR_SET_PDEATHSIG), SCT_X(PR_GET_PDEATHSIG), SCT_X(PR_GET_DUMPABLE),
         SCT_X(PR_SET_DUMPABLE), SCT_X(PR_GET_KEEPCAPS), SCT_X(PR_SET_KEEPCAPS), SCT_X(PR_SET_NAME),
         SCT_X(PR_GET_NAME), SCT_X(PR_GET_SECCOMP), SCT_X(PR_SET_SECCOMP), SCT_X(PR_CAPBSET_READ),
         SCT_X(PR_CAPBSET_DROP), SCT_X(PR_GET_TIMERSLACK), SCT_X(PR_SET_TIMERSLACK),
         SCT_X(PR_SET_CHILD_SUBREAPER), SCT_X(PR_GET_CHILD_SUBREAPER), SCT_X(PR_SET_NO_NEW_PRIVS),
         SCT_X(PR_GET_NO_NEW_PRIVS), SCT_X(PR_SET_THP_DISABLE), SCT_X(PR_GET_THP_DISABLE),
         SCT_X(PR_CAP_AMBIENT), SCT_X(PR_GET_SPECULATION_CTRL), SCT_X(PR_SET_SPECULATION_CTRL),
         {59, "PR_SET_SYSCALL_USER_DISPATCH"}, {0x59616d61, "PR_SET_PTRACER"});
SCT_XLAT(dumpable, {0, "SUID_DUMP_DISABLE"}, {1, "SUID_DUMP_USER"}, {2, "SUID_DUMP_ROOT"});

/* The remaining arguments of an option strace does not decode further, in hex. */
static void print_prctl_rest(struct sct_call *c, int from)
{
	for (int k = from; k < 5; k++) {
		sct_puts(c->l, ", ");
		sct_hex(c->l, (unsigned long)c->a[k]);
	}
}

void sct_dec_prctl(struct sct_call *c)
{
	unsigned opt = (unsigned)c->a[0];
	if (!c->exiting) {
		sct_print_xval(c->l, &prctl_options, opt, "PR_???");
		switch (opt) {
		case PR_SET_NAME:
			sct_puts(c->l, ", ");
			sct_print_string_n(c, sct_addr(c, 1), 15); /* TASK_COMM_LEN - 1 */
			return;
		case PR_GET_NAME:
		case PR_GET_PDEATHSIG:
			sct_puts(c->l, ", ");
			return;
		case PR_SET_PDEATHSIG:
			sct_puts(c->l, ", ");
			if ((unsigned long)c->a[1] > 128)
				sct_udec(c->l, (unsigned long)c->a[1]);
			else
				sct_print_signal(c->l, c->a[1]);
			return;
		case PR_SET_DUMPABLE:
			sct_puts(c->l, ", ");
			sct_print_xval(c->l, &dumpable, (unsigned long)c->a[1], "SUID_DUMP_???");
			return;
		case PR_SET_NO_NEW_PRIVS:
		case PR_SET_THP_DISABLE:
		case PR_SET_CHILD_SUBREAPER:
		case PR_SET_KEEPCAPS:
			sct_puts(c->l, ", ");
			sct_udec(c->l, (unsigned long)c->a[1]);
			if (opt != PR_SET_CHILD_SUBREAPER && opt != PR_SET_KEEPCAPS)
				print_prctl_rest(c, 2);
			return;
		case PR_GET_DUMPABLE:
		case PR_GET_NO_NEW_PRIVS:
		case PR_GET_KEEPCAPS:
		case PR_GET_THP_DISABLE:
		case PR_GET_TIMERSLACK:
		case PR_GET_SECCOMP:
			return;
		case PR_GET_CHILD_SUBREAPER:
			sct_puts(c->l, ", ");
			return;
		default:
			print_prctl_rest(c, 1);
			return;
		}
	}
	switch (opt) {
	case PR_GET_NAME:
		if (sct_print_if_failed(c, sct_addr(c, 1)))
			return;
		{
			char name[16];
			if (sct_fetch(c, sct_addr(c, 1), name, sizeof name))
				sct_quote(c->l, (const unsigned char *)name, sizeof name, SCT_QUOTE_NUL_ENDS);
		}
		return;
	case PR_GET_PDEATHSIG:
		if (!sct_print_if_failed(c, sct_addr(c, 1))) {
			int sig;
			if (sct_fetch(c, sct_addr(c, 1), &sig, sizeof sig)) {
				sct_putc(c->l, '[');
				sct_print_signal(c->l, sig);
				sct_putc(c->l, ']');
			}
		}
		return;
	case PR_GET_CHILD_SUBREAPER:
		sct_p_int_out(c, 1, NULL);
		return;
	case PR_GET_DUMPABLE:
		if (!sct_failed(c->ret)) {
			const char *n = sct_xlat_name(&dumpable, (unsigned long)c->ret);
			if (n) {
				struct sct_line l;
				sct_aux_begin(c, &l);
				sct_puts(&l, n);
				sct_aux_end(c, &l);
			}
		}
		return;
	}
}

void sct_dec_arch_prctl(struct sct_call *c)
{
	unsigned code = (unsigned)c->a[0];
	bool get = code == ARCH_GET_FS || code == ARCH_GET_GS;
	if (!c->exiting) {
		sct_print_xval(c->l, &arch_prctl_codes, code, "ARCH_???");
		sct_puts(c->l, ", ");
		if (!get)
			sct_hex(c->l, (unsigned long)c->a[1]);
		return;
	}
	if (get) {
		uintptr_t a = sct_addr(c, 1);
		unsigned long v;
		if (!sct_print_if_failed(c, a) && sct_fetch(c, a, &v, sizeof v)) {
			sct_putc(c->l, '[');
			sct_hex(c->l, v);
			sct_putc(c->l, ']');
		}
	}
}
