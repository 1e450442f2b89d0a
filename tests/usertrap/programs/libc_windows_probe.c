/*
 * Prints the glibc it runs on and libc_sites_count()'s counts of that libc.so.6, one line:
 *   glibc=V sites=N seven=N windowed=N cancel=none|window|refused refused=OFF,OFF,...
 * (offsets of refused sites from libc's executable segment). tests/usertrap/preload.c runs it under
 * glibc 2.41's dynamic linker: the suite's own process can only see the system's libc.
 */
#include <gnu/libc-version.h>
#include <stdbool.h>
#include <stdio.h>

#include "usertrap/libc_sites.h"

int main(void)
{
	struct libc_sites s;
	libc_sites_count(&s);
	if (!s.libc_lo) {
		fprintf(stderr, "libc_windows_probe: no libc.so.6 loaded\n");
		return 1;
	}
	printf("glibc=%s sites=%u seven=%u windowed=%u cancel=%s refused=", gnu_get_libc_version(), s.sites,
	       s.seven, s.windowed,
	       !s.cancel_site      ? "none"
	       : s.cancel_windowed ? "window"
	                           : "refused");
	for (unsigned i = 0; i < s.n_refused; i++)
		printf("%s%#lx", i ? "," : "", (unsigned long)(s.refused[i] - s.libc_lo));
	printf("\n");
	return 0;
}
