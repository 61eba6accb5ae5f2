/* The end of a run/watch recording: summary.json and the short human summary. */
#ifndef PK_OUTPUT_SUMMARY_H
#define PK_OUTPUT_SUMMARY_H

#include "core/monitor.h"
#include "util/strbuf.h"

void summary_json(struct strbuf *sb, const struct monitor_config *cfg,
		  const struct monitor_result *res);
/* At most max_procs process lines, busiest first. */
void summary_text(struct strbuf *sb, const struct monitor_config *cfg,
		  const struct monitor_result *res, size_t max_procs);

#endif
