/* Decoders of the file family: open flags and modes, stat structures, paths, directory entries. */
#include <fcntl.h>
#include <linux/stat.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sctrace/decoders.h"
#include "sctrace/memread.h"
#include "sctrace/quote.h"
#include "sctrace/xlat.h"

SCT_XLAT(open_access, SCT_X(O_RDONLY), SCT_X(O_WRONLY), SCT_X(O_RDWR), {3, "O_ACCMODE"});
/* __O_TMPFILE without O_DIRECTORY is what O_TMPFILE adds; strace names the pair O_TMPFILE. */
SCT_XLAT(open_flags, SCT_X(O_CREAT), SCT_X(O_EXCL), SCT_X(O_NOCTTY), SCT_X(O_TRUNC), SCT_X(O_APPEND),
         SCT_X(O_NONBLOCK), SCT_X(O_SYNC), SCT_X(O_DSYNC), SCT_X(O_DIRECT), {0100000, "O_LARGEFILE"},
         SCT_X(O_NOFOLLOW), SCT_X(O_NOATIME), SCT_X(O_CLOEXEC), SCT_X(O_PATH), SCT_X(O_TMPFILE),
         {020000000, "__O_TMPFILE"}, SCT_X(O_DIRECTORY), {020000, "FASYNC"});
SCT_XLAT_PUBLIC(sct_xlat_at_flags, SCT_X(AT_SYMLINK_NOFOLLOW), SCT_X(AT_REMOVEDIR), SCT_X(AT_SYMLINK_FOLLOW),
                SCT_X(AT_NO_AUTOMOUNT), SCT_X(AT_EMPTY_PATH), {0x8000, "AT_RECURSIVE"});
SCT_XLAT_PUBLIC(sct_xlat_access_modes, SCT_X(F_OK), SCT_X(R_OK), SCT_X(W_OK), SCT_X(X_OK));
SCT_XLAT(mode_types, SCT_X(S_IFREG), SCT_X(S_IFSOCK), SCT_X(S_IFIFO), SCT_X(S_IFLNK), SCT_X(S_IFDIR),
         SCT_X(S_IFBLK), SCT_X(S_IFCHR));
SCT_XLAT_PUBLIC(sct_xlat_whence, SCT_X(SEEK_SET), SCT_X(SEEK_CUR), SCT_X(SEEK_END), SCT_X(SEEK_DATA),
                SCT_X(SEEK_HOLE));
SCT_XLAT(statx_sync, {0, "AT_STATX_SYNC_AS_STAT"}, {0x2000, "AT_STATX_FORCE_SYNC"},
         {0x4000, "AT_STATX_DONT_SYNC"});
SCT_XLAT(statx_masks, {0xfffU, "STATX_ALL"}, {0x7ffU, "STATX_BASIC_STATS"}, {0x1U, "STATX_TYPE"},
         {0x2U, "STATX_MODE"}, {0x4U, "STATX_NLINK"}, {0x8U, "STATX_UID"}, {0x10U, "STATX_GID"},
         {0x20U, "STATX_ATIME"}, {0x40U, "STATX_MTIME"}, {0x80U, "STATX_CTIME"}, {0x100U, "STATX_INO"},
         {0x200U, "STATX_SIZE"}, {0x400U, "STATX_BLOCKS"}, {0x800U, "STATX_BTIME"}, {0x1000U, "STATX_MNT_ID"},
         {0x2000U, "STATX_DIOALIGN"});
SCT_XLAT(statx_attrs, {0x4, "STATX_ATTR_COMPRESSED"}, {0x10, "STATX_ATTR_IMMUTABLE"},
         {0x20, "STATX_ATTR_APPEND"}, {0x40, "STATX_ATTR_NODUMP"}, {0x800, "STATX_ATTR_ENCRYPTED"},
         {0x1000, "STATX_ATTR_AUTOMOUNT"}, {0x2000, "STATX_ATTR_MOUNT_ROOT"}, {0x100000, "STATX_ATTR_VERITY"},
         {0x200000, "STATX_ATTR_DAX"});

const struct sct_xlat *sct_open_flag_names(void)
{
	return &open_flags;
}

/* open(2) flags: the access mode first, then the other flags (strace's order). */
void sct_print_open_flags(struct sct_line *l, unsigned long flags)
{
	const char *mode = sct_xlat_name(&open_access, flags & 3);
	if (!mode) {
		sct_print_flags(l, &open_flags, flags, "O_???");
		return;
	}
	sct_puts(l, mode);
	flags &= ~3UL;
	if ((flags & O_TMPFILE) == O_TMPFILE) {
		sct_puts(l, "|O_TMPFILE");
		flags &= ~(unsigned long)O_TMPFILE;
	}
	if (flags) {
		sct_putc(l, '|');
		sct_print_flags(l, &open_flags, flags, NULL);
	}
}

