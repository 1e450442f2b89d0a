/*
 * A signal handler that makes system calls while the main flow waits in one: a read on a pipe that
 * stays empty until the handler, run by a timer, writes to it. Usage: sigwrite
 */
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static int p[2];

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "from the handler\n";
	if (write(1, msg, sizeof msg - 1) < 0 || write(p[1], "x", 1) != 1)
		_exit(2);
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	if (pipe(p) || sigaction(SIGALRM, &sa, NULL))
		return 1;
	struct itimerval t = {{0, 0}, {0, 100 * 1000}};
	setitimer(ITIMER_REAL, &t, NULL);
	char c;
	return read(p[0], &c, 1) == 1 && c == 'x' ? 0 : 1;
}
