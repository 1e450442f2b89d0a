/* Option parsing (src/sctrace/options.c): strace's options, bundled or long, and -e expressions. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/syscall.h>

#include "sctrace/options.h"

static struct sct_options o;
static char err[256];

static enum sct_parse_result parse(int argc, char **argv)
{
	err[0] = '\0';
	return sct_parse_options(argc, argv, &o, err, sizeof err);
}

#define PARSE(...)                                                       \
	({                                                               \
		char *argv_[] = {"sctrace", __VA_ARGS__, NULL};          \
		parse((int)(sizeof argv_ / sizeof argv_[0]) - 1, argv_); \
	})

static size_t traced_count(void)
{
	size_t n = 0;
	for (long nr = 0; nr < SCT_NR_COUNT; nr++)
		n += sct_traced(&o, nr);
	return n;
}

Test(options, defaults)
{
	cr_assert_eq(PARSE("ls", "-l"), SCT_PARSE_OK);
	cr_assert_eq(o.cmd, 1);
	cr_assert_not(o.follow);
	cr_assert_not(o.separate);
	cr_assert_eq(o.summary, SCT_SUMMARY_NONE);
	cr_assert_eq(o.max_strlen, 32);
	cr_assert_eq(o.timestamps, 0);
	cr_assert_not(o.syscall_times);
	cr_assert_not(o.decode_fds);
	cr_assert_eq(o.quiet, 0);
	cr_assert_eq(o.status, SCT_STATUS_ALL);
	cr_assert_null(o.output);
	cr_assert_eq(traced_count(), SCT_NR_COUNT);
}

Test(options, bundled_and_repeated)
{
	cr_assert_eq(PARSE("-fftttTyqq", "-s64", "-o", "out", "cmd"), SCT_PARSE_OK);
	cr_assert(o.follow);
	cr_assert(o.separate);
	cr_assert_eq(o.timestamps, 3);
	cr_assert(o.syscall_times);
	cr_assert(o.decode_fds);
	cr_assert_eq(o.quiet, 2);
	cr_assert_eq(o.max_strlen, 64);
	cr_assert_str_eq(o.output, "out");
	cr_assert_eq(o.cmd, 5);
}

Test(options, attached_values)
{
	cr_assert_eq(PARSE("-oFILE", "-s", "0", "-etrace=write", "x"), SCT_PARSE_OK);
	cr_assert_str_eq(o.output, "FILE");
	cr_assert_eq(o.max_strlen, 0);
	cr_assert_eq(traced_count(), 1);
	cr_assert(sct_traced(&o, SYS_write));
}

Test(options, ff_without_output_is_f)
{
	cr_assert_eq(PARSE("-ff", "x"), SCT_PARSE_OK);
	cr_assert(o.follow);
	cr_assert_not(o.separate);
}

Test(options, long_forms)
{
	cr_assert_eq(PARSE("--output=o.txt", "--follow-forks", "--summary", "--string-limit", "7",
	                   "--trace=%file", "--status=failed", "--syscall-times", "--decode-fds", "--quiet",
	                   "--", "-cmd"),
	             SCT_PARSE_OK);
	cr_assert_str_eq(o.output, "o.txt");
	cr_assert(o.follow);
	cr_assert_eq(o.summary, SCT_SUMMARY_ALSO);
	cr_assert_eq(o.max_strlen, 7);
	cr_assert(sct_traced(&o, SYS_openat));
	cr_assert_not(sct_traced(&o, SYS_read));
	cr_assert_eq(o.status, SCT_STATUS_FAILED);
	cr_assert(o.syscall_times);
	cr_assert(o.decode_fds);
	cr_assert_eq(o.quiet, 1);
	cr_assert_eq(o.cmd, 12);
}

Test(options, double_dash_ends_options)
{
	cr_assert_eq(PARSE("-f", "--", "-c"), SCT_PARSE_OK);
	cr_assert_eq(o.cmd, 3);
	cr_assert_eq(o.summary, SCT_SUMMARY_NONE);
}

Test(options, trace_names_and_classes)
{
	cr_assert_eq(PARSE("-e", "trace=open,openat,close", "x"), SCT_PARSE_OK);
	cr_assert_eq(traced_count(), 3);
	cr_assert(sct_traced(&o, SYS_open) && sct_traced(&o, SYS_openat) && sct_traced(&o, SYS_close));

	cr_assert_eq(PARSE("-e", "trace=%network", "x"), SCT_PARSE_OK);
	cr_assert(sct_traced(&o, SYS_socket) && sct_traced(&o, SYS_connect) && sct_traced(&o, SYS_sendmsg));
	cr_assert_not(sct_traced(&o, SYS_read));

	cr_assert_eq(PARSE("-e", "trace=%process", "x"), SCT_PARSE_OK);
	cr_assert(sct_traced(&o, SYS_clone) && sct_traced(&o, SYS_execve) && sct_traced(&o, SYS_exit_group) &&
	          sct_traced(&o, SYS_wait4) && sct_traced(&o, SYS_clone3));
	cr_assert_not(sct_traced(&o, SYS_mmap));

	cr_assert_eq(PARSE("-e", "trace=%memory,%signal", "x"), SCT_PARSE_OK);
	cr_assert(sct_traced(&o, SYS_mmap) && sct_traced(&o, SYS_brk) && sct_traced(&o, SYS_rt_sigaction) &&
	          sct_traced(&o, SYS_kill));
	cr_assert_not(sct_traced(&o, SYS_openat));

	cr_assert_eq(PARSE("-e", "trace=%desc", "x"), SCT_PARSE_OK);
	cr_assert(sct_traced(&o, SYS_read) && sct_traced(&o, SYS_dup2) && sct_traced(&o, SYS_epoll_wait));
	cr_assert_not(sct_traced(&o, SYS_getpid));

	cr_assert_eq(PARSE("-e", "trace=%file", "x"), SCT_PARSE_OK);
	cr_assert(sct_traced(&o, SYS_openat) && sct_traced(&o, SYS_execve) && sct_traced(&o, SYS_statx));
	cr_assert_not(sct_traced(&o, SYS_read));
	/* strace still takes the old spelling without % */
	cr_assert_eq(PARSE("-e", "trace=file", "x"), SCT_PARSE_OK);
	cr_assert(sct_traced(&o, SYS_openat));
}

