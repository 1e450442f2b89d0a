/*
 * Calls getppid() twice from make_the_call() under lazy capture: the first call reaches the hook
 * through SIGSYS (and patches glibc's site), the second through the patched site's trampoline. Each
 * time the hook prints "via sigsys" or "via patched" and the backtrace libgcc's unwinder finds
 * (backtrace_symbols_fd: one frame a line, names thanks to -rdynamic), then calls stop_here(), where
 * the unwind suite puts a gdb breakpoint.
 */
#include <execinfo.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "usertrap.h"

#define VISIBLE __attribute__((visibility("default"))) /* named in backtraces (-rdynamic) */

VISIBLE __attribute__((noinline)) void stop_here(void)
{
	__asm__ volatile("" ::: "memory");
}

static void say(const char *s)
{
	if (write(1, s, strlen(s)) < 0)
		_exit(3);
}

static long hook(struct usertrap_call *call, void *arg)
{
	(void)arg;
	if (call->nr != SYS_getppid || call->depth != 0)
		return usertrap_syscall(call);
	say(call->flags & USERTRAP_CALL_PATCHED ? "via patched\n" : "via sigsys\n");
	void *frames[64];
	backtrace_symbols_fd(frames, backtrace(frames, 64), 1);
	say("end\n");
	stop_here();
	return usertrap_syscall(call);
}

VISIBLE __attribute__((noinline)) long make_the_call(void)
{
	long r = getppid();
	__asm__ volatile("" ::: "memory"); /* not a tail call: this frame stays on the stack */
	return r;
}

VISIBLE int main(void)
{
	void *warm[4];
	backtrace(warm, 4); /* loads libgcc's unwinder now, not inside the signal handler */
	struct usertrap_config cfg = {.hook = hook, .flags = USERTRAP_LAZY};
	struct usertrap_error err;
	if (usertrap_init(&cfg, &err) != 0 || usertrap_capture_thread(true, &err) != 0) {
		printf("usertrap: %s\n", usertrap_status_name(err.status));
		return 2;
	}
	long a = make_the_call(), b = make_the_call();
	usertrap_capture_thread(false, NULL);
	return a == b && a == (long)syscall(SYS_getppid) ? 0 : 1;
}
