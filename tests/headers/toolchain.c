/* Helpers of the headers suite (see toolchain.h). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "toolchain.h"

static const struct driver drivers[] = {
    {"gcc", "c", "gcc", "gcc", "c99"},
    {"clang", "c", "clang", "clang", "c99"},
    {"g++", "c++", "gcc", "g++", "c++11"},
    {"clang++", "c++", "clang", "clang", "c++11"},
};

const struct driver *driver_named(const char *name)
{
	for (size_t i = 0; i < sizeof drivers / sizeof drivers[0]; i++)
		if (strcmp(drivers[i].name, name) == 0)
			return &drivers[i];
	cr_assert_fail("no driver called %s", name);
	return NULL;
}

static int by_name(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* Names go into shell commands and C source between single quotes and <>: keep them plain. */
static int plain_name(const char *s)
{
	return s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")] == '\0';
}

void public_headers(struct header_list *list)
{
	DIR *d = opendir(HEADERS_INCLUDE_DIR);
	cr_assert_not_null(d, "opendir(%s): %s", HEADERS_INCLUDE_DIR, strerror(errno));
	list->count = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		size_t len = strlen(e->d_name);
		if (len < 3 || strcmp(e->d_name + len - 2, ".h") != 0)
			continue;
		cr_assert(plain_name(e->d_name), "include/%s: unexpected characters in the name", e->d_name);
		cr_assert_lt(len, sizeof list->names[0], "include/%s: name too long for the test", e->d_name);
		cr_assert_lt(list->count, MAX_HEADERS, "more than %d headers in include/", MAX_HEADERS);
		memcpy(list->names[list->count++], e->d_name, len + 1);
	}
	closedir(d);
	qsort(list->names, (size_t)list->count, sizeof list->names[0], by_name);
	int known = 0;
	for (int i = 0; i < list->count; i++)
		known +=
		    strcmp(list->names[i], "safecopy.h") == 0 || strcmp(list->names[i], "usertrap.h") == 0;
	cr_assert_eq(known, 2, "%s lacks safecopy.h or usertrap.h (%d headers found)", HEADERS_INCLUDE_DIR,
	             list->count);
}

int run_command(const char *cmd, char *out, size_t outsz)
{
	char full[8192];
	int len = snprintf(full, sizeof full, "exec 2>&1; %s", cmd);
	cr_assert(len > 0 && (size_t)len < sizeof full, "command too long: %s", cmd);
	FILE *p = popen(full, "r");
	if (!p)
		return -1;
	size_t n = fread(out, 1, outsz - 1, p);
	out[n] = '\0';
	char rest[512];
	while (fread(rest, 1, sizeof rest, p) > 0) /* drain: the command must not die of SIGPIPE */
		;
	int st = pclose(p);
	if (st == -1)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

const char *status_text(const struct driver *d, int status, char *buf, size_t n)
{
	if (status == 127)
		snprintf(buf, n, "%s is not installed (apt-get install %s; scripts/bootstrap installs it)",
		         d->name, d->package);
	else
		snprintf(buf, n, "%s exited with status %d", d->name, status);
	return buf;
}
