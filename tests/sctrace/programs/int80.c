/*
 * Run by tests/sctrace/output.c: i386 getpid (20) three times with `int $0x80` (EBX..EBP = 0x11..0x66)
 * between a 64-bit getpid and a 64-bit getppid. Exit 4 if `int $0x80` makes no i386 calls here.
 */
#include <sys/syscall.h>
#include <unistd.h>

#include "../../i386_call.h"

int main(void)
{
	long pid = syscall(SYS_getpid);
	const long regs[7] = {20, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66};
	for (int i = 0; i < 3; i++)
		if (i386_call(regs) != pid)
			return 4;
	syscall(SYS_getppid);
	return 0;
}
