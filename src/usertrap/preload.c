/*
 * libusertrap_preload.so: run an unmodified program with every system call of every thread going
 * through a counting hook (lazy capture on, sites patched on first use). At exit it appends one line
 * per process to $USERTRAP_REPORT (or, if that is unset, to stderr if fd 2 is still the file it was at
 * start: a program that closed it and opened a file of its own there must not find the line in it),
 * from its destructor, or from the hook when the process calls exit_group without running
 * destructors (_exit, as dash leaves):
 *   usertrap pid=N calls=N trampoline=N sigsys=N patched=N in_place=N restarts=N sigill=N
 *            sigsys_native=N patches=N patch_failures=N capture_lost=N fast=P%
 * calls (the hook's own count) = trampoline + sigsys + sigill; sigsys_native (rt_sigreturn) never
 * reaches the hook; fast is trampoline / calls. A forked child counts from zero.
 * No report comes from a process that installed a seccomp filter (usertrap_seccomp_sealed).
 * USERTRAP_NO_PATCH=1 keeps every call on the signal path. At start the syscall sites of the libc
 * wrappers nearly every process calls (eager_functions) are patched before their first call
 * (usertrap_patch_functions); USERTRAP_EAGER=0 leaves them to lazy capture. Other sites are patched
 * at their first SIGSYS call; USERTRAP_PATCH_HITS=k at their k-th (usertrap_set_patch_hits).
 * The eager pass keeps what it learns from the decoder in a plan cache (usertrap_set_plan_cache):
 * ${XDG_CACHE_HOME:-$HOME/.cache}/usertrap, USERTRAP_CACHE=DIR another directory, USERTRAP_CACHE=0
 * none. A process whose cache holds every eager function does not load Zydis: its lazy first hits
 * take windows from the cache; a site whose plan is missing stays on the SIGSYS path (counted as a
 * patch failure) and is planned at the process's end (usertrap_save_plan_cache) for the next ones.
 * USERTRAP_REPORT_SITES=N adds the N sites whose calls stayed on the SIGSYS path most often, with their bytes
 * and mapping (preload_sites.h), to the destructor's report only (listing them reads /proc/self/maps
 * with stdio, which the hook, possibly in a signal handler, must not).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "usertrap.h"
#include "usertrap/cells.h"
#include "usertrap/preload_report.h"
#include "usertrap/preload_sites.h"

/* The exported libc functions whose sites (nearly) every process reached first in `make -j2` of a C
 * project, git and coreutils (glibc 2.36; a name a libc lacks is skipped). The last line: the signal
 * calls and the internal (GLIBC_PRIVATE) calls of setlocale's file reading, which were each a SIGSYS
 * and a lazy first hit in git --version (~15 us each; ~6 us each here). */
/* clang-format off */
static const char *const eager_functions[] = {
    "read",            "write",            "open64",          "close",           "fstatat64",
    "mmap64",          "brk",              "getpid",          "access",          "getdents64",
    "getrandom",       "getcwd",           "tcgetattr",       "readlink",        "getrlimit64",
    "pthread_sigmask", "__libc_sigaction", "__open_nocancel", "__read_nocancel", "__close_nocancel",
};
/* clang-format on */

/* A site is patched at its PATCH_HITS-th SIGSYS call. 2 or 3 measured no faster here: with the eager
 * pass, short processes (git --version, ls, id, date) hit almost no other site. Cutting the eager list
 * to six functions with k = 2 saved ~5% of git --version but took make -j2 to 93% (goal 95%). */
#define PATCH_HITS 1

/* The hook's own count of calls, per thread: a locked add on every call cost about 5% of
 * `dd bs=64`'s time under the tool. */
static struct ut_cells calls;
static __thread uint64_t *my_calls __attribute__((tls_model("initial-exec")));
static unsigned report_sites;
static const char *report_path; /* $USERTRAP_REPORT at start */
static int reported;            /* the report is written once per process */
/* What fd 2 was at start: the report goes to stderr only if it still is. */
static struct stat stderr_at_start;
static bool stderr_open_at_start;

/* An x86-64 fork, clone or clone3 (an i386 call only shares numbers with them: i386 57 is setpgid;
 * i386 fork-like calls run in place and never return here). */
static bool fork_like(const struct usertrap_call *call)
{
	return !(call->flags & USERTRAP_CALL_I386) &&
	       (call->nr == SYS_fork || call->nr == SYS_clone || call->nr == SYS_clone3);
}

/* A fork-like call returned 0: this is a child with memory of its own (calls sharing memory run in
 * place and never return here), which counts from zero like the library's counters. */
static bool forked_child(const struct usertrap_call *call, long r)
{
	return r == 0 && !(call->flags & USERTRAP_CALL_IN_PLACE) && fork_like(call);
}

static void report(bool in_destructor);

/* Only the fork-like calls' results matter here: every other call is passed through with
 * USERTRAP_RESULT_PASS, which a patched site makes after the hook has returned (the cheaper way). */
