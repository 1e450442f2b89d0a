/*
 * What the lines look like and where they go: -o, -ff, the pid prefixes of -f, -qq, -e trace= and
 * status=, -s, -T, -t/-tt/-ttt, -y, "<unfinished ...>"/"<... resumed>", lines from a signal handler,
 * the program's environment, and the tracer's descriptors surviving a program that closes them all.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sctrace/util.h"

static char dir[64];

static void setup(void)
{
	scratch_make(dir);
}

static void teardown(void)
{
	scratch_remove(dir);
}

TestSuite(output, .init = setup, .fini = teardown, .timeout = 60);

/* Runs sctrace with up to four options and a program; the trace file's contents (in -o DIR/trace). */
static char *traced(const char *o1, const char *o2, const char *o3, char *const prog[])
{
	char out[128];
	snprintf(out, sizeof out, "%s/trace", dir);
	char *argv[16] = {SCTRACE_BIN, "-o", out};
	int k = 3;
	for (const char *o[] = {o1, o2, o3}, **p = o; p < o + 3; p++)
		if (*p)
			argv[k++] = (char *)*p;
	for (int i = 0; prog[i]; i++)
		argv[k++] = prog[i];
	argv[k] = NULL;
	struct run r = run_in(dir, argv, NULL);
	cr_assert(WIFEXITED(r.status), "status %#x", r.status);
	run_free(&r);
	return slurp(out, NULL);
}

/* Calls f(line) for each line of text. */
#define EACH_LINE(text, line, body)                                      \
	for (char *line = (text), *next_; line && *line; line = next_) { \
		next_ = strchr(line, '\n');                              \
		if (next_)                                               \
			*next_++ = '\0';                                 \
		body;                                                    \
		if (next_)                                               \
			next_[-1] = '\n';                                \
	}

Test(output, to_a_file_and_to_stderr)
{
	char *cat[] = {"/bin/cat", "/etc/hostname", NULL};
	char *trace = traced(NULL, NULL, NULL, cat);
	cr_assert_eq(strncmp(trace, "execve(\"/bin/cat\", [\"/bin/cat\", \"/etc/hostname\"], ", 47), 0, "%s",
	             trace);
	cr_assert(strstr(trace, "openat(AT_FDCWD, \"/etc/hostname\", O_RDONLY) = 3\n"));
	cr_assert(strstr(trace, "\nexit_group(0)                           = ?\n+++ exited with 0 +++\n"));
	free(trace);
	char *argv[] = {SCTRACE_BIN, "/bin/cat", "/etc/hostname", NULL};
	struct run r = run_in(dir, argv, NULL);
	char *expect = slurp("/etc/hostname", NULL);
	cr_assert_str_eq(r.out, expect); /* the program's output is its own */
	cr_assert(strstr(r.err, "openat(AT_FDCWD, \"/etc/hostname\", O_RDONLY) = 3\n"));
	free(expect);
	run_free(&r);
}

Test(output, pid_prefixes_with_f)
{
	char *prog[] = {SCTRACE_PROGRAMS "/forkexec", NULL};
	char *trace = traced("-f", NULL, NULL, prog);
	size_t lines = 0;
	EACH_LINE(trace, line, {
		/* -o -f: "%-5d " before every line */
		cr_assert(isdigit((unsigned char)line[0]), "no pid: %s", line);
		char *sp = strchr(line, ' ');
		cr_assert(sp && sp - line >= 1 && (sp - line >= 5 || sp[5 - (sp - line) - 1] == ' '), "%s",
		          line);
		lines++;
	});
	cr_assert_gt(lines, 20);
	cr_assert_eq(count_lines_with(trace, "+++ exited with 0 +++"), 4);
	cr_assert_eq(count_lines_with(trace, "+++ exited with 7 +++"), 1);
	free(trace);
	/* stderr: "[pid N] " once more than one task lives */
	char *argv[] = {SCTRACE_BIN, "-f", SCTRACE_PROGRAMS "/forkexec", NULL};
	struct run r = run_in(dir, argv, NULL);
	cr_assert(count_lines_with(r.err, "[pid ") > 5, "%s", r.err);
	cr_assert_eq(strncmp(r.err, "execve(", 7), 0);
	run_free(&r);
}

