/*
 * Run by tests/sctrace/output.c: i386 getpid (20) three times with `int $0x80` (EBX..EBP = 0x11..0x66)
 * between a 64-bit getpid and a 64-bit getppid. Exit 4 if `int $0x80` makes no i386 calls here. Then
 * i386 read(fd, NULL, 0) (i386 3, x86-64's close) on every open descriptor, the tracer's among them,
 * must return what the 64-bit read does: exit 6 if not.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../../i386_call.h"

/* read(fd, NULL, 0) in the kernel's convention (-errno). */
static long read0_64(long fd)
{
	return read((int)fd, NULL, 0) < 0 ? -errno : 0;
}

int main(void)
{
	long pid = syscall(SYS_getpid);
	const long regs[7] = {20, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66};
	for (int i = 0; i < 3; i++)
		if (i386_call(regs) != pid)
			return 4;
	syscall(SYS_getppid);
	for (long fd = 0; fd < 1024; fd++) {
		const long read0[7] = {3, fd};
		if (fcntl((int)fd, F_GETFD) >= 0 && i386_call(read0) != read0_64(fd))
			return 6;
	}
	return 0;
}
