/*
 * Decoding one system call into strace's text. A call is printed in two halves, as strace does: at
 * entry the name and the arguments the kernel reads; at exit the arguments it writes, then the result.
 * The table (sysent.c) says, per call, how each argument prints and which is the first printed at exit.
 * Printers read the traced program's memory only through memread.h.
 */
#ifndef SCTRACE_DECODE_H
#define SCTRACE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sctrace/fmt.h"
#include "sctrace/options.h"

/* How the result prints. */
enum sct_ret {
	SCT_RET_DEC = 0, /* = 3 */
	SCT_RET_HEX,     /* = 0x7f12... (mmap, brk) */
	SCT_RET_OCT,     /* = 022 (umask) */
	SCT_RET_FD,      /* = 3, with -y = 3</path> */
	SCT_RET_NONE,    /* = ? (the call does not return: exit, exit_group) */
};

struct sct_call {
	long nr;
	bool i386; /* an i386 call (`int $0x80`): nr is an i386 number, shown as one without a name */
	long a[6];
	long ret;     /* valid when exiting */
	bool exiting; /* false: printing the entry half; true: the exit half */
	struct sct_line *l;
	char *scratch; /* room to copy the program's memory into */
	size_t scratch_cap;
	const struct sct_options *o;
	enum sct_ret ret_kind; /* from the table; a decoder may change it */
	char aux[160];         /* printed as " (aux)" after the result when not empty */
	uint64_t saved[4];     /* a decoder's state from entry to exit */
};

/* Prints argument i of c (a printer for one kind of argument); aux is the table entry's parameter. */
typedef void (*sct_argfn)(struct sct_call *c, int i, const void *aux);

struct sct_arg {
	sct_argfn print;
	const void *aux; /* the printer's parameter: an xlat table, a length argument's index... */
};

/*
 * One system call. custom, when set, prints every argument itself (at entry and at exit, testing
 * c->exiting); otherwise args[0..nargs) print in order, those from exit_from on at exit.
 */
struct sct_sysent {
	uint8_t nargs;
	uint8_t exit_from;
	uint8_t ret;
	bool known; /* false: a hole of the table */
	void (*custom)(struct sct_call *c);
	struct sct_arg args[6];
};

/* The description of nr (a generic one, printing its arguments in hex, for calls not in the table). */
const struct sct_sysent *sct_sysent(long nr);

/* How many arguments nr takes (6 for a number no table knows). */
int sct_syscall_nargs(long nr);

/* The name c is shown under, or NULL (shown as syscall_0xNR): an i386 call has none. */
const char *sct_call_name(const struct sct_call *c);

/* Prints the entry half "name(args..." or, when exiting, the rest "args...)" (without the result). */
void sct_decode_entry(struct sct_call *c);
void sct_decode_exit(struct sct_call *c);

/* Prints " = result" (padded to strace's column 40 from the start of the line) and the aux text. */
void sct_decode_result(struct sct_call *c);

/* True if the result is an error (-4095..-1). */
static inline bool sct_failed(long ret)
{
	return ret < 0 && ret >= -4095;
}

/* The argument at i, as an address. */
static inline uintptr_t sct_addr(const struct sct_call *c, int i)
{
	return (uintptr_t)c->a[i];
}

/* ---- printers shared by the decoders (decode_common.c) ---- */
void sct_p_int(struct sct_call *c, int i, const void *aux);   /* (int) */
void sct_p_uint(struct sct_call *c, int i, const void *aux);  /* (unsigned) */
void sct_p_long(struct sct_call *c, int i, const void *aux);  /* (long) */
void sct_p_ulong(struct sct_call *c, int i, const void *aux); /* (unsigned long) */
void sct_p_hex(struct sct_call *c, int i, const void *aux);   /* %#lx */
void sct_p_ptr(struct sct_call *c, int i, const void *aux);   /* NULL or 0x... */
void sct_p_fd(struct sct_call *c, int i, const void *aux);    /* an fd; with -y its path */
void sct_p_dirfd(struct sct_call *c, int i, const void *aux); /* AT_FDCWD or an fd */
void sct_p_path(struct sct_call *c, int i, const void *aux);  /* "path" (no -s limit, PATH_MAX) */
void sct_p_str(struct sct_call *c, int i, const void *aux);   /* "string" (-s limit) */
void sct_p_mode(struct sct_call *c, int i, const void *aux);  /* 0644 */
void sct_p_flags(struct sct_call *c, int i, const void *aux); /* aux: struct sct_xlat, flags, "0" for none */
void sct_p_xval(struct sct_call *c, int i, const void *aux);  /* aux: struct sct_xlat, a constant or hex */
void sct_p_xval_d(struct sct_call *c, int i,
                  const void *aux); /* aux: struct sct_xlat, a constant or decimal */
void sct_p_buf_in(struct sct_call *c, int i,
                  const void *aux); /* aux: (intptr_t) index of the length argument */
void sct_p_buf_out(struct sct_call *c, int i,
                   const void *aux); /* the result is the length: read(2)'s buffer */
void sct_p_signal(struct sct_call *c, int i, const void *aux); /* SIGTERM */

/* Starts / ends writing the note printed after the result (c->aux) through the line l. */
void sct_aux_begin(struct sct_call *c, struct sct_line *l);
void sct_aux_end(struct sct_call *c, const struct sct_line *l);

/* The note "prefix FLAG|FLAG" after a result shown in hex (fcntl's F_GETFD, F_GETFL, F_GET_SEALS). */
struct sct_xlat;
void sct_note_flags(struct sct_call *c, const char *prefix, const struct sct_xlat *x, unsigned long v);

/* Building blocks for decoders. */
void sct_print_fd(struct sct_call *c, int fd);
void sct_print_path(struct sct_call *c, uintptr_t addr);
void sct_print_string(struct sct_call *c, uintptr_t addr); /* NUL-terminated, -s limit */
/* A NUL-terminated string of at most limit bytes: "text", "text"... when longer, the address when it
 * cannot be read. */
void sct_print_string_n(struct sct_call *c, uintptr_t addr, size_t limit);
void sct_print_buffer(struct sct_call *c, uintptr_t addr, unsigned long len, unsigned quote_flags);
void sct_print_mode(struct sct_line *l, unsigned long mode); /* %#03o */
void sct_print_signal(struct sct_line *l, long sig);         /* SIGTERM, SIGRTMIN, SIGRT_3, 65 */
void sct_print_errno_result(struct sct_line *l, long err);   /* -1 ENOENT (No such file or directory) */
/* Reads a fixed-size object; false (and the address printed) if it cannot be read. */
bool sct_fetch(struct sct_call *c, uintptr_t addr, void *dst, size_t n);
/* The address of an output argument, when the call failed (strace prints the address then). */
bool sct_print_if_failed(struct sct_call *c, uintptr_t addr);

/* errno names and descriptions (errnames.c): "ENOENT", "No such file or directory"; NULL if unknown. */
const char *sct_errno_name(long err);
const char *sct_errno_text(long err);
/* Signal names without "SIG" (signals.c): "TERM", "RTMIN", "RT_3"; NULL if out of range. */
const char *sct_signal_abbrev(long sig, char buf[16]);

#endif
