/*
 * Run by tests/usertrap/preload.c under the preload library: a `xor %eax,%eax; syscall` site (read,
 * which the patcher never matches) on a page of its own, called argv[1] times on /dev/zero, after 6
 * bytes of nop. Prints the syscall instruction's address.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long k = argc > 1 ? atol(argv[1]) : 1;
	unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return 2;
	const unsigned char code[] = {0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x31, 0xc0, 0x0f, 0x05, 0xc3};
	memset(page, 0xcc, 4096);
	memcpy(page + 64, code, sizeof code);
	if (mprotect(page, 4096, PROT_READ | PROT_EXEC) != 0)
		return 2;
	long (*rd)(long, void *, long) = (long (*)(long, void *, long))(void *)(page + 64 + 6);
	int fd = open("/dev/zero", O_RDONLY);
	char buf[64];
	for (long i = 0; i < k; i++)
		if (rd(fd, buf, sizeof buf) != sizeof buf)
			return 3;
	printf("%#lx\n", (unsigned long)(page + 64 + 8));
	return 0;
}
