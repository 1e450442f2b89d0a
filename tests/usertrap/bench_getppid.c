/*
 * usertrap_bench: the cost of one getppid() through each path, in one run, as ns per call and as a
 * ratio to the native call (the bench harness in bench/ had not landed when this was written; this is
 * a standalone program: build/<variant>/tests/usertrap/usertrap_bench [calls]).
 *
 *   native          the site, not patched, no usertrap
 *   sud-only        Syscall User Dispatch on, patching off: SIGSYS, hook, pass-through, sigreturn
 *   patched/xsavec  patched site, pass-through hook, vector state saved with XSAVEC
 *   patched/xsave   the same with XSAVE (standard format)
 *   patched/regs    the same, vector registers saved with plain moves (the default)
 *   patched/novec   the same, hook registered with USERTRAP_HOOK_NO_VECTOR (general registers only)
 *   answer/xsavec   patched site, the hook answers without a syscall (pure trampoline cost)
 *   answer/regs     the same with plain-move vector save (the default)
 *   answer/novec    the same without vector save
 *
 * Every row runs in its own child process (usertrap is set up once per process), best of 7 rounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "usertrap.h"

static long ppid;

static long pass(struct usertrap_call *call, void *arg)
{
	(void)arg;
	return usertrap_syscall(call);
}

static long answer(struct usertrap_call *call, void *arg)
{
	(void)arg;
	return call->nr == SYS_getppid ? ppid : usertrap_syscall(call);
}

enum mode { NATIVE, SUD, PATCHED };

struct row {
	const char *name;
	enum mode mode;
	usertrap_hook_fn hook;
	unsigned flags;
	enum usertrap_vector_save vec;
	int divide; /* fewer calls for the slow path */
};

static const struct row rows[] = {
    {"native", NATIVE, NULL, 0, 0, 1},
    {"sud-only", SUD, pass, USERTRAP_LAZY | USERTRAP_LAZY_NO_PATCH, USERTRAP_VECTOR_AUTO, 20},
    {"patched/xsavec", PATCHED, pass, 0, USERTRAP_VECTOR_XSAVEC, 1},
    {"patched/xsave", PATCHED, pass, 0, USERTRAP_VECTOR_XSAVE, 1},
    {"patched/regs", PATCHED, pass, 0, USERTRAP_VECTOR_REGS, 1},
    {"patched/novec", PATCHED, pass, USERTRAP_HOOK_NO_VECTOR, USERTRAP_VECTOR_AUTO, 1},
    {"answer/xsavec", PATCHED, answer, 0, USERTRAP_VECTOR_XSAVEC, 1},
    {"answer/regs", PATCHED, answer, 0, USERTRAP_VECTOR_REGS, 1},
    {"answer/novec", PATCHED, answer, USERTRAP_HOOK_NO_VECTOR, USERTRAP_VECTOR_AUTO, 1},
};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* ns per call for one row, or a negative usertrap status. */
static double measure(const struct row *r, long calls)
{
	unsigned char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return -1000;
	const unsigned char code[] = {0xb8, SYS_getppid, 0,    0,
	                              0,    0x0f,        0x05, 0xc3}; /* mov $110,%eax; syscall; ret */
	memcpy(m, code, sizeof code);
	if (mprotect(m, 4096, PROT_READ | PROT_EXEC))
		return -1000;
	long (*site)(void) = (long (*)(void))(void *)m;
	if (r->mode != NATIVE) {
		struct usertrap_config cfg = {.hook = r->hook, .flags = r->flags, .vector_save = r->vec};
		int e = usertrap_init(&cfg, NULL);
		if (e)
			return e;
		if (r->mode == SUD && (e = usertrap_capture_thread(true, NULL)))
			return e;
		if (r->mode == PATCHED && (e = usertrap_patch(m, SYS_getppid, NULL)))
			return e;
	}
	ppid = getppid(); /* in this child */
	calls /= r->divide;
	double best = 1e30;
	for (int round = 0; round < 7; round++) {
		double t0 = now();
		for (long i = 0; i < calls; i++)
			if (site() != ppid)
				return -1001;
		double ns = (now() - t0) / (double)calls;
		if (ns < best)
			best = ns;
	}
	return best;
}

int main(int argc, char **argv)
{
	long calls = argc > 1 ? atol(argv[1]) : 1000000;

	double ns[sizeof rows / sizeof rows[0]];
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		int fd[2];
		if (pipe(fd))
			return 1;
		pid_t c = fork();
		if (c == 0) {
			double v = measure(&rows[i], calls);
			if (write(fd[1], &v, sizeof v) != sizeof v)
				_exit(1);
			_exit(0);
		}
		close(fd[1]);
		if (read(fd[0], &ns[i], sizeof ns[i]) != sizeof ns[i])
			ns[i] = -1002;
		close(fd[0]);
		waitpid(c, NULL, 0);
	}
	printf("%-16s %10s %10s\n", "getppid via", "ns/call", "x native");
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		if (ns[i] < 0)
			printf("%-16s %10s (%s)\n", rows[i].name, "failed",
			       ns[i] > -1000 ? usertrap_status_name((int)ns[i]) : "setup or wrong result");
		else
			printf("%-16s %10.1f %10.2f\n", rows[i].name, ns[i], ns[i] / ns[0]);
	}
	if (ns[1] > 0 && ns[4] > 0)
		printf("sud-only / patched/regs = %.1fx; sud-only / patched/xsavec = %.1fx\n", ns[1] / ns[4],
		       ns[1] / ns[2]);
	return 0;
}
