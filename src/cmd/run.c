#include <stdio.h>
#include "cmd/cmd.h"

static const char run_help[] =
	"usage: profkit run [OPTIONS] -- COMMAND [ARGS...]\n"
	"\n"
	"Launch COMMAND (directly, no shell) and sample it and its descendants every interval:\n"
	"CPU, memory, open files, threads, I/O, faults, context switches, and the whole\n"
	"machine's CPU, memory and energy. Writes samples.csv, system.csv, stdout.txt,\n"
	"stderr.txt and summary.json into the output directory, passes the command's output\n"
	"through, and exits with the command's exit status.\n"
	"\n"
	"  -i, --interval, --pace SECONDS   time between samples (default 0.05; min 0.001)\n"
	"  -d, --duration SECONDS  record this long (one last sample at the end), then end the\n"
	"                          command like timeout(1): SIGTERM, SIGKILL 2 s later\n"
	"  -e, --events LIST       perf counters as extra columns (see 'profkit list'), e.g.\n"
	"                          page-faults,context-switches; counted for COMMAND and\n"
	"                          everything it starts later, like perf stat\n"
	"  -o, --output DIR        output directory (default ./profkit-NAME-YYYYmmdd-HHMMSS)\n"
	"      --force             write into DIR even if it is not empty\n"
	"      --no-children       sample only COMMAND, not the processes it starts\n"
	"      --pss               add mem_pss and mem_uss columns (costs ~5 us per MB resident)\n"
	"  -q, --quiet             no status line and no summary on stderr\n"
	"  -h, --help              this help\n"
	"\n"
	"Ctrl-C or SIGTERM is passed to COMMAND; a second one kills it; a third stops profkit.\n";

int cmd_run(int argc, char **argv)
{
	struct monitor_opts o;
	int code;
	if (monitor_opts_parse(&o, true, run_help, argc, argv, &code) != 0) {
		monitor_opts_free(&o);
		return code;
	}
	code = monitor_opts_record(&o);
	monitor_opts_free(&o);
	return code;
}
