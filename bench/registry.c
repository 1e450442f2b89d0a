/*
 * Every suite of rows, in table order. Adding rows = adding a row file that defines one
 * `const struct bench_suite` and one line here (bench/SConscript builds every .c file in bench/).
 */
#include "bench.h"

extern const struct bench_suite copy_suite, memset_suite, atomic_suite, fault_suite, mixed_suite,
    usertrap_suite, string_suite, peek_suite, probe_suite, copyv_suite, sctrace_suite, usertrap_read_suite,
    usertrap_program_suite;

const struct bench_suite *const bench_suites[] = {
    &copy_suite,          &memset_suite,
    &atomic_suite,        &string_suite,
    &peek_suite,          &probe_suite,
    &copyv_suite,         &fault_suite,
    &mixed_suite,         &usertrap_suite,
    &usertrap_read_suite, &usertrap_program_suite,
    &sctrace_suite,       NULL,
};
