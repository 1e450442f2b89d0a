/*
 * The bench is linked with the static libsafecopy, so it may set the library's hidden level (as
 * SAFECOPY_CPU does at load time), between groups, while no routine runs.
 *
 * A capped level stands for a CPU without the higher instructions, and glibc on such a CPU would not
 * run its AVX-512 (or AVX2) memcpy and memset either: the fair base row is glibc capped the same way.
 * glibc chooses its variants once, at startup, from GLIBC_TUNABLES' glibc.cpu.hwcaps, so the bench
 * sets that variable and runs itself again (/proc/self/exe with the same arguments), unless the
 * caller already set glibc.cpu.hwcaps (their choice is kept, and the header says so). A level capped by
 * SAFECOPY_CPU is treated the same (bench_vector_level_follow_env). The caps this file sets are its own,
 * not the caller's: a run at another level (the fallback part's child) replaces them.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safecopy/cpu.h"
#include "vector_level.h"

#define HWCAPS "glibc.cpu.hwcaps="

/*
 * What glibc 2.36 must not use to run as on a CPU of each level (checked with perf: AVX2 gives
 * __memmove_avx_unaligned_erms and __memset_avx2_unaligned_erms; SSE2 gives __memmove_ssse3 and
 * __memset_sse2_unaligned_erms, as on a CPU with SSSE3 but no AVX). The highest level caps nothing.
 */
static const char *const glibc_caps[] = {
    [SC_CPU_SSE2] = HWCAPS "-AVX512F,-AVX512VL,-AVX512BW,-AVX2,-AVX,-AVX_Fast_Unaligned_Load",
    [SC_CPU_AVX2] = HWCAPS "-AVX512F,-AVX512VL,-AVX512BW",
};

/* The level whose caps this file put in GLIBC_TUNABLES (-1: none) and where they start. SSE2's are
 * looked for first: AVX2's are the start of them. */
static int our_caps(const char *t, const char **at)
{
	for (int l = SC_CPU_SSE2; t && l < SC_CPU_AVX512; l++)
		if ((*at = strstr(t, glibc_caps[l])) != NULL)
			return l;
	return -1;
}

/* glibc.cpu.hwcaps set by whoever ran the bench, not by this file. */
static bool caller_set_hwcaps(void)
{
	const char *t = getenv("GLIBC_TUNABLES"), *at;
	return t != NULL && strstr(t, HWCAPS) != NULL && our_caps(t, &at) < 0;
}

/* This process's arguments, from /proc/self/cmdline, NULL-terminated in argv[max]; false if unread. */
static bool own_arguments(char *buf, size_t size, char **argv, size_t max)
{
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t len = read(fd, buf, size - 1);
	close(fd);
	if (len <= 0 || (size_t)len == size - 1)
		return false;
	buf[len] = '\0';
	size_t argc = 0;
	for (char *p = buf; p < buf + len && argc < max; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	return argc < max;
}

/* GLIBC_TUNABLES without the caps of ours a parent run put there (and their ':'), into out (size n):
 * the caller's tunables. False if it does not fit. */
static bool tunables_but_ours(char *out, size_t n)
{
	const char *t = getenv("GLIBC_TUNABLES"), *ours;
	size_t len = t ? strlen(t) : 0;
	if (len >= n)
		return false;
	memcpy(out, t ? t : "", len + 1);
	int l = our_caps(t, &ours);
	if (l < 0)
		return true;
	size_t at = (size_t)(ours - t), end = at + strlen(glibc_caps[l]);
	if (at > 0 && out[at - 1] == ':')
		at--; /* the ':' before them */
	else if (out[end] == ':')
		end++; /* or the one after them */
	memmove(out + at, out + end, len - end + 1);
	return true;
}

/* Runs the bench again with glibc capped to `level`; returns only if that could not be done. */
static void rerun_with_glibc_capped(enum sc_cpu_level level)
{
	static char args[65536];
	static char *argv[512];
	if (!own_arguments(args, sizeof args, argv, sizeof argv / sizeof argv[0] - 1))
		return;
	char rest[1024];
	if (!tunables_but_ours(rest, sizeof rest))
		return;
	char value[1024];
	int n = snprintf(value, sizeof value, "%s%s%s", rest, *rest ? ":" : "", glibc_caps[level]);
	if (n < 0 || (size_t)n >= sizeof value || setenv("GLIBC_TUNABLES", value, 1) != 0)
		return;
	fflush(NULL);
	execv("/proc/self/exe", argv);
	perror("safecopy-bench: running itself again with GLIBC_TUNABLES");
}

/* glibc capped as the routines' level says, unless the caller chose (or it already is). */
static void cap_glibc_alike(void)
{
	const char *at;
	if (sc_cpu_level < sc_cpu_detect_level() && !caller_set_hwcaps() &&
	    our_caps(getenv("GLIBC_TUNABLES"), &at) != (int)sc_cpu_level)
		rerun_with_glibc_capped(sc_cpu_level);
}

bool bench_vector_level_set(const char *name)
{
	for (int l = SC_CPU_SSE2; l <= SC_CPU_AVX512; l++) {
		if (strcmp(name, sc_cpu_level_name((enum sc_cpu_level)l)) != 0)
			continue;
		sc_cpu_use_level(sc_cpu_cap(name, sc_cpu_detect_level()));
		cap_glibc_alike();
		return true;
	}
	return false;
}

void bench_vector_level_follow_env(void)
{
	cap_glibc_alike();
}

const char *bench_vector_level_name(void)
{
	return sc_cpu_level_name(sc_cpu_level);
}

const char *bench_vector_level_below(void)
{
	return sc_cpu_level > SC_CPU_SSE2 ? sc_cpu_level_name((enum sc_cpu_level)(sc_cpu_level - 1)) : NULL;
}

void bench_vector_level_describe(char *buf, size_t n)
{
	enum sc_cpu_level cpu = sc_cpu_detect_level();
	if (sc_cpu_level == cpu) {
		snprintf(buf, n, "%s (the CPU's highest)", sc_cpu_level_name(sc_cpu_level));
		return;
	}
	const char *t = getenv("GLIBC_TUNABLES");
	bool ours = t != NULL && strstr(t, glibc_caps[sc_cpu_level]) != NULL;
	snprintf(buf, n, "%s (capped; the CPU offers %s; glibc %s)", sc_cpu_level_name(sc_cpu_level),
	         sc_cpu_level_name(cpu),
	         ours                  ? "capped alike by GLIBC_TUNABLES"
	         : caller_set_hwcaps() ? "as GLIBC_TUNABLES says"
	                               : "not capped");
}
