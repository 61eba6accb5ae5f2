/* The formats of `profkit report`: text (for people; sparklines on a terminal), JSON (for
 * scripts), Markdown (for issues and pull requests) and CSV (for spreadsheets). Names that
 * come from the profiled program are escaped for each format. */
#ifndef PK_OUTPUT_REPORT_H
#define PK_OUTPUT_REPORT_H

#include <stdbool.h>
#include "report/compare.h"
#include "report/report.h"
#include "util/strbuf.h"

#define SPARKLINE_WIDTH 32

void report_text(struct strbuf *sb, const struct report *r, const char *source, bool sparklines);
void report_json(struct strbuf *sb, const struct report *r, const char *source);
void report_markdown(struct strbuf *sb, const struct report *r, const char *source);
void report_csv(struct strbuf *sb, const struct report *r);
/* report.html: the tables, interactive charts (uPlot, embedded) and the captured stdout, in
 * one file that works offline (report_html.c). */
void report_html(struct strbuf *sb, const struct report *r, const char *source);

void comparison_text(struct strbuf *sb, const struct comparison *c, const char *a, const char *b);
void comparison_json(struct strbuf *sb, const struct comparison *c, const char *a, const char *b);
void comparison_markdown(struct strbuf *sb, const struct comparison *c, const char *a,
			 const char *b);
void comparison_csv(struct strbuf *sb, const struct comparison *c);
/* Both recordings' reports give the series for the shared charts. */
void comparison_html(struct strbuf *sb, const struct comparison *c, const struct report *ra,
		     const struct report *rb, const char *a, const char *b);

/* ---- shared by the formats (report_common.c) --------------------------------------------- */

/* width block characters (U+2581..U+2588) for the non-NAN values of v, each the mean of its
 * share of the series, scaled from the lowest to the highest; nothing when all are NAN. */
void report_sparkline(struct strbuf *sb, const double *v, size_t n, size_t width);
/* A value for people: "2.41 s", "16.6", "197.0 MiB", "12", "3.2 J"; "-" for NAN. */
void report_add_value(struct strbuf *sb, enum value_unit unit, double v);
/* Text from the profiled program for a terminal: control characters and invalid UTF-8 as
 * \xNN, so that a name cannot move the cursor or change colours. */
void report_add_text(struct strbuf *sb, const char *s);
/* The same for Markdown: also escapes what Markdown or HTML would interpret. */
void report_add_markdown(struct strbuf *sb, const char *s);
/* A bytes/s slope as MB/hour (MB = 10^6 bytes). */
double report_mb_per_hour(double bytes_per_s);
/* The numbers behind a verdict on growth that began late, in one line of plain text for a
 * table cell: "last quarter +170348.3 (+167237.1 .. +173459.6) MB/hour; growth +36.1 MiB =
 * +110.5% of its mean 32.7 MiB; last eighth +168830.0 (...) MB/hour; ends at 50.7 MiB,
 * earlier peak 12.3 MiB" */
void report_add_late(struct strbuf *sb, const struct leak_late *w);
/* "2026-11-22 18:23:03 UTC" */
void report_add_time(struct strbuf *sb, double epoch);
/* "tree", "process", "group" */
const char *report_kind_name(enum entity_kind k);
const char *report_unit_name(enum value_unit u);

#endif
