/*
 * dd's work with calls usertrap patches: COUNT times, 64 bytes from /dev/zero (pread, whose libc site
 * is `mov $17,%eax; syscall`) to /dev/null (write). dd's own read goes through `xor %eax,%eax;
 * syscall`, a site usertrap cannot patch, so every dd read takes the signal path; this program shows
 * the tracer's cost once every call takes the patched path. Usage: fastloop COUNT
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 0;
	int in = open("/dev/zero", O_RDONLY), out = open("/dev/null", O_WRONLY);
	char buf[64];
	if (in < 0 || out < 0)
		return 1;
	for (long i = 0; i < n; i++)
		if (pread(in, buf, sizeof buf, 0) != sizeof buf || write(out, buf, sizeof buf) != sizeof buf)
			return 1;
	return 0;
}
