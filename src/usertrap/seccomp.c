/* The program's seccomp filters (see seccomp.h). */
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "usertrap.h"
#include "usertrap/chain.h"
#include "usertrap/seccomp.h"
#include "usertrap/sud.h"
#include "usertrap/table.h"

bool ut_seccomp_installs(long nr, const long a[6])
{
	if (nr == SYS_seccomp)
		return a[0] == SECCOMP_SET_MODE_STRICT || a[0] == SECCOMP_SET_MODE_FILTER;
	return nr == SYS_prctl && a[0] == PR_SET_SECCOMP;
}

bool ut_seccomp_installs_i386(long nr, const long a[6])
{
	if (nr == 354) /* seccomp */
		return a[0] == SECCOMP_SET_MODE_STRICT || a[0] == SECCOMP_SET_MODE_FILTER;
	return nr == 172 && a[0] == PR_SET_SECCOMP; /* prctl */
}

bool ut_seccomp_seal(void)
{
	bool intercepting = ut_sud_seal();
	ut_chain_restore(SIGSYS);
	return intercepting;
}

long ut_seccomp_install(long nr, const long a[6])
{
	bool intercepting = ut_seccomp_seal();
	long r = ut_sys(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	/* A filter is in place once the call succeeded (a filter with SECCOMP_FILTER_FLAG_NEW_LISTENER
	 * returns a descriptor); prctl(PR_SET_SECCOMP) returns 0. */
	if (r < 0 && r > -4096) {
		ut_chain_reinstall(SIGSYS);
		ut_sud_unseal(intercepting);
	}
	return r;
}

bool usertrap_seccomp_sealed(void)
{
	return ut_sud_sealed();
}
