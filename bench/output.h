/* Output of the rows: the aligned table on stdout, JSON and CSV files for machines. */
#ifndef BENCH_OUTPUT_H
#define BENCH_OUTPUT_H

#include <stdio.h>

#include "session.h"

/* The header block: date, CPU, kernel, glibc, compiler, settings. */
void output_info(FILE *f, const struct bench_session *s);

/* The column titles of the table. */
void output_table_head(FILE *f);

/* The head of the fallback part's table: its level, how glibc was capped and glibc's variants, then
 * the column titles. */
void output_fallback_head(FILE *f, const struct bench_fallback *part);

/* One row of the table. */
void output_table_row(FILE *f, const struct bench_row *r);

/* After the table: notes, load, and which goals were met and which missed. */
void output_summary(FILE *f, const struct bench_session *s);

/* Every row and the header block as JSON. Returns 0, or -1 with errno set. */
int output_json(const char *path, const struct bench_session *s);

/* Every row as CSV, one header line. Returns 0, or -1 with errno set. */
int output_csv(const char *path, const struct bench_session *s);

#endif
