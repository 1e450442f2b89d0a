/*
 * Shared helpers for the safecopy suites: page layouts with one bad page (unmapped, PROT_NONE,
 * read-only, or a memfd page beyond the end of its file), position-dependent fill patterns, fast
 * checks for hot loops, and running code that is expected to die in a fork()ed child.
 *
 * Pattern bytes always have the high bit clear and canary bytes always have it set, so a canary
 * can never be mistaken for copied data.
 */
#ifndef SAFECOPY_TESTS_HARNESS_H
#define SAFECOPY_TESTS_HARNESS_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "safecopy.h"

#ifndef SI_KERNEL
#define SI_KERNEL 0x80
#endif

/* A check for hot loops: nothing is sent to the runner unless it fails (then the test stops). */
#define CHECK(cond, ...)                                                         \
	do {                                                                     \
		if (__builtin_expect(!(cond), 0))                                \
			cr_assert_fail("check failed: " #cond ": " __VA_ARGS__); \
	} while (0)

/*
 * The main stack's next 256 KiB, touched before any test runs (Criterion runs each test in a process
 * of its own): the signal frames of faults inside handlers, deep below a test's frame, land on pages
 * that are already there. The kernel would grow the stack for them; valgrind does not grow it for a
 * signal frame and ends the process ("Access not within mapped region"). Weak: one copy in the suite.
 */
__attribute__((constructor, weak, noinline)) void harness_touch_main_stack(void)
{
	volatile char pad[256 * 1024];
	for (size_t i = 0; i < sizeof pad; i += 512)
		pad[i] = 0;
}

static inline size_t pgsz(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static inline uint8_t pat(uintptr_t i)
{
	return (uint8_t)((i * 37u + (i >> 7) * 11u + 1u) & 0x7f);
}

static inline uint8_t canary(uintptr_t i)
{
	return (uint8_t)(0x80 | ((i * 13u + (i >> 9)) & 0x7f));
}

static inline void *map_anon(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(p != MAP_FAILED, "mmap(%zu): %s", len, strerror(errno));
	return p;
}

enum bad_kind { BAD_NONE, BAD_UNMAPPED, BAD_PROT_NONE, BAD_READONLY, BAD_SIGBUS };

static inline const char *kind_name(enum bad_kind k)
{
	static const char *const names[] = {"none", "unmapped", "prot_none", "readonly", "sigbus"};
	return names[k];
}

/* What a fault on a page of this kind reports. */
static inline int kind_signo(enum bad_kind k)
{
	return k == BAD_SIGBUS ? SIGBUS : SIGSEGV;
}

static inline int kind_code(enum bad_kind k)
{
	switch (k) {
	case BAD_UNMAPPED:
		return SEGV_MAPERR;
	case BAD_SIGBUS:
		return BUS_ADRERR;
	default:
		return SEGV_ACCERR;
	}
}

static inline enum safecopy_status kind_status(enum bad_kind k)
{
	return k == BAD_SIGBUS ? SAFECOPY_BUS : SAFECOPY_SEGV;
}

/*
 * [base, bad): `before` bytes of good memory, [bad, bad+pg): the bad page, [bad+pg, bad+2pg): good.
 * Good bytes hold pat(offset) (fill_pattern) or canary(offset) (otherwise). For BAD_SIGBUS the good
 * part before the bad page and the bad page are a MAP_SHARED memfd mapping whose file ends at `bad`.
 */
struct zone {
	char *base;
	char *bad;
	size_t before;
	size_t len;
	enum bad_kind kind;
	bool pattern;
	int fd;
};

static inline uint8_t zone_fill_byte(const struct zone *z, const char *a)
{
	uintptr_t off = (uintptr_t)(a - z->base);
	return z->pattern ? pat(off) : canary(off);
}

static inline void zone_make(struct zone *z, size_t before, enum bad_kind kind, bool pattern)
{
	size_t pg = pgsz();
	cr_assert(before % pg == 0);
	z->before = before;
	z->len = before + 2 * pg;
	z->kind = kind;
	z->pattern = pattern;
	z->fd = -1;
	z->base = map_anon(z->len, PROT_READ | PROT_WRITE);
	z->bad = z->base + before;
	if (kind == BAD_SIGBUS) {
		z->fd = memfd_create("safecopy-test", MFD_CLOEXEC);
		cr_assert(z->fd >= 0);
		cr_assert(ftruncate(z->fd, (off_t)(before + pg)) == 0);
		void *m =
		    mmap(z->base, before + pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, z->fd, 0);
		cr_assert(m == z->base);
	}
	for (size_t i = 0; i < z->len; i++)
		z->base[i] = (char)zone_fill_byte(z, z->base + i);
	switch (kind) {
	case BAD_NONE:
		break;
	case BAD_UNMAPPED:
		cr_assert(munmap(z->bad, pg) == 0);
		break;
	case BAD_PROT_NONE:
		cr_assert(mprotect(z->bad, pg, PROT_NONE) == 0);
		break;
	case BAD_READONLY:
		cr_assert(mprotect(z->bad, pg, PROT_READ) == 0);
		break;
	case BAD_SIGBUS:
		cr_assert(ftruncate(z->fd, (off_t)before) == 0);
		break;
	}
}

/* True if the test itself may read the byte (all but the bad page, unless that is read-only). */
static inline bool zone_readable(const struct zone *z, const char *a)
{
	if (a < z->base || a >= z->base + z->len)
		return false;
	if (a >= z->bad && a < z->bad + pgsz())
		return z->kind == BAD_NONE || z->kind == BAD_READONLY;
	return true;
}

/* Makes the bad page readable again (where it has contents) and checks it still holds its fill. */
static inline void zone_check_bad_page_untouched(struct zone *z)
{
	size_t pg = pgsz();
	if (z->kind == BAD_PROT_NONE || z->kind == BAD_READONLY) {
		cr_assert(mprotect(z->bad, pg, PROT_READ) == 0);
		for (size_t i = 0; i < pg; i++)
			CHECK((uint8_t)z->bad[i] == zone_fill_byte(z, z->bad + i),
			      "bad page byte %zu was written", i);
	}
}

/* The got bytes at dst equal src (or c, for src == NULL); the bytes from got to n + 64 (where the test
 * may read them) still hold z's fill: nothing written after the count. */
static inline void zone_check_done(const struct zone *z, const char *dst, const char *src, int c, size_t n,
                                   size_t got, const char *what)
{
	for (size_t i = 0; i < got; i++)
		CHECK((uint8_t)dst[i] == (src ? (uint8_t)src[i] : (uint8_t)c), "%s n=%zu: byte %zu not done",
		      what, n, i);
	for (const char *a = dst + got; a < dst + n + 64; a++)
		if (zone_readable(z, a))
			CHECK((uint8_t)*a == zone_fill_byte(z, a), "%s n=%zu count %zu: byte %td written",
			      what, n, got, a - dst);
}

/* Puts z's fill back into the len bytes at dst. */
static inline void zone_restore(const struct zone *z, char *dst, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = (char)zone_fill_byte(z, dst + i);
}

static inline void zone_free(struct zone *z)
{
	/*
	 * An unmapped page is a hole any later mmap() may fill (the kernel places one-page mappings in the
	 * highest hole that fits): make sure the test really ran against a hole.
	 */
	if (z->kind == BAD_UNMAPPED)
		cr_assert(msync(z->bad, pgsz(), MS_ASYNC) != 0 && errno == ENOMEM,
		          "test set-up broken: the unmapped page got mapped meanwhile");
	munmap(z->base, z->len);
	if (z->fd >= 0)
		close(z->fd);
	z->fd = -1;
}

static inline void check_fault(const struct safecopy_fault *f, enum safecopy_status status, const void *addr,
                               int signo, int code, const char *what)
{
	CHECK(f->status == status, "%s: status %d (%s), want %d (%s)", what, f->status,
	      safecopy_status_name(f->status), status, safecopy_status_name(status));
	CHECK(f->addr == addr, "%s: addr %p, want %p", what, f->addr, addr);
	CHECK(f->signo == signo, "%s: signo %d, want %d", what, f->signo, signo);
	CHECK(f->code == code, "%s: code %d, want %d", what, f->code, code);
}

static inline void check_fault_ok(const struct safecopy_fault *f, const char *what)
{
	check_fault(f, SAFECOPY_OK, NULL, 0, 0, what);
}

static inline struct safecopy_fault fault_garbage(void)
{
	struct safecopy_fault f;
	memset(&f, 0x5a, sizeof f);
	return f;
}

/* ---- signals made by hand, for safecopy_handle_signal() --------------------------------------------- */

/* Fills si and the trap fields of uc as the kernel would for signal sig (trapno, CR2: see own_fault.c). */
static inline void fake_signal(siginfo_t *si, ucontext_t *uc, int sig, int code, uintptr_t addr,
                               unsigned trapno, uintptr_t cr2)
{
	si->si_signo = sig;
	si->si_code = code;
	si->si_addr = (void *)addr;
	uc->uc_mcontext.gregs[REG_TRAPNO] = trapno;
	uc->uc_mcontext.gregs[REG_CR2] = (greg_t)cr2;
}

/* ---- children ---------------------------------------------------------------------------------- */

/*
 * A word shared with fork()ed children: a child records how far it got (child_step(n)) so that the
 * parent can tell "died at the intended fault" from "died earlier".
 */
static volatile int *child_progress_word;

static inline void child_step(int n)
{
	if (child_progress_word)
		*child_progress_word = n;
}

/* The last step the most recent child reached. */
static inline int child_progress(void)
{
	return child_progress_word ? *child_progress_word : -1;
}

/* Runs fn(arg) in a fork()ed child that exits with its return value; returns the wait status. */
static inline int run_in_child(int (*fn)(void *), void *arg, unsigned timeout_s)
{
	if (!child_progress_word) {
		void *m = mmap(NULL, pgsz(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		cr_assert(m != MAP_FAILED);
		child_progress_word = m;
	}
	*child_progress_word = 0;
	fflush(NULL);
	pid_t pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* No core files from the deaths we provoke, and no hang of the parent if the child hangs. */
		struct rlimit no_core = {0, 0};
		setrlimit(RLIMIT_CORE, &no_core);
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		alarm(timeout_s);
		_exit(fn(arg));
	}
	int status;
	pid_t w;
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	cr_assert(w == pid, "waitpid: %s", strerror(errno));
	return status;
}

static inline void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "wait status 0x%x", status);
}

static inline void expect_exit(int status, int code)
{
	char d[128];
	describe_status(status, d, sizeof d);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == code, "child %s (at step %d), expected exit %d",
	          d, child_progress(), code);
}

/* Death by sig, after the child reached step `step`. */
static inline void expect_signal(int status, int sig, int step)
{
	char d[128];
	describe_status(status, d, sizeof d);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == sig && child_progress() == step,
	          "child %s at step %d, expected death by signal %d (%s) at step %d", d, child_progress(),
	          sig, strsignal(sig), step);
}

/*
 * Sets sig's action: a SA_SIGINFO handler h, or plain (a handler, SIG_DFL or SIG_IGN), with flags and,
 * unless 0, one more signal `masked` in sa_mask. Returns nonzero on failure.
 */
static inline int set_action_masked(int sig, void (*h)(int, siginfo_t *, void *), void (*plain)(int),
                                    int flags, int masked)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	if (masked)
		sigaddset(&sa.sa_mask, masked);
	sa.sa_flags = flags;
	if (h)
		sa.sa_sigaction = h;
	else
		sa.sa_handler = plain;
	return sigaction(sig, &sa, NULL);
}

static inline int set_action(int sig, void (*h)(int, siginfo_t *, void *), void (*plain)(int), int flags)
{
	return set_action_masked(sig, h, plain, flags, 0);
}

static inline pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

#endif