Test(output, one_file_per_process_with_ff)
{
	char base[128];
	snprintf(base, sizeof base, "%s/each", dir);
	char *argv[] = {SCTRACE_BIN, "-ff", "-o", base, SCTRACE_PROGRAMS "/forkexec", NULL};
	struct run r = run_in(dir, argv, NULL);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	run_free(&r);
	DIR *d = opendir(dir);
	cr_assert(d);
	int files = 0, execs = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "each.", 5) != 0)
			continue;
		files++;
		char path[400];
		cr_assert_lt(snprintf(path, sizeof path, "%s/%s", dir, e->d_name), (int)sizeof path);
		char *t = slurp(path, NULL);
		cr_assert(!isdigit((unsigned char)t[0]) && !strstr(t, "[pid "), "-ff: no prefixes\n%s", t);
		cr_assert(strstr(t, "+++ exited with "), "%s: %s", e->d_name, t);
		execs += strncmp(t, "execve(", 7) == 0 || strstr(t, "\nexecve(") != NULL;
		free(t);
	}
	closedir(d);
	cr_assert_eq(files, 5); /* the program and its four children */
	cr_assert_geq(execs, 4);
}

Test(output, qq_drops_the_exit_lines)
{
	char *prog[] = {"/bin/true", NULL};
	char *trace = traced("-qq", NULL, NULL, prog);
	cr_assert_eq(count_lines_with(trace, "+++"), 0);
	cr_assert_eq(count_lines_with(trace, "exit_group(0)"), 1);
	free(trace);
}

Test(output, trace_and_status_filters)
{
	char work[128], cmd[300];
	snprintf(work, sizeof work, "%s/w", dir);
	snprintf(cmd, sizeof cmd, "mkdir '%s'", work);
	cr_assert_eq(system(cmd), 0);
	char *prog[] = {SCTRACE_PROGRAMS "/calls", work, NULL};
	char *trace = traced("-e", "trace=write,close", "-qq", prog);
	size_t writes = 0;
	EACH_LINE(trace, line, {
		cr_assert(strncmp(line, "write(", 6) == 0 || strncmp(line, "close(", 6) == 0, "%s", line);
		writes += strncmp(line, "write(", 6) == 0;
	});
	cr_assert_geq(writes, 6);
	free(trace);
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir '%s'", work, work);
	cr_assert_eq(system(cmd), 0);
	trace = traced("-e", "status=failed", NULL, prog);
	size_t failed = 0;
	EACH_LINE(trace, line, {
		if (strncmp(line, "+++ ", 4) == 0)
			continue; /* how the process ended is not a call's status */
		cr_assert(strstr(line, " = -1 E"), "%s", line);
		failed++;
	});
	cr_assert_geq(failed, 30);
	free(trace);
}

Test(output, string_limit)
{
	char *prog[] = {"/bin/echo", "a-rather-long-argument", NULL};
	char *trace = traced("-s", "5", NULL, prog);
	cr_assert(strstr(trace, "[\"/bin/\"..., \"a-rat\"...]"), "%s", trace);
	cr_assert(find_call(trace, "write(1, \"a-rat\"..., 23)", "= 23"), "%s", trace);
	free(trace);
}

/* Every call line ends with <seconds.micros>; the exit lines do not. */
Test(output, syscall_times)
{
	char *prog[] = {"/bin/true", NULL};
	char *trace = traced("-T", NULL, NULL, prog);
	EACH_LINE(trace, line, {
		if (strncmp(line, "+++", 3) == 0 || strstr(line, "= ?"))
			continue;
		size_t n = strlen(line);
		/* " <0.000123>" */
		cr_assert(n > 11 && line[n - 1] == '>' && line[n - 8] == '.' && line[n - 10] == '<' &&
		              line[n - 11] == ' ',
		          "%s", line);
	});
	free(trace);
}

static void check_stamp(const char *flag, int digits_before, int micros)
{
	char *prog[] = {"/bin/true", NULL};
	char *trace = traced(flag, NULL, NULL, prog);
	EACH_LINE(trace, line, {
		const char *p = line;
		if (digits_before) {
			for (int i = 0; i < digits_before; i++)
				cr_assert(isdigit((unsigned char)*p++), "%s: %s", flag, line);
		} else {
			/* HH:MM:SS */
			cr_assert(isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
			              p[2] == ':' && p[5] == ':' && isdigit((unsigned char)p[7]),
			          "%s: %s", flag, line);
			p += 8;
		}
		if (micros) {
			cr_assert_eq(*p++, '.', "%s: %s", flag, line);
			for (int i = 0; i < 6; i++)
				cr_assert(isdigit((unsigned char)*p++), "%s: %s", flag, line);
		}
		cr_assert(*p == ' ' && p[1] != ' ', "%s: %s", flag, line);
	});
	free(trace);
}

Test(output, timestamps)
{
	check_stamp("-t", 0, 0);
	check_stamp("-tt", 0, 1);
	check_stamp("-ttt", 10, 1);
}

