/*
 * Unwinders see through usertrap's frames. From a hook reached through SIGSYS (the signal frame, whose
 * restorer must carry glibc's bytes) and from one reached through a patched site (the trampoline body,
 * described by hand-written call frame information), libgcc's unwinder (backtrace()) and gdb's `bt`
 * both reach getppid, the function that called it, and main. The program they look at is
 * tests/usertrap/programs/unwind_probe.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usertrap/util.h"

/* The output of a shell command (stdout and stderr), and its status. */
static char *output_of(const char *cmd, int *status)
{
	FILE *p = popen(cmd, "r");
	cr_assert(p, "popen %s", cmd);
	size_t cap = 1 << 16, len = 0, n;
	char *buf = malloc(cap);
	cr_assert(buf);
	while ((n = fread(buf + len, 1, cap - 1 - len, p)) > 0)
		len += n;
	buf[len] = 0;
	*status = pclose(p);
	return buf;
}

/* The part of `text` from the line `from` to the next line `to` (exclusive), cut out in place. */
static char *section(char *text, const char *from, const char *to)
{
	char *s = strstr(text, from);
	cr_assert(s, "no \"%s\" in:\n%s", from, text);
	char *e = strstr(s + strlen(from), to);
	if (e)
		*e = 0;
	return s;
}

/* The words appear in this order in `text`. */
static void assert_in_order(const char *text, const char *const words[], size_t n)
{
	const char *at = text;
	for (size_t i = 0; i < n; i++) {
		const char *w = strstr(at, words[i]);
		cr_assert(w, "\"%s\" missing (after \"%s\") in:\n%s", words[i], i ? words[i - 1] : "", text);
		at = w + strlen(words[i]);
	}
}

Test(unwind, backtrace_from_the_hook_reaches_main)
{
	int status;
	char *out = output_of(UNWIND_PROBE_PATH " 2>&1", &status);
	cr_assert_eq(status, 0, "%s", out);
	char *patched = strstr(out, "via patched");
	cr_assert(patched, "%s", out);
	patched[-1] = 0; /* the SIGSYS part ends here */
	const char *const sigsys_frames[] = {"via sigsys", "(getppid+", "(make_the_call+", "(main+", "end"};
	assert_in_order(out, sigsys_frames, 5);
	const char *const patched_frames[] = {"via patched", "(getppid+", "(make_the_call+", "(main+", "end"};
	assert_in_order(patched, patched_frames, 5);
	free(out);
}

Test(unwind, gdb_bt_from_the_hook_reaches_main, .timeout = 60)
{
	int status;
	char *probe = output_of("gdb --version 2>&1", &status);
	free(probe);
	if (status != 0)
		cr_skip_test("not run: gdb is not installed (scripts/bootstrap installs it)");
	char *out = output_of("gdb -q -batch -nx -ex 'handle SIGSYS nostop noprint pass' "
	                      "-ex 'handle SIGSEGV nostop noprint pass' -ex 'break stop_here' -ex run "
	                      "-ex 'echo ==sigsys\\n' -ex bt -ex continue -ex 'echo ==patched\\n' -ex bt "
	                      "-ex continue " UNWIND_PROBE_PATH " 2>&1",
	                      &status);
	char *patched = strstr(out, "==patched");
	cr_assert(patched, "%s", out);
	patched[-1] = 0;
	const char *const sigsys_frames[] = {"==sigsys", "on_sigsys",        "<signal handler called>",
	                                     "getppid",  "make_the_call ()", "main ()"};
	assert_in_order(section(out, "==sigsys", "Breakpoint"), sigsys_frames, 6);
	const char *const patched_frames[] = {"==patched", "ut_dispatch",      "ut_tramp_",
	                                      "getppid",   "make_the_call ()", "main ()"};
	assert_in_order(section(patched, "==patched", "via"), patched_frames, 6);
	free(out);
}
