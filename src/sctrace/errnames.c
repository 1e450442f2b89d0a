/*
 * errno names and descriptions. glibc's strerrorname_np/strerrordesc_np are table look-ups (no locale,
 * no allocation: safe in signal context) and give the same names and texts strace prints in the C
 * locale. The kernel's internal restart codes, which only a tracer sees, have their own strings.
 */
#include <string.h>

#include "sctrace/decode.h"

static const struct {
	long err;
	const char *name, *text;
} kernel_only[] = {
    {512, "ERESTARTSYS", "To be restarted if SA_RESTART is set"}, {513, "ERESTARTNOINTR", "To be restarted"},
    {514, "ERESTARTNOHAND", "To be restarted if no handler"},     {515, "ENOIOCTLCMD", "No ioctl command"},
    {516, "ERESTART_RESTARTBLOCK", "Interrupted by signal"},
};

const char *sct_errno_name(long err)
{
	for (size_t i = 0; i < sizeof kernel_only / sizeof kernel_only[0]; i++)
		if (kernel_only[i].err == err)
			return kernel_only[i].name;
	if (err <= 0 || err > 4095)
		return NULL;
	return strerrorname_np((int)err);
}

const char *sct_errno_text(long err)
{
	for (size_t i = 0; i < sizeof kernel_only / sizeof kernel_only[0]; i++)
		if (kernel_only[i].err == err)
			return kernel_only[i].text;
	if (err <= 0 || err > 4095)
		return NULL;
	return strerrordesc_np((int)err);
}