Test(output, decode_fds)
{
	char *prog[] = {"/bin/cat", "/etc/hostname", NULL};
	char *trace = traced("-y", NULL, NULL, prog);
	char cwd[512], want[600];
	cr_assert(getcwd(cwd, sizeof cwd));
	snprintf(want, sizeof want, "openat(AT_FDCWD<%s>, \"/etc/hostname\", O_RDONLY) = 3</etc/hostname>\n",
	         cwd);
	cr_assert(strstr(trace, want), "%s\n%s", want, trace);
	cr_assert(strstr(trace, "newfstatat(3</etc/hostname>, \"\", {st_mode=S_IFREG|"), "%s", trace);
	cr_assert(strstr(trace, "close(3</etc/hostname>)"), "%s", trace);
	free(trace);
}

/* Every "<unfinished ...>" line of a task is followed, later, by its "<... name resumed>" line. */
Test(output, unfinished_and_resumed_pair_up)
{
	char *prog[] = {SCTRACE_PROGRAMS "/threads", NULL};
	char *trace = traced("-f", NULL, NULL, prog);
	long open_pid[64];
	char open_name[64][32];
	int opened = 0, pairs = 0;
	EACH_LINE(trace, line, {
		long pid = strtol(line, NULL, 10);
		const char *text = strchr(line, ' ');
		cr_assert(text);
		while (*text == ' ')
			text++;
		if (strstr(text, " <unfinished ...>")) {
			cr_assert_lt(opened, 64);
			open_pid[opened] = pid;
			snprintf(open_name[opened], sizeof open_name[0], "%.*s", (int)strcspn(text, "("),
			         text);
			opened++;
		} else if (strncmp(text, "<... ", 5) == 0) {
			int k;
			for (k = 0; k < opened; k++)
				if (open_pid[k] == pid &&
				    strncmp(text + 5, open_name[k], strlen(open_name[k])) == 0)
					break;
			cr_assert_lt(k, opened, "resumed without unfinished: %s", line);
			open_pid[k] = open_pid[--opened];
			memcpy(open_name[k], open_name[opened], sizeof open_name[0]);
			pairs++;
		}
	});
	cr_assert_eq(opened, 0, "%d calls left unfinished", opened);
	cr_assert_gt(pairs, 0, "the main thread waits in read while the worker prints: one pair at least");
	free(trace);
}

/* A line from a signal handler that ran inside a call comes between the halves of that call's line. */
Test(output, a_signal_handler_inside_a_call)
{
	char *prog[] = {SCTRACE_PROGRAMS "/sigwrite", NULL};
	char *trace = traced(NULL, NULL, NULL, prog);
	const char *unfinished = strstr(trace, "read(3,  <unfinished ...>\n");
	const char *handler = find_call(trace, "write(1, \"from the handler\\n\", 17)", "= 17");
	const char *resumed = find_call(trace, "<... read resumed>\"x\", 1)", "= 1");
	cr_assert(unfinished && handler && resumed, "%s", trace);
	cr_assert(unfinished < handler && handler < resumed, "%s", trace);
	free(trace);
}

/* The program sees the environment it would see untraced. */
Test(output, environment_untouched)
{
	char *plain[] = {"/usr/bin/env", NULL};
	struct run u = run_in(dir, plain, NULL);
	char *argv[] = {SCTRACE_BIN, "-o", "/dev/null", "/usr/bin/env", NULL};
	struct run t = run_in(dir, argv, NULL);
	cr_assert_str_eq(t.out, u.out);
	run_free(&u);
	run_free(&t);
}

Test(output, descriptors_survive_a_program_closing_them_all)
{
	char *prog[] = {SCTRACE_PROGRAMS "/closeall", NULL};
	char *trace = traced("-f", NULL, NULL, prog);
	cr_assert(strstr(trace, "execve(\"/bin/echo\", [\"/bin/echo\", \"still traced\"], "), "%s", trace);
	cr_assert(find_call(trace, "write(1, \"still traced\\n\", 13)", "= 13"), "%s", trace);
	cr_assert(find_call(trace, "close_range(3, 4294967295, 0)", "= 0"), "%s", trace);
	free(trace);
}

/* Children are followed through fork, vfork, posix_spawn and exec even when none of those calls is shown. */
Test(output, following_without_showing_the_process_calls)
{
	char *prog[] = {SCTRACE_PROGRAMS "/forkexec", NULL};
	char *trace = traced("-f", "-e", "trace=write", prog);
	cr_assert(find_call(trace, "write(1, \"forked child\\n\", 13)", "= 13"), "%s", trace);
	cr_assert(find_call(trace, "write(1, \"vforked\\n\", 8)", "= 8"), "%s", trace);
	cr_assert_eq(count_lines_with(trace, "execve("), 0);
	cr_assert_eq(count_lines_with(trace, "clone"), 0);
	cr_assert_eq(count_lines_with(trace, "+++ exited with "), 5);
	free(trace);
}

