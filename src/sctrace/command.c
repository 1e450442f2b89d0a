/*
 * sctrace: runs a command with the tracer library preloaded and prints its system calls as strace
 * does. The command itself only sets up: the board, the output, the environment of the first image;
 * it then waits for the traced processes (all of them with -f: it becomes their subreaper), prints
 * how the first one ended when its own library could not, and the -c table.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sctrace/board.h"
#include "sctrace/clock.h"
#include "sctrace/decode.h"
#include "sctrace/options.h"
#include "sctrace/summary.h"

#ifndef SCTRACE_LIBDIR
#define SCTRACE_LIBDIR "/usr/local/lib/sctrace"
#endif

/* Descriptors the tracer keeps in the traced program are placed from here up, out of its way. */
#define SCT_HIGH_FD 100

static void die(const char *what)
{
	fprintf(stderr, "sctrace: %s: %s\n", what, strerror(errno));
	exit(1);
}

static bool is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The tracer library: $SCTRACE_LIB, next to this program (the build tree), in ../lib/sctrace (an
 * installed tree), or in the directory it was installed to. */
static void find_library(char *out, size_t n)
{
	const char *env = getenv("SCTRACE_LIB");
	if (env && *env) {
		if (!realpath(env, out))
			die(env);
		return;
	}
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
	if (len > 0) {
		self[len] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if (snprintf(out, n, "%s/libsctrace.so", self) < (int)n && is_file(out))
				return;
			char real[PATH_MAX];
			if (snprintf(out, n, "%s/../lib/sctrace/libsctrace.so", self) < (int)n &&
			    is_file(out) && realpath(out, real) && snprintf(out, n, "%s", real) < (int)n)
				return;
		}
	}
	if (snprintf(out, n, "%s/libsctrace.so", SCTRACE_LIBDIR) >= (int)n || !is_file(out)) {
		fprintf(stderr, "sctrace: cannot find libsctrace.so (set SCTRACE_LIB)\n");
		exit(1);
	}
}

/* The program to run: as given when it contains a '/', else the first regular executable file of
 * that name in $PATH (what the traced program's execve line then names, as strace's does). */
static bool find_program(const char *name, char *out, size_t n)
{
	if (strchr(name, '/'))
		return snprintf(out, n, "%s", name) < (int)n;
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");
		if (snprintf(out, n, "%.*s%s%s", (int)len, path, len ? "/" : "", name) < (int)n &&
		    is_file(out) && access(out, X_OK) == 0)
			return true;
		path += len + (path[len] == ':');
	}
	return false;
}

/* -o FILE as an absolute path (the traced program may change its directory before -ff opens it). */
static void absolute(const char *file, char *out, size_t n)
{
	char cwd[PATH_MAX];
	if (file[0] != '/' && !getcwd(cwd, sizeof cwd))
		die("getcwd");
	if (snprintf(out, n, "%s%s%s", file[0] == '/' ? "" : cwd, file[0] == '/' ? "" : "/", file) >=
	    (int)n) {
		errno = ENAMETOOLONG;
		die(file);
	}
}

static int high_dup(int fd)
{
	int h = fcntl(fd, F_DUPFD, SCT_HIGH_FD);
	if (h < 0)
		die("fcntl");
	return h;
}

