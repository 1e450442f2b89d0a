/* Running a whole program from a row file (the sctrace and usertrap program groups). */
#ifndef BENCH_WHOLE_RUN_H
#define BENCH_WHOLE_RUN_H

/* Runs argv (argv[0] a path) with stdin, stdout and stderr on /dev/null and the environment env (NULL:
 * this process's); returns its wait status, or -1 if it could not be started. */
int bench_spawn_wait(char *const argv[], char *const env[]);

#endif
