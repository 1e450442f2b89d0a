/* Signal names as strace prints them: glibc's abbreviations, strace's few differences, RT signals. */
#include <string.h>

#include "sctrace/decode.h"

/* The kernel's first real-time signal (glibc keeps 32 and 33 for itself; strace counts from 32). */
#define SCT_SIGRTMIN 32
#define SCT_SIGRTMAX 64

const char *sct_signal_abbrev(long sig, char buf[16])
{
	if (sig == 29)
		return "IO"; /* glibc says POLL; strace, like the kernel's headers, IO */
	if (sig > 0 && sig < SCT_SIGRTMIN)
		return sigabbrev_np((int)sig);
	if (sig == SCT_SIGRTMIN)
		return "RTMIN";
	if (sig > SCT_SIGRTMIN && sig <= SCT_SIGRTMAX) {
		struct sct_line l;
		sct_line_init(&l, buf, 16);
		sct_puts(&l, "RT_");
		sct_udec(&l, (unsigned long)(sig - SCT_SIGRTMIN));
		buf[l.len] = '\0';
		return buf;
	}
	return NULL;
}

void sct_print_signal(struct sct_line *l, long sig)
{
	char buf[16];
	const char *a = sct_signal_abbrev(sig, buf);
	if (a) {
		sct_puts(l, "SIG");
		sct_puts(l, a);
	} else {
		sct_dec(l, sig);
	}
}