/* path, flags[, mode]: the mode is printed only when the flags use it. */
static void print_open_rest(struct sct_call *c, int i)
{
	sct_print_path(c, sct_addr(c, i));
	sct_puts(c->l, ", ");
	sct_print_open_flags(c->l, (unsigned long)c->a[i + 1]);
	if (c->a[i + 1] & (O_CREAT | (O_TMPFILE & ~O_DIRECTORY))) {
		sct_puts(c->l, ", ");
		sct_print_mode(c->l, (unsigned)c->a[i + 2]);
	}
}

void sct_dec_open(struct sct_call *c)
{
	if (!c->exiting)
		print_open_rest(c, 0);
}

void sct_dec_openat(struct sct_call *c)
{
	if (c->exiting)
		return;
	sct_p_dirfd(c, 0, NULL);
	sct_puts(c->l, ", ");
	print_open_rest(c, 1);
}

/* S_IFREG|S_ISUID|0644 */
void sct_print_symbolic_mode(struct sct_line *l, unsigned mode)
{
	const char *type = (mode & S_IFMT) ? sct_xlat_name(&mode_types, mode & S_IFMT) : "";
	if (!type) {
		sct_print_mode(l, mode);
		return;
	}
	sct_puts(l, type);
	if (*type)
		sct_putc(l, '|');
	if (mode & S_ISUID)
		sct_puts(l, "S_ISUID|");
	if (mode & S_ISGID)
		sct_puts(l, "S_ISGID|");
	if (mode & S_ISVTX)
		sct_puts(l, "S_ISVTX|");
	sct_print_mode(l, mode & ~(unsigned)(S_IFMT | S_ISUID | S_ISGID | S_ISVTX));
}

/* makedev(0x1, 0x3), with the kernel's split of a 64-bit device number */
static void print_dev(struct sct_line *l, unsigned long long dev)
{
	sct_puts(l, "makedev(");
	sct_hex(l, ((dev >> 32) & 0xfffff000ULL) | ((dev >> 8) & 0xfffULL));
	sct_puts(l, ", ");
	sct_hex(l, ((dev >> 12) & 0xffffff00ULL) | (dev & 0xffULL));
	sct_putc(l, ')');
}

/* The abbreviated stat strace prints: mode, then rdev for devices or size, then "...". */
static void print_stat_abbrev(struct sct_line *l, unsigned mode, unsigned long long rdev,
                              unsigned long long size)
{
	sct_puts(l, "{st_mode=");
	sct_print_symbolic_mode(l, mode);
	if (S_ISCHR(mode) || S_ISBLK(mode)) {
		sct_puts(l, ", st_rdev=");
		print_dev(l, rdev);
	} else {
		sct_puts(l, ", st_size=");
		sct_udec(l, size);
	}
	sct_puts(l, ", ...}");
}

void sct_p_stat_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	uintptr_t a = sct_addr(c, i);
	if (sct_print_if_failed(c, a))
		return;
	struct stat st;
	if (sct_fetch(c, a, &st, sizeof st))
		print_stat_abbrev(c->l, st.st_mode, st.st_rdev, (unsigned long long)st.st_size);
}

void sct_p_statx_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	uintptr_t a = sct_addr(c, i);
	if (sct_print_if_failed(c, a))
		return;
	struct statx st;
	if (!sct_fetch(c, a, &st, sizeof st))
		return;
	sct_puts(c->l, "{stx_mask=");
	sct_print_flags(c->l, &statx_masks, st.stx_mask, "STATX_???");
	sct_puts(c->l, ", stx_attributes=");
	sct_print_flags(c->l, &statx_attrs, st.stx_attributes, "STATX_ATTR_???");
	sct_puts(c->l, ", stx_mode=");
	sct_print_symbolic_mode(c->l, st.stx_mode);
	sct_puts(c->l, ", stx_size=");
	sct_udec(c->l, st.stx_size);
	sct_puts(c->l, ", ...}");
}

void sct_p_at_flags(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_flags(c->l, &sct_xlat_at_flags, (unsigned)c->a[i], "AT_???");
}

void sct_p_statx_flags(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	unsigned f = (unsigned)c->a[i];
	sct_print_xval(c->l, &statx_sync, f & 0x6000, NULL);
	f &= ~0x6000u;
	if (f) {
		sct_putc(c->l, '|');
		sct_print_flags(c->l, &sct_xlat_at_flags, f, "AT_???");
	}
}

