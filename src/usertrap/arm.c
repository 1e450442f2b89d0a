/* Arming the other threads of the process, and the threads created later (pthread_create is wrapped:
 * every new thread starts with the fault signals unblocked, and is armed while capture_all is on). */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "arch/x86_64.h"
#include "usertrap/arm.h"
#include "usertrap/status.h"
#include "usertrap/sud.h"
#include "usertrap/table.h"

#define ARM_MAGIC 0x75740001 /* sival_int of the SIGSYS that asks a thread to arm itself */
static int arm_acks;
static bool new_threads_armed;

bool ut_arm_answer(const siginfo_t *info, void *uc)
{
	if (info->si_code != SI_QUEUE || info->si_value.sival_int != ARM_MAGIC ||
	    info->si_pid != (pid_t)UT_SYS0(SYS_getpid))
		return false;
	/* Not if the mask this thread returns to blocks SIGSYS (it was caught inside a call with a
	 * temporary mask, e.g. epoll_pwait): its next call would be intercepted and kill it. */
	if (!(*arch_uc_sigmask(uc) & (1ULL << (SIGSYS - 1))))
		ut_sud_arm(true);
	__atomic_fetch_add(&arm_acks, 1, __ATOMIC_RELEASE);
	return true;
}

/* True if thread tid blocks SIGSYS now (it could not answer; it is left as it is). */
static bool blocks_sigsys(long tid)
{
	char path[64], line[128];
	snprintf(path, sizeof path, "/proc/self/task/%ld/status", tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return true;
	bool blocked = false;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "SigBlk:", 7) == 0)
			blocked = (strtoull(line + 7, NULL, 16) >> (SIGSYS - 1)) & 1;
	fclose(f);
	return blocked;
}

static bool ask_to_arm(long pid, long tid)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = SIGSYS;
	si.si_code = SI_QUEUE;
	si.si_pid = (pid_t)pid;
	si.si_uid = getuid();
	si.si_value.sival_int = ARM_MAGIC;
	return UT_SYS4(SYS_rt_tgsigqueueinfo, pid, tid, SIGSYS, &si) == 0;
}

static void wait_for_answers(int sent)
{
	if (!sent)
		return; /* (the first clock_gettime of a process faults in the vDSO's data page, ~5 us) */
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (__atomic_load_n(&arm_acks, __ATOMIC_ACQUIRE) < sent) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) > 1000000000L)
			break;
		UT_SYS0(SYS_sched_yield);
	}
}

/* /proc/self/task is read with raw system calls into a stack buffer: the calling thread is armed
 * already, and opendir's calls were each a SIGSYS and a first hit (two sites patched, tens of
 * microseconds, at the start of every process under the preload). A process that glibc knows to be
 * single-threaded (no pthread_create yet: every process the preload starts in) has no other thread to
 * ask, and is spared the open and reads of /proc (~10 us). Threads made by a raw clone behind glibc's
 * back are not counted there; glibc does not support those either. */
int ut_arm_others(void)
{
	if (__libc_single_threaded)
		return 0;
	long pid = UT_SYS0(SYS_getpid), self = UT_SYS0(SYS_gettid);
	int fd = (int)UT_SYS3(SYS_open, "/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	int sent = 0;
	__atomic_store_n(&arm_acks, 0, __ATOMIC_RELEASE);
	_Alignas(struct dirent64) char buf[2048];
	long n;
	while ((n = UT_SYS3(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
		for (long off = 0; off < n;) {
			const struct dirent64 *e = (const struct dirent64 *)(void *)(buf + off);
			long tid = strtol(e->d_name, NULL, 10);
			if (tid > 0 && tid != self && !blocks_sigsys(tid) && ask_to_arm(pid, tid))
				sent++;
			off += e->d_reclen;
		}
	}
	UT_SYS1(SYS_close, fd);
	wait_for_answers(sent);
	return n < 0 ? (int)n : 0;
}

void ut_arm_new_threads(bool on)
{
	__atomic_store_n(&new_threads_armed, on, __ATOMIC_RELEASE);
}

/* ---- pthread_create, wrapped ---- */

struct start {
	void *(*fn)(void *);
	void *arg;
	bool arm; /* capture_all was on when the thread was made */
};

/* SIGILL (a guard byte), SIGSEGV and SIGBUS (a libsafecopy fault): blocking these synchronous signals
 * only turns the fault into a kill, as the kernel forces a blocked one with its default action. A
 * thread made with every signal blocked (nanomsg's worker, run by Criterion, blocks all from its start)
 * would die on meeting a site being patched. */
#define FAULT_SIGNALS (UT_KEEP_MASK & ~(1ULL << (SIGSYS - 1))) /* SIGSYS: only once armed, below */

static void *start_thread(void *p)
{
	struct start s = *(struct start *)p;
	free(p);
	uint64_t faults = FAULT_SIGNALS;
	if (!ut_sud_sealed()) /* a seccomp filter may forbid rt_sigprocmask (seccomp.h) */
		UT_SYS4(SYS_rt_sigprocmask, SIG_UNBLOCK, &faults, NULL, UT_SIGSET_SIZE);
	if (s.arm && ut_running() && ut_sud_in_use() && !ut_sud_sealed()) {
		ut_sud_unblock_keep();
		ut_sud_arm(true);
	}
	return s.fn(s.arg);
}

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

__attribute__((visibility("default"))) int pthread_create(pthread_t *t, const pthread_attr_t *attr,
                                                          void *(*fn)(void *), void *arg)
{
	static pthread_create_fn real;
	pthread_create_fn f = __atomic_load_n(&real, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (pthread_create_fn)dlsym(RTLD_NEXT, "pthread_create");
		if (!f)
			return EAGAIN;
		__atomic_store_n(&real, f, __ATOMIC_RELEASE);
	}
	struct start *s = malloc(sizeof *s);
	if (!s)
		return EAGAIN;
	s->fn = fn;
	s->arg = arg;
	s->arm = __atomic_load_n(&new_threads_armed, __ATOMIC_ACQUIRE);
	int r = f(t, attr, start_thread, s);
	if (r)
		free(s);
	return r;
}
