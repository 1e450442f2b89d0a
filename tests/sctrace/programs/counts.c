/*
 * Known numbers of calls, for the -c tests: 1000 getppid, 10 writes to /dev/null, 5 failing closes
 * and one that succeeds, 3 failing opens. Usage: counts
 */
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	for (int i = 0; i < 1000; i++)
		syscall(SYS_getppid);
	int fd = open("/dev/null", O_WRONLY);
	if (fd < 0)
		return 1;
	for (int i = 0; i < 10; i++)
		if (write(fd, "0123456789", 10) != 10)
			return 1;
	for (int i = 0; i < 5; i++)
		close(-1 - i);
	for (int i = 0; i < 3; i++)
		open("/nonexistent/sctrace", O_RDONLY);
	return close(fd) != 0;
}