void sct_p_statx_mask(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_flags(c->l, &statx_masks, (unsigned)c->a[i], "STATX_???");
}

void sct_p_access_mode(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	sct_print_flags(c->l, &sct_xlat_access_modes, (unsigned)c->a[i], "?_OK");
}

/* A path the call writes (readlink, getcwd): the result is its length. */
void sct_p_path_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	if (sct_print_if_failed(c, sct_addr(c, i)))
		return;
	sct_print_buffer(c, sct_addr(c, i), (unsigned long)c->ret, 0);
}

/* getcwd: the result counts the NUL. */
void sct_p_cwd_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	if (sct_print_if_failed(c, sct_addr(c, i)))
		return;
	sct_print_path(c, sct_addr(c, i));
}

/* getdents64: strace prints the number of entries rather than their names (a comment "5 entries"). */
void sct_p_dirents_out(struct sct_call *c, int i, const void *aux)
{
	(void)aux;
	uintptr_t a = sct_addr(c, i);
	sct_ptr(c->l, a);
	if (sct_failed(c->ret) || (unsigned long)c->ret > (unsigned)c->a[2])
		return;
	unsigned long n = 0;
	long left = c->ret;
	const long header = 19; /* d_ino, d_off, d_reclen, d_type */
	while (left >= header) {
		unsigned short reclen;
		if (!sct_peek(&reclen, a + 16, sizeof reclen))
			break;
		n++;
		if (reclen < header)
			reclen = (unsigned short)header;
		if (reclen >= left) {
			left = 0;
			break;
		}
		left -= reclen;
		a += reclen;
	}
	sct_puts(c->l, " /* ");
	sct_udec(c->l, n);
	sct_puts(c->l, left ? "+ entries */" : " entries */");
}

/* ---- extended attributes ---- */

SCT_XLAT(xattr_flags, {1, "XATTR_CREATE"}, {2, "XATTR_REPLACE"});

/* getxattr's value (the result is its size) and the size asked for. */
static void print_xattr_value(struct sct_call *c, uintptr_t addr, unsigned long size, unsigned long insize)
{
	if (size > 65536) /* XATTR_SIZE_MAX; an error result is taken as a huge size */
		sct_ptr(c->l, addr);
	else
		sct_print_buffer(c, addr, size, SCT_QUOTE_OMIT_TRAILING_NUL);
	sct_puts(c->l, ", ");
	sct_udec(c->l, insize);
}

/* The file of an xattr call: a descriptor for the f* calls, else a path; then the attribute's name. */
static void print_xattr_file(struct sct_call *c, bool by_fd, bool with_name)
{
	if (by_fd)
		sct_p_fd(c, 0, NULL);
	else
		sct_p_path(c, 0, NULL);
	sct_puts(c->l, ", ");
	if (with_name) {
		sct_p_str(c, 1, NULL);
		sct_puts(c->l, ", ");
	}
}

/* getxattr, lgetxattr (path) and fgetxattr (fd): the value at exit */
void sct_dec_getxattr(struct sct_call *c)
{
	if (!c->exiting) {
		print_xattr_file(c, c->nr == SYS_fgetxattr, true);
		return;
	}
	print_xattr_value(c, sct_addr(c, 2), (unsigned long)c->ret, (unsigned long)c->a[3]);
}

/* setxattr, lsetxattr, fsetxattr */
void sct_dec_setxattr(struct sct_call *c)
{
	if (c->exiting)
		return;
	print_xattr_file(c, c->nr == SYS_fsetxattr, true);
	print_xattr_value(c, sct_addr(c, 2), (unsigned long)c->a[3], (unsigned long)c->a[3]);
	sct_puts(c->l, ", ");
	sct_print_flags(c->l, &xattr_flags, (unsigned)c->a[4], "XATTR_???");
}

/* listxattr, llistxattr, flistxattr: the NUL-separated names at exit */
void sct_dec_listxattr(struct sct_call *c)
{
	if (!c->exiting) {
		print_xattr_file(c, c->nr == SYS_flistxattr, false);
		return;
	}
	if (!c->a[2] || sct_failed(c->ret))
		sct_ptr(c->l, sct_addr(c, 1));
	else
		sct_print_buffer(c, sct_addr(c, 1), (unsigned long)c->ret, 0);
	sct_puts(c->l, ", ");
	sct_udec(c->l, (unsigned long)c->a[2]);
}
