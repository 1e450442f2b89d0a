/* The tracer library's own system calls: through usertrap's gate, so they never reach the hook. */
#include "sctrace/rawsys.h"

#include "usertrap.h"

long sct_raw6(long nr, long a, long b, long c, long d, long e, long f)
{
	struct usertrap_call call = {.nr = nr, .args = {a, b, c, d, e, f}};
	return usertrap_syscall(&call);
}