static long counting_hook(struct usertrap_call *call, void *arg)
{
	(void)arg;
	ut_cells_add(&calls, &my_calls);
	if (call->nr == SYS_exit_group && !(call->flags & USERTRAP_CALL_I386))
		report(false); /* no destructor may run after it (_exit) */
	unsigned top = __atomic_load_n(&report_sites, __ATOMIC_RELAXED);
	if (top && (call->flags & USERTRAP_CALL_SIGSYS))
		preload_sites_count((uintptr_t)call->site, call->nr, call->flags & USERTRAP_CALL_I386);
	if (!fork_like(call))
		return USERTRAP_RESULT_PASS;
	long r = usertrap_syscall(call);
	if (forked_child(call, r)) {
		ut_cells_zero(&calls);
		__atomic_store_n(&reported, 0, __ATOMIC_RELAXED); /* a child reports for itself */
		if (top)
			preload_sites_reset();
	}
	return r;
}

/* The plan cache's directory (see the top), or NULL. */
static const char *cache_dir(char *buf, size_t n)
{
	const char *set = getenv("USERTRAP_CACHE"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (set)
		return strcmp(set, "0") && *set ? set : NULL;
	int len = xdg && *xdg     ? snprintf(buf, n, "%s/usertrap", xdg)
	          : home && *home ? snprintf(buf, n, "%s/.cache/usertrap", home)
	                          : -1;
	return len > 0 && (size_t)len < n ? buf : NULL;
}

__attribute__((constructor(101))) static void preload_start(void)
{
	stderr_open_at_start = fstat(2, &stderr_at_start) == 0;
	report_path = getenv("USERTRAP_REPORT");
	char dir[4096];
	usertrap_set_plan_cache(cache_dir(dir, sizeof dir));
	struct usertrap_config cfg = {.hook = counting_hook, .flags = USERTRAP_LAZY};
	const char *np = getenv("USERTRAP_NO_PATCH");
	if (np && *np == '1')
		cfg.flags |= USERTRAP_LAZY_NO_PATCH;
	const char *rs = getenv("USERTRAP_REPORT_SITES");
	if (rs)
		report_sites = (unsigned)strtoul(rs, NULL, 10);
	struct usertrap_error err;
	const char *eager = getenv("USERTRAP_EAGER");
	const char *hits = getenv("USERTRAP_PATCH_HITS");
	usertrap_set_patch_hits(hits ? (unsigned)strtoul(hits, NULL, 10) : PATCH_HITS);
	int r = usertrap_init(&cfg, &err);
	/* Before capture starts, so that capture_all's own calls already take the jumps. */
	if (r == 0 && !(cfg.flags & USERTRAP_LAZY_NO_PATCH) && !(eager && *eager == '0'))
		usertrap_patch_functions(eager_functions, sizeof eager_functions / sizeof eager_functions[0],
		                         NULL);
	if (r != 0 || usertrap_capture_all(true, &err) != 0)
		fprintf(stderr, "usertrap_preload: %s (errno %d)\n", usertrap_status_name(err.status),
		        err.sys_errno);
}

/* fd 2 is the file it was at start (dup2 of that file onto it again counts: same device and inode). */
static bool stderr_unchanged(void)
{
	struct stat now;
	return stderr_open_at_start && fstat(2, &now) == 0 && now.st_dev == stderr_at_start.st_dev &&
	       now.st_ino == stderr_at_start.st_ino;
}

/* Writes the report (see the top), once per process; in_destructor: not from the hook, so also the
 * site lines and the plan cache's save. */
static void report(bool in_destructor)
{
	/* Not after the program sealed itself with a seccomp filter: any of the report's calls (getpid,
	 * open, write, the plan cache's files) may be forbidden, and the process would be killed. */
	if (usertrap_seccomp_sealed() || __atomic_exchange_n(&reported, 1, __ATOMIC_ACQ_REL))
		return;
	static char text[16384]; /* one write, so that processes appending at once do not interleave */
	/* getpid first: it goes through the hook too, and the two snapshots after it must agree */
	long pid = (long)getpid();
	struct usertrap_counters c;
	usertrap_get_counters(&c);
	size_t len = preload_counts_line(text, sizeof text, pid, ut_cells_sum(&calls), &c);
	/* The listing reads /proc/self/maps itself: its own calls are not the program's. */
	unsigned top = __atomic_exchange_n(&report_sites, 0, __ATOMIC_RELAXED);
	if (in_destructor && top && len < sizeof text)
		len += preload_sites_report(pid, top, text + len, sizeof text - len);
	/* After the counts: its calls (a file written, perhaps Zydis loaded) are the tool's, not the
	 * program's. Not from the hook: it reads and writes files, and may load Zydis. */
	if (in_destructor)
		usertrap_save_plan_cache();
	if (!report_path && !stderr_unchanged())
		return;
	int fd = report_path ? open(report_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : 2;
	if (fd < 0)
		return;
	if (write(fd, text, len) < 0) {
		/* nothing useful to do: the report is best effort */
	}
	if (fd != 2)
		close(fd);
}

__attribute__((destructor(101))) static void preload_report(void)
{
	report(true);
}