static void setup_output(struct sct_board *b, const struct sct_options *o)
{
	if (o->output) {
		absolute(o->output, b->out_path, sizeof b->out_path);
		if (o->separate)
			return; /* each traced thread opens FILE.TID */
		int fd = open(b->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			die(o->output);
		b->out_fd = high_dup(fd);
		close(fd);
		return;
	}
	b->out_fd = high_dup(2);
}

/* The environment of the first image: LD_PRELOAD with the library first, and the board's number. */
static void child_env(const struct sct_board *b)
{
	char preload[2 * PATH_MAX + 2];
	const char *old = getenv("LD_PRELOAD");
	int n = old && *old ? snprintf(preload, sizeof preload, "%s:%s", b->lib_path, old)
	                    : snprintf(preload, sizeof preload, "%s", b->lib_path);
	if (n >= (int)sizeof preload) {
		errno = ENAMETOOLONG;
		die("LD_PRELOAD");
	}
	char fd[16];
	snprintf(fd, sizeof fd, "%d", b->board_fd);
	if (setenv("LD_PRELOAD", preload, 1) || setenv(SCT_BOARD_ENV, fd, 1))
		die("setenv");
}

static void run_child(struct sct_board *b, char **argv, const char *program)
{
	b->root_pid = getpid();
	child_env(b);
	if (b->ticks_per_ns > 0) {
		b->exec_t0 = sct_rdtsc();
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		b->exec_t0 = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	}
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	execv(program, argv);
	fprintf(stderr, "sctrace: exec %s: %s\n", program, strerror(errno));
	_exit(127);
}

/* Where the command's own lines go: the -o file, FILE.PID with -ff, or stderr. */
static FILE *report_stream(const struct sct_board *b, const struct sct_options *o, pid_t pid)
{
	if (!o->output)
		return fdopen(dup(b->out_fd), "w");
	if (!o->separate)
		return fdopen(dup(b->out_fd), "w");
	char path[PATH_MAX + 16];
	if (snprintf(path, sizeof path, "%s.%d", b->out_path, (int)pid) >= (int)sizeof path)
		return NULL;
	return fopen(path, "a");
}

/* How the first process ended, when its library could not say it (killed, or exited unseen). */
static void report_end(const struct sct_board *b, const struct sct_options *o, pid_t pid, int status)
{
	if (o->quiet >= 2 || o->summary == SCT_SUMMARY_ONLY)
		return;
	if (WIFEXITED(status) && b->root_exit_printed)
		return;
	FILE *f = report_stream(b, o, pid);
	if (!f)
		return;
	if (o->follow && !o->separate && o->output)
		fprintf(f, "%-5d ", (int)pid);
	if (WIFSIGNALED(status)) {
		char buf[16];
		const char *a = sct_signal_abbrev(WTERMSIG(status), buf);
		fprintf(f, "+++ killed by SIG%s %s+++\n", a ? a : "?",
		        WCOREDUMP(status) ? "(core dumped) " : "");
	} else if (WIFEXITED(status)) {
		fprintf(f, "+++ exited with %d +++\n", WEXITSTATUS(status));
	}
	fclose(f);
}

/*
 * TSC ticks per ns when the CPU has an invariant TSC (constant rate, running through idle states):
 * then the tracer times calls with rdtsc, a fraction of clock_gettime's cost. 0 otherwise.
 */
static double tsc_ticks_per_ns(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return 0;
	char line[4096];
	bool constant = false, nonstop = false;
	while (fgets(line, sizeof line, f) && !(constant && nonstop))
		if (strncmp(line, "flags", 5) == 0) {
			constant = strstr(line, " constant_tsc") != NULL;
			nonstop = strstr(line, " nonstop_tsc") != NULL;
		}
	fclose(f);
	if (!constant || !nonstop)
		return 0;
	struct timespec a, z, pause = {0, 5 * 1000 * 1000}; /* 5 ms: the rate to a few parts per million */
	clock_gettime(CLOCK_MONOTONIC, &a);
	uint64_t t0 = sct_rdtsc();
	nanosleep(&pause, NULL);
	clock_gettime(CLOCK_MONOTONIC, &z);
	uint64_t t1 = sct_rdtsc();
	double ns = (double)(z.tv_sec - a.tv_sec) * 1e9 + (double)(z.tv_nsec - a.tv_nsec);
	double ticks = (double)(t1 - t0);
	return ns > 0 && ticks > 0 ? ticks / ns : 0;
}

static void print_summary(const struct sct_board *b, const struct sct_options *o)
{
	FILE *f = o->output && !o->separate ? fdopen(dup(b->out_fd), "w") : stderr;
	if (!f)
		return;
	static struct sct_count ns[SCT_NR_COUNT];
	for (int i = 0; i < SCT_NR_COUNT; i++) {
		ns[i] = b->counts[i];
		if (b->ticks_per_ns > 0)
			ns[i].ticks = (uint64_t)((double)ns[i].ticks / b->ticks_per_ns);
	}
	sct_print_summary(f, ns);
	if (f != stderr)
		fclose(f);
	else
		fflush(f);
}

int main(int argc, char **argv)
{
	struct sct_options o;
	char err[256];
	switch (sct_parse_options(argc, argv, &o, err, sizeof err)) {
	case SCT_PARSE_HELP:
		fputs(sct_usage, stdout);
		return 0;
	case SCT_PARSE_VERSION:
		puts("sctrace 1.0 (safecopy, usertrap)");
		return 0;
	case SCT_PARSE_ERROR:
		fprintf(stderr, "sctrace: %s\nTry 'sctrace -h' for more information.\n", err);
		return 2;
	case SCT_PARSE_OK:
		break;
	}
	char program[PATH_MAX];
	if (!find_program(argv[o.cmd], program, sizeof program)) {
		fprintf(stderr, "sctrace: Can't stat '%s': No such file or directory\n", argv[o.cmd]);
		return 1;
	}
	struct sct_board *b = sct_board_create(SCT_HIGH_FD);
	if (!b)
		die("memfd_create");
	b->opts = o;
	b->opts.output = NULL;
	b->live_tasks = 1;
	if (o.summary != SCT_SUMMARY_NONE || o.syscall_times)
		b->ticks_per_ns = tsc_ticks_per_ns();
	find_library(b->lib_path, sizeof b->lib_path);
	setup_output(b, &o);
	if (o.follow && prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		die("prctl");
	/* The traced program decides what terminal signals do; this process only waits for it. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		run_child(b, argv + o.cmd, program);
	int root_status = 0, status;
	pid_t w;
	while ((w = wait(&status)) != -1 || errno == EINTR)
		if (w == pid)
			root_status = status;
	report_end(b, &o, pid, root_status);
	if (o.summary != SCT_SUMMARY_NONE)
		print_summary(b, &o);
	if (b->capture_lost && o.quiet < 2)
		fprintf(
		    stderr,
		    "sctrace: %llu calls ran without the tracer (usertrap lost the capture of a thread)\n",
		    (unsigned long long)b->capture_lost);
	if (b->sealed_tasks && o.quiet < 2)
		fprintf(stderr,
		        "sctrace: %llu traced process(es) installed a seccomp filter: their calls after it "
		        "are not "
		        "shown (the filter applies to the tracer's own system calls)\n",
		        (unsigned long long)b->sealed_tasks);
	if (WIFSIGNALED(root_status)) {
		int sig = WTERMSIG(root_status);
		signal(sig, SIG_DFL);
		struct rlimit none = {0, 0};
		setrlimit(RLIMIT_CORE, &none); /* the program's core, if any, is the one that matters */
		raise(sig);
		return 128 + sig;
	}
	return WEXITSTATUS(root_status);
}
