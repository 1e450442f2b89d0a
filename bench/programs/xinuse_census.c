/*
 * Which XSAVE state components are in use at real system-call sites: the answer decides what an
 * XINUSE-driven vector save (USERTRAP_VECTOR_INUSE) can skip. Runs glibc's string functions and the
 * calls a program makes around them (write, pread, getppid, openat/close, fstat) with usertrap's lazy
 * capture on, so that libc's sites get patched; for every call that comes through a patched site the
 * hook reads XINUSE (XGETBV with ECX = 1) and counts each component. The trampoline is the XINUSE
 * body: its saves do not change XINUSE, and its restores leave a component that was not in use out of
 * use (the plain-move body's full zmm loads would put every component in use for good, and the census
 * would only see its own trampoline). What runs between the site and the hook is usertrap's C
 * dispatch, which may itself put SSE state in use, so the SSE count is an upper bound. Calls captured by
 * SIGSYS are not counted (signal delivery gives the handler a fresh vector state). Usage: xinuse_census
 * [ROUNDS] Prints one line per component: how many of the counted calls had it in use.
 */
#include <cpuid.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "usertrap.h"

static const char *const component_names[8] = {
    "x87",        "SSE (xmm0-15, MXCSR)", "AVX (ymm0-15 bits 128-255)",       "MPX bounds",
    "MPX config", "opmask (k0-7)",        "ZMM_Hi256 (zmm0-15 bits 256-511)", "Hi16_ZMM (zmm16-31)"};
static unsigned long in_use[8], counted;

static long census_hook(struct usertrap_call *call, void *arg)
{
	(void)arg;
	if (call->flags & USERTRAP_CALL_PATCHED) {
		unsigned lo, hi;
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1));
		for (int i = 0; i < 8; i++)
			in_use[i] += (lo >> i) & 1;
		counted++;
	}
	return usertrap_syscall(call);
}

/* glibc's string functions on this CPU (its AVX2/EVEX variants), then a few system calls. */
static void round_of_work(int in, int out, char *a, char *b, size_t n)
{
	memset(a, 'x', n - 1);
	a[n - 1] = '\0';
	memcpy(b, a, n);
	size_t len = strlen(b) + (strchr(b, 'y') != NULL) + (size_t)memcmp(a, b, n);
	char line[64];
	int k = snprintf(line, sizeof line, "%zu\n", len);
	if (pread(in, b, 64, 0) != 64 || write(out, line, (size_t)k) != k || getppid() <= 0)
		exit(2);
	int fd = open("/dev/null", O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || close(fd) != 0)
		exit(2);
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 10000;
	unsigned a, b, c, d;
	__cpuid_count(0xd, 1, a, b, c, d);
	if (!(a & (1u << 2))) {
		fprintf(stderr, "xinuse_census: this CPU has no XGETBV with ECX = 1 (XINUSE)\n");
		return 1;
	}
	struct usertrap_config cfg = {
	    .hook = census_hook, .flags = USERTRAP_LAZY, .vector_save = USERTRAP_VECTOR_INUSE};
	int r = usertrap_init(&cfg, NULL);
	if (r == 0)
		r = usertrap_capture_thread(true, NULL);
	if (r != 0) {
		fprintf(stderr, "xinuse_census: usertrap: %s\n", usertrap_status_name(r));
		return 1;
	}
	int in = open("/dev/zero", O_RDONLY), out = open("/dev/null", O_WRONLY);
	static char x[4096], y[4096];
	for (long i = 0; i < rounds; i++)
		round_of_work(in, out, x, y, 64 + (size_t)(i % 4000));
	usertrap_capture_thread(false, NULL);
	/* A copy first: printf's own calls go through patched sites too. */
	unsigned long n = counted, seen[8];
	memcpy(seen, in_use, sizeof seen);
	printf("%lu calls through patched sites\n", n);
	for (int i = 0; i < 8; i++)
		printf("  %-34s in use at %5.1f%% (%lu)\n", component_names[i],
		       n ? 100.0 * (double)seen[i] / (double)n : 0.0, seen[i]);
	return 0;
}
