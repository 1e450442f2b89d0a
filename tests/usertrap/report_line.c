/*
 * The preload tool's counts line (src/usertrap/preload_report.c), built without stdio because the
 * tool also writes it from its hook at exit_group: every field exact, the fast share rounded half up
 * to one decimal, and a buffer too small cut short and terminated.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "usertrap/preload_report.h"

static const struct usertrap_counters counters = {
    .sites_patched = 3,
    .patches = 4,
    .patch_failures = 5,
    .trampoline_calls = 1,
    .sigsys_calls = 7,
    .in_place_calls = 8,
    .capture_lost = 9,
    .sigill_restarts = 10,
    .sigsys_native = 11,
    .sigill_calls = 12,
};

Test(report_line, every_field)
{
	char out[512];
	size_t n = preload_counts_line(out, sizeof out, 4321, 16, &counters);
	const char *want =
	    "usertrap pid=4321 calls=16 trampoline=1 sigsys=7 patched=3 in_place=8 restarts=10 "
	    "sigill=12 sigsys_native=11 patches=4 patch_failures=5 capture_lost=9 fast=6.3%\n";
	cr_assert_str_eq(out, want);
	cr_assert_eq(n, strlen(want));
}

/* The share after "fast=" for t of calls through the trampoline. */
static const char *share(uint64_t t, uint64_t calls, char *out, size_t n)
{
	struct usertrap_counters c = {.trampoline_calls = t};
	preload_counts_line(out, n, 1, calls, &c);
	return strstr(out, "fast=") + 5;
}

Test(report_line, share_rounded_half_up)
{
	char out[512];
	cr_assert_str_eq(share(0, 0, out, sizeof out), "0.0%\n");
	cr_assert_str_eq(share(1, 3, out, sizeof out), "33.3%\n");
	cr_assert_str_eq(share(2, 3, out, sizeof out), "66.7%\n");
	cr_assert_str_eq(share(1, 2000, out, sizeof out), "0.1%\n"); /* 0.05: half, up */
	cr_assert_str_eq(share(1, 2001, out, sizeof out), "0.0%\n");
	cr_assert_str_eq(share(56, 57, out, sizeof out), "98.2%\n");
	cr_assert_str_eq(share(57, 57, out, sizeof out), "100.0%\n");
}

Test(report_line, largest_counts)
{
	struct usertrap_counters c = {.sigsys_calls = UINT64_MAX};
	char out[512];
	preload_counts_line(out, sizeof out, 2147483647, 0, &c);
	cr_assert(strstr(out, "pid=2147483647 calls=0 trampoline=0 sigsys=18446744073709551615 patched=0 "),
	          "%s", out);
}

Test(report_line, cut_short_and_terminated)
{
	char out[16];
	memset(out, 'x', sizeof out);
	size_t n = preload_counts_line(out, 10, 4321, 16, &counters);
	cr_assert_eq(n, 9);
	cr_assert_str_eq(out, "usertrap ");
	cr_assert_eq(out[10], 'x', "nothing written past n");
	n = preload_counts_line(out, 1, 4321, 16, &counters);
	cr_assert_eq(n, 0);
	cr_assert_eq(out[0], '\0');
}
