/*
 * Run by tests/usertrap/preload.c under the preload library: a `xor %eax,%eax; syscall` site (read,
 * which the patcher never matches) on a page of its own, called argv[1] times on /dev/zero, after 6
 * bytes of nop. Prints the syscall instruction's address. With argv[2] "i386": an `int $0x80` site
 * instead, i386 getpid (20) after 3 bytes of nop, called argv[1] times, then one i386 setpgid(0, 0)
 * (57, x86-64's fork number) from another site; exit 4 if `int $0x80` makes no i386 calls here.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* mov $20,%eax; int $0x80; ret after 3 nops, and push %rbx; mov $57,%eax; xor %ebx,%ebx; xor %ecx,%ecx;
 * int $0x80; pop %rbx; ret. */
static int i386_sites(unsigned char *page, long k)
{
	const unsigned char getpid_code[] = {0x90, 0x90, 0x90, 0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3};
	const unsigned char setpgid_code[] = {0x53, 0xb8, 57,   0,    0,    0,    0x31,
	                                      0xdb, 0x31, 0xc9, 0xcd, 0x80, 0x5b, 0xc3};
	memcpy(page + 64, getpid_code, sizeof getpid_code);
	memcpy(page + 128, setpgid_code, sizeof setpgid_code);
	if (mprotect(page, 4096, PROT_READ | PROT_EXEC) != 0)
		return 2;
	long (*i386_getpid)(void) = (long (*)(void))(void *)(page + 64);
	long (*i386_setpgid0)(void) = (long (*)(void))(void *)(page + 128);
	for (long i = 0; i < k; i++)
		if (i386_getpid() != getpid())
			return i == 0 ? 4 : 3;
	if (i386_setpgid0() != 0)
		return 5;
	printf("%#lx\n", (unsigned long)(page + 64 + 8));
	return 0;
}

int main(int argc, char **argv)
{
	long k = argc > 1 ? atol(argv[1]) : 1;
	unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return 2;
	const unsigned char code[] = {0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x31, 0xc0, 0x0f, 0x05, 0xc3};
	memset(page, 0xcc, 4096);
	if (argc > 2 && strcmp(argv[2], "i386") == 0)
		return i386_sites(page, k);
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
