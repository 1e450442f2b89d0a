/*
 * The command line of sctrace, with strace's meaning for every option it shares. Parsing fills a
 * plain struct (no pointers but into argv) that the command copies into the shared board, where
 * every traced process reads it.
 */
#ifndef SCTRACE_OPTIONS_H
#define SCTRACE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sctrace/names.h"

enum sct_summary {
	SCT_SUMMARY_NONE = 0,
	SCT_SUMMARY_ONLY, /* -c: the table instead of the lines */
	SCT_SUMMARY_ALSO, /* -C: the lines and the table */
};

/* -e status=...: which outcomes are printed (all by default). */
#define SCT_STATUS_SUCCESSFUL 0x1u
#define SCT_STATUS_FAILED     0x2u
#define SCT_STATUS_UNFINISHED 0x4u /* calls that never return: exit, exit_group, a successful execve... */
#define SCT_STATUS_ALL        0x7u

#define SCT_DEFAULT_STRLEN 32

struct sct_options {
	bool follow;   /* -f: children and threads */
	bool separate; /* -ff: with -o, one file per process (FILE.PID) */
	enum sct_summary summary;
	unsigned max_strlen;               /* -s N */
	bool syscall_times;                /* -T */
	int timestamps;                    /* -t 1, -tt 2, -ttt 3 */
	bool decode_fds;                   /* -y */
	int quiet;                         /* -q 1, -qq 2 (no "+++ exited" lines) */
	unsigned status;                   /* SCT_STATUS_* */
	uint64_t trace[SCT_NR_COUNT / 64]; /* calls to show: bit nr */
	const char *output;                /* -o FILE, or NULL for stderr */
	int cmd;                           /* argv index of the command */
};

enum sct_parse_result {
	SCT_PARSE_OK = 0,
	SCT_PARSE_HELP,    /* -h: print the usage, exit 0 */
	SCT_PARSE_VERSION, /* -V: print the version, exit 0 */
	SCT_PARSE_ERROR,   /* err holds the message: exit 2 */
};

/*
 * Parses argv[1..argc) into o (short options may be bundled: -ff, -tt, -fo FILE, -s64). Stops at the
 * first argument that is not an option, or after "--". On SCT_PARSE_ERROR err (errlen bytes) holds a
 * one-line message, e.g. "invalid option -- 'Z'" or "invalid system call 'nosuch'", and o is
 * unspecified.
 */
enum sct_parse_result sct_parse_options(int argc, char **argv, struct sct_options *o, char *err,
                                        size_t errlen);

/* True if nr is in the trace set. */
static inline bool sct_traced(const struct sct_options *o, long nr)
{
	return nr >= 0 && nr < SCT_NR_COUNT && ((o->trace[nr / 64] >> (nr % 64)) & 1);
}

/* True if every call is in the trace set (the default): only then are i386 calls shown, as -e trace=
 * names x86-64 calls. */
static inline bool sct_traces_all(const struct sct_options *o)
{
	for (int i = 0; i < SCT_NR_COUNT / 64; i++)
		if (o->trace[i] != UINT64_MAX)
			return false;
	return true;
}

/* The usage text printed by -h. */
extern const char sct_usage[];

#endif
