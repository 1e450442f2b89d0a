/* Reading /proc/self/maps with raw system calls into stack buffers (the SIGSYS path patches). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "usertrap/maps.h"
#include "usertrap/table.h"

static bool parse_hex(const char **p, uintptr_t *out)
{
	uintptr_t v = 0;
	const char *s = *p;
	int n = 0;
	for (;; s++, n++) {
		char c = *s;
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			break;
		v = v << 4 | (uintptr_t)d;
	}
	*p = s;
	*out = v;
	return n > 0;
}

/* One line, "lo-hi perms offset dev inode name": true (and *m) if it holds addr. */
static bool parse_line(const char *line, uintptr_t addr, struct ut_mapping *m)
{
	const char *p = line;
	uintptr_t lo, hi;
	if (!parse_hex(&p, &lo) || *p++ != '-' || !parse_hex(&p, &hi) || *p++ != ' ')
		return false;
	if (addr < lo || addr >= hi)
		return false;
	m->start = lo;
	m->end = hi;
	m->prot =
	    (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) | (p[2] == 'x' ? PROT_EXEC : 0);
	m->shared = p[3] == 's';
	m->vdso = strstr(p, "[vdso]") != NULL;
	return true;
}

int ut_find_mapping(uintptr_t addr, struct ut_mapping *m)
{
	int fd = (int)UT_SYS3(SYS_open, "/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	char buf[1024], line[256];
	size_t len = 0;
	bool found = false;
	for (;;) {
		long n = UT_SYS3(SYS_read, fd, buf, sizeof buf);
		if (n <= 0)
			break;
		for (long i = 0; i < n && !found; i++) {
			if (buf[i] != '\n') {
				if (len < sizeof line - 1)
					line[len++] = buf[i];
				continue;
			}
			line[len] = 0;
			len = 0;
			found = parse_line(line, addr, m);
		}
		if (found)
			break;
	}
	UT_SYS1(SYS_close, fd);
	return found ? 0 : -ENOENT;
}