/* -ff: a file for each thread too, as strace writes them. */
Test(output, ff_with_threads)
{
	char base[128];
	snprintf(base, sizeof base, "%s/t", dir);
	char *argv[] = {SCTRACE_BIN, "-ff", "-o", base, SCTRACE_PROGRAMS "/threads", NULL};
	struct run r = run_in(dir, argv, NULL);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	run_free(&r);
	DIR *d = opendir(dir);
	cr_assert(d);
	int files = 0, with_first = 0, with_second = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "t.", 2) != 0)
			continue;
		files++;
		char path[400];
		cr_assert_lt(snprintf(path, sizeof path, "%s/%s", dir, e->d_name), (int)sizeof path);
		char *t = slurp(path, NULL);
		with_first += strstr(t, "\"first line 0\\n\"") != NULL;
		with_second += strstr(t, "\"second line 0\\n\"") != NULL;
		free(t);
	}
	closedir(d);
	cr_assert_eq(files, 3);
	cr_assert_eq(with_first, 1);
	cr_assert_eq(with_second, 1);
}

/* i386 calls (`int $0x80`) as strace shows a number it has no name for, between strace's personality
 * lines, never under the x86-64 name of their number (20 is writev); -q and -o (as in strace 6.1) drop
 * the personality lines, -e trace= (x86-64 names) does not show them, -c does not count them; an i386
 * read (3, x86-64's close) of the tracer's own descriptors is not refused as a close would be. */
Test(output, i386_calls_between_personality_lines)
{
	char *prog[] = {SCTRACE_PROGRAMS "/int80", NULL};
	struct run plain = run_in(dir, prog, NULL);
	int plain_status = plain.status;
	run_free(&plain);
	if (WIFEXITED(plain_status) && WEXITSTATUS(plain_status) == 4)
		cr_skip_test("not run: `int $0x80` makes no i386 calls here");
	char *argv[] = {SCTRACE_BIN, prog[0], NULL};
	struct run r = run_in(dir, argv, NULL);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "status %#x", r.status);
	const char *at = strstr(r.err, "\ngetpid()");
	cr_assert(at, "%s", r.err);
	long pid = strtol(strstr(at, " = ") + 3, NULL, 10);
	char want[512];
	snprintf(want, sizeof want,
	         "\n[ Process PID=%ld runs in 32 bit mode. ]\n"
	         "syscall_0x14(0x11, 0x22, 0x33, 0x44, 0x55, 0x66) = %ld\n"
	         "syscall_0x14(0x11, 0x22, 0x33, 0x44, 0x55, 0x66) = %ld\n"
	         "syscall_0x14(0x11, 0x22, 0x33, 0x44, 0x55, 0x66) = %ld\n"
	         "[ Process PID=%ld runs in 64 bit mode. ]\n"
	         "getppid()                               = ",
	         pid, pid, pid, pid, pid);
	cr_assert(strstr(at, want), "want%s\nin\n%s", want, r.err);
	cr_assert_eq(count_lines_with(r.err, "writev"), 0);
	run_free(&r);
	char *argv_q[] = {SCTRACE_BIN, "-q", prog[0], NULL};
	r = run_in(dir, argv_q, NULL);
	cr_assert_eq(count_lines_with(r.err, "[ Process PID="), 0, "%s", r.err);
	cr_assert_eq(count_lines_with(r.err, "syscall_0x14("), 3, "%s", r.err);
	run_free(&r);
	char *trace = traced(NULL, NULL, NULL, prog);
	cr_assert_eq(count_lines_with(trace, "[ Process PID="), 0, "%s", trace);
	cr_assert_eq(count_lines_with(trace, "syscall_0x14("), 3, "%s", trace);
	free(trace);
	trace = traced("-e", "trace=getppid,writev", NULL, prog);
	cr_assert_eq(count_lines_with(trace, "syscall_0x14("), 0, "%s", trace);
	cr_assert_eq(count_lines_with(trace, "writev("), 0, "%s", trace);
	cr_assert_eq(count_lines_with(trace, "getppid("), 1, "%s", trace);
	free(trace);
	trace = traced("-c", NULL, NULL, prog);
	cr_assert_eq(count_lines_with(trace, "writev"), 0, "%s", trace);
	cr_assert_eq(count_lines_with(trace, " getppid"), 1, "%s", trace);
	free(trace);
}