Test(options, trace_negation_and_all_none)
{
	cr_assert_eq(PARSE("-e", "trace=!%file,write", "x"), SCT_PARSE_OK);
	cr_assert_not(sct_traced(&o, SYS_openat));
	cr_assert_not(sct_traced(&o, SYS_write));
	cr_assert(sct_traced(&o, SYS_read));
	cr_assert(sct_traced(&o, SYS_mmap));
	cr_assert_eq(PARSE("-e", "trace=none", "x"), SCT_PARSE_OK);
	cr_assert_eq(traced_count(), 0);
	cr_assert_eq(PARSE("-e", "trace=!none", "x"), SCT_PARSE_OK);
	cr_assert_eq(traced_count(), SCT_NR_COUNT);
	/* a bare set means trace=SET */
	cr_assert_eq(PARSE("-e", "getpid", "x"), SCT_PARSE_OK);
	cr_assert_eq(traced_count(), 1);
	cr_assert(sct_traced(&o, SYS_getpid));
}

Test(options, status_sets)
{
	cr_assert_eq(PARSE("-e", "status=failed", "x"), SCT_PARSE_OK);
	cr_assert_eq(o.status, SCT_STATUS_FAILED);
	cr_assert_eq(PARSE("-e", "status=!failed", "x"), SCT_PARSE_OK);
	cr_assert_eq(o.status, SCT_STATUS_SUCCESSFUL | SCT_STATUS_UNFINISHED);
	cr_assert_eq(PARSE("-e", "status=successful,unfinished", "x"), SCT_PARSE_OK);
	cr_assert_eq(o.status, SCT_STATUS_SUCCESSFUL | SCT_STATUS_UNFINISHED);
	cr_assert_eq(PARSE("-Z", "x"), SCT_PARSE_OK);
	cr_assert_eq(o.status, SCT_STATUS_FAILED);
	cr_assert_eq(PARSE("-z", "x"), SCT_PARSE_OK);
	cr_assert_eq(o.status, SCT_STATUS_SUCCESSFUL);
}

Test(options, errors_name_the_problem)
{
	cr_assert_eq(PARSE("-X", "x"), SCT_PARSE_ERROR);
	cr_assert_str_eq(err, "invalid option -- 'X'");
	cr_assert_eq(PARSE("-fX", "x"), SCT_PARSE_ERROR);
	cr_assert_str_eq(err, "invalid option -- 'X'");
	cr_assert_eq(PARSE("--bogus", "x"), SCT_PARSE_ERROR);
	cr_assert_str_eq(err, "unrecognized option '--bogus'");
	cr_assert_eq(PARSE("-e", "trace=nosuchcall", "x"), SCT_PARSE_ERROR);
	cr_assert_str_eq(err, "invalid system call 'nosuchcall'");
	cr_assert_eq(PARSE("-e", "trace=%nosuchclass", "x"), SCT_PARSE_ERROR);
	cr_assert_str_eq(err, "invalid system call '%nosuchclass'");
	cr_assert_eq(PARSE("-e", "trace=open,", "x"), SCT_PARSE_ERROR);
	cr_assert_eq(PARSE("-e", "status=sometimes", "x"), SCT_PARSE_ERROR);
	cr_assert_str_eq(err, "invalid status 'sometimes'");
	cr_assert_eq(PARSE("-e", "verbose=all", "x"), SCT_PARSE_ERROR);
	cr_assert_eq(PARSE("-s", "x1", "x"), SCT_PARSE_ERROR);
	cr_assert_str_eq(err, "invalid -s argument: 'x1'");
	cr_assert_eq(PARSE("-s", "-1", "x"), SCT_PARSE_ERROR);
	cr_assert_eq(PARSE("-c", "-C", "x"), SCT_PARSE_ERROR);
	cr_assert_str_eq(err, "-c/--summary-only and -C/--summary are mutually exclusive");
	cr_assert_eq(PARSE("-f"), SCT_PARSE_ERROR);
	cr_assert_str_eq(err, "must have PROG [ARGS]");
	cr_assert_eq(PARSE("-o"), SCT_PARSE_ERROR);
	cr_assert_str_eq(err, "option requires an argument -- 'o'");
	cr_assert_eq(PARSE("--output"), SCT_PARSE_ERROR);
	cr_assert_str_eq(err, "option '--output' requires an argument");
	cr_assert_eq(PARSE("--quiet=1", "x"), SCT_PARSE_ERROR);
	cr_assert_str_eq(err, "option '--quiet' doesn't allow an argument");
}

Test(options, help_and_version)
{
	cr_assert_eq(PARSE("-h"), SCT_PARSE_HELP);
	cr_assert_eq(PARSE("--version"), SCT_PARSE_VERSION);
	cr_assert_eq(PARSE("-V", "x"), SCT_PARSE_VERSION);
}
