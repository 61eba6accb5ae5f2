#include <stdio.h>
#include "cmd/cmd.h"

static const char watch_help[] =
	"usage: profkit watch [OPTIONS] TARGET...\n"
	"\n"
	"Sample running processes every interval. A TARGET is a PID or a process name; a name\n"
	"follows every process of that name, including ones that start during the recording.\n"
	"Ends at the duration, when every target is gone, or on Ctrl-C. Writes samples.csv,\n"
	"system.csv and summary.json into the output directory.\n"
	"\n"
	"  -i, --interval, --pace SECONDS   time between samples (default 0.05; min 0.001)\n"
	"  -d, --duration SECONDS  stop after this long (one last sample at the end)\n"
	"  -e, --events LIST       perf counters as extra columns (see 'profkit list'), e.g.\n"
	"                          page-faults,context-switches; counted for each target and\n"
	"                          everything it starts later, like perf stat\n"
	"  -o, --output DIR        output directory (default ./profkit-NAME-YYYYmmdd-HHMMSS)\n"
	"      --force             write into DIR even if it is not empty\n"
	"      --match REGEX       also follow processes whose command line matches REGEX\n"
	"                          (POSIX extended regular expression)\n"
	"      --children          also follow the targets' descendants\n"
	"      --wait              wait for a name that matches nothing yet, and keep\n"
	"                          recording when every target is gone\n"
	"      --pss               add mem_pss and mem_uss columns (costs ~5 us per MB resident)\n"
	"  -q, --quiet             no status line and no summary on stderr\n"
	"  -h, --help              this help\n";

int cmd_watch(int argc, char **argv)
{
	struct monitor_opts o;
	int code;
	if (monitor_opts_parse(&o, false, watch_help, argc, argv, &code) != 0) {
		monitor_opts_free(&o);
		return code;
	}
	code = monitor_opts_record(&o);
	monitor_opts_free(&o);
	return code;
}
