/*
 * The documented limit: a fault while SIGSEGV is blocked cannot be caught. The kernel forces the
 * default action, so the process dies by SIGSEGV — it must not hang, loop or report success.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "safecopy.h"

Test(blocked, fault_with_sigsegv_blocked_kills_the_process)
{
	cr_assert_eq(safecopy_init(), 0);
	char *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(page, MAP_FAILED);
	pid_t child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		sigset_t block;
		sigemptyset(&block);
		sigaddset(&block, SIGSEGV);
		sigprocmask(SIG_BLOCK, &block, NULL);
		char buf[16];
		safecopy_memcpy(buf, page, sizeof buf, NULL);
		_exit(0); /* reaching here would mean the fault was swallowed */
	}
	int status;
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFSIGNALED(status), "child exited with status %d instead of dying", WEXITSTATUS(status));
	cr_assert_eq(WTERMSIG(status), SIGSEGV);
}

Test(blocked, blocked_sigbus_does_not_affect_sigsegv_faults)
{
	/* Only the signal the fault raises matters: blocking SIGBUS leaves SIGSEGV faults catchable. */
	char *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(page, MAP_FAILED);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGBUS);
	sigprocmask(SIG_BLOCK, &block, NULL);
	char buf[16];
	struct safecopy_fault f;
	cr_assert_eq(safecopy_memcpy(buf, page, sizeof buf, &f), 0);
	cr_assert_eq(f.status, SAFECOPY_SEGV);
	cr_assert_eq(f.addr, page);
	cr_assert_eq(f.code, SEGV_ACCERR);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
}
