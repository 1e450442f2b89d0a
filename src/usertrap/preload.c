/*
 * libusertrap_preload.so: run an unmodified program with every system call of every thread going
 * through a counting hook (lazy capture on, sites patched on first use). At exit it appends one line
 * per process to $USERTRAP_REPORT (or writes it to stderr if that is unset):
 *   usertrap pid=N calls=N trampoline=N sigsys=N patched=N in_place=N restarts=N
 * USERTRAP_NO_PATCH=1 keeps every call on the signal path.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "usertrap.h"

static uint64_t calls;

static long counting_hook(struct usertrap_call *call, void *arg)
{
	(void)arg;
	__atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
	return usertrap_syscall(call);
}

__attribute__((constructor(101))) static void preload_start(void)
{
	struct usertrap_config cfg = {.hook = counting_hook, .flags = USERTRAP_LAZY};
	const char *np = getenv("USERTRAP_NO_PATCH");
	if (np && *np == '1')
		cfg.flags |= USERTRAP_LAZY_NO_PATCH;
	struct usertrap_error err;
	if (usertrap_init(&cfg, &err) != 0 || usertrap_capture_all(true, &err) != 0) {
		fprintf(stderr, "usertrap_preload: %s (errno %d)\n", usertrap_status_name(err.status),
		        err.sys_errno);
		return;
	}
}

__attribute__((destructor(101))) static void preload_report(void)
{
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	char line[256];
	int n = snprintf(line, sizeof line,
	                 "usertrap pid=%ld calls=%llu trampoline=%llu sigsys=%llu patched=%llu in_place=%llu "
	                 "restarts=%llu\n",
	                 (long)getpid(), (unsigned long long)__atomic_load_n(&calls, __ATOMIC_RELAXED),
	                 (unsigned long long)c.trampoline_calls, (unsigned long long)c.sigsys_calls,
	                 (unsigned long long)c.sites_patched, (unsigned long long)c.in_place_calls,
	                 (unsigned long long)c.sigill_restarts);
	const char *path = getenv("USERTRAP_REPORT");
	int fd = path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : 2;
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) < 0) {
		/* nothing useful to do: the report is best effort */
	}
	if (fd != 2)
		close(fd);
}
