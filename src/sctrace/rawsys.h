/*
 * System calls the tracer makes for itself (writing lines, opening -ff files, mapping the board). In
 * the tracer library they go through usertrap's own gate, which the hook never sees; in the command
 * and the tests, through a plain syscall instruction. Returns the kernel's result (-errno on error).
 * Async-signal-safe.
 */
#ifndef SCTRACE_RAWSYS_H
#define SCTRACE_RAWSYS_H

long sct_raw6(long nr, long a, long b, long c, long d, long e, long f);

#define sct_raw0(nr)             sct_raw6(nr, 0, 0, 0, 0, 0, 0)
#define sct_raw1(nr, a)          sct_raw6(nr, (long)(a), 0, 0, 0, 0, 0)
#define sct_raw2(nr, a, b)       sct_raw6(nr, (long)(a), (long)(b), 0, 0, 0, 0)
#define sct_raw3(nr, a, b, c)    sct_raw6(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sct_raw4(nr, a, b, c, d) sct_raw6(nr, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

#endif
