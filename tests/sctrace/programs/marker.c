/*
 * Preloaded into the programs the suite runs under the real strace: its constructor runs where
 * libsctrace.so's runs, and marks that point in strace's trace with a call no program makes. The
 * lines before it (the dynamic loader's) are those sctrace cannot see; the comparison starts after it.
 */
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

__attribute__((constructor(101))) static void mark(void)
{
	syscall(SYS_faccessat, AT_FDCWD, "/sctrace-test-marker", F_OK);
}
