/* The columns of samples.csv and system.csv (DESIGN.md "Output files"). */
#ifndef PK_OUTPUT_ROWS_H
#define PK_OUTPUT_ROWS_H

#include <stdbool.h>
#include "core/model.h"
#include "util/strbuf.h"

extern const char *const samples_columns[];     /* NULL-terminated, without --pss columns */
extern const char *const samples_pss_columns[]; /* appended with --pss */

/* counter_names: the -e counter columns, appended after the others (n may be 0). */
void rows_samples_header(struct strbuf *sb, bool pss, const char *const *counter_names,
			 size_t ncounters);
void rows_samples_row(struct strbuf *sb, const struct proc_row *row, bool pss);
void rows_system_header(struct strbuf *sb, int ncpus);
void rows_system_row(struct strbuf *sb, const struct system_row *row);

#endif
