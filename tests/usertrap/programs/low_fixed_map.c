/*
 * Run plainly and under the preload tool: a program that maps low memory at a fixed address, as an
 * emulator maps its guest's space, over where usertrap's trap table lives ([0x60000, 0x70000)).
 * Plainly the mapping is made ("mapped", exit 0); under the preload it is refused with ENOMEM
 * ("mmap: Cannot allocate memory", exit 1) instead of replacing the table every patched site jumps to.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
	void *p = mmap((void *)0x40000, 0x40000, PROT_READ | PROT_WRITE,
	               MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memset(p, 0xab, 0x40000);
	printf("mapped, pid %s\n", getpid() > 0 ? "ok" : "wrong");
	return 0;
}
