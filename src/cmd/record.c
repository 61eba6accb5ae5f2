/* profkit record: where a program's wall-clock time goes, on and off the CPU. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cmd/cmd.h"
#include "cmd/record_session.h"
#include "config.h"
#include "util/parse.h"

#define DEFAULT_FREQ 49
#define MAX_FREQ 100000
#define DEFAULT_MIN_BLOCK_US 1000
#define DEFAULT_STACK_BYTES 16384

static const char record_help[] =
	"usage: profkit record [-F HZ] [-m MIN_BLOCK_US] [-d SECONDS] [-o PREFIX]\n"
	"                      [--format speedscope,pprof] (-p PID | -- COMMAND [ARGS...])\n"
	"\n"
	"Record where a program's wall-clock time goes: stacks sampled on the CPU (perf\n"
	"cpu-clock) and stacks where it blocked off the CPU (eBPF on sched_switch), symbolized\n"
	"while it runs, drawn as one flamegraph (on-CPU warm, off-CPU blue) with a time analysis.\n"
	"\n"
	"  -p, --pid PID           attach to this process (all its threads, and new ones)\n"
	"  -d, --duration SECONDS  record this long (default: until the target exits or Ctrl-C)\n"
	"  -F, --freq HZ           on-CPU samples per second per thread (default 49)\n"
	"  -m, --min-block US      shortest off-CPU block counted, in microseconds (default 1000)\n"
	"  -o, --output PREFIX     PREFIX.folded, PREFIX.svg, PREFIX_analysis.txt, PREFIX/\n"
	"                          (default profile_pid<PID>_<YYYYmmdd-HHMMSS>)\n"
	"      --format LIST       also write speedscope (PREFIX.speedscope.json) and/or pprof\n"
	"                          (PREFIX.pb.gz, for go tool pprof), comma-separated\n"
	"      --no-offcpu         on-CPU samples only\n"
	"      --no-kernel         no kernel frames\n"
	"      --threads           a flamegraph per thread in PREFIX/ (default: when more than\n"
	"                          one thread has time)\n"
	"      --no-threads        no per-thread files\n"
	"      --no-dwarf          user stacks from frame pointers only (no stack copies)\n"
	"      --stack-size BYTES  user stack copied per sample for DWARF unwinding (default 16384)\n"
	"  -q, --quiet             no status line, no summary\n"
	"  -h, --help              this help\n"
	"\n"
	"  profkit record -- COMMAND [ARGS...]   launch COMMAND (directly, no shell); exits with\n"
	"                                        its status\n"
	"\n"
	"Folded weights are microseconds; on-CPU frames end in _[c], off-CPU ones in _[o].\n"
	"Needs root, or CAP_PERFMON + CAP_BPF (perf_event_paranoid <= 1 for kernel stacks).\n";

enum { OPT_FORMAT = 0x100, OPT_NO_OFFCPU, OPT_NO_KERNEL, OPT_THREADS, OPT_NO_THREADS,
       OPT_NO_DWARF, OPT_STACK_SIZE };

/* Sorted by long name. */
static const struct option record_opts_table[] = {
	{ "duration", required_argument, NULL, 'd' },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "freq", required_argument, NULL, 'F' },
	{ "help", no_argument, NULL, 'h' },
	{ "min-block", required_argument, NULL, 'm' },
	{ "no-dwarf", no_argument, NULL, OPT_NO_DWARF },
	{ "no-kernel", no_argument, NULL, OPT_NO_KERNEL },
	{ "no-offcpu", no_argument, NULL, OPT_NO_OFFCPU },
	{ "no-threads", no_argument, NULL, OPT_NO_THREADS },
	{ "output", required_argument, NULL, 'o' },
	{ "pid", required_argument, NULL, 'p' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "stack-size", required_argument, NULL, OPT_STACK_SIZE },
	{ "threads", no_argument, NULL, OPT_THREADS },
	{ 0 },
};

static int parse_formats(const char *arg, unsigned *ret)
{
	char buf[256];
	if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
		return usage_error("record", "--format list too long");
	*ret = 0;
	for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (!strcmp(w, "speedscope"))
			*ret |= RECORD_SPEEDSCOPE;
		else if (!strcmp(w, "pprof"))
			*ret |= RECORD_PPROF;
		else if (strcmp(w, "folded") && strcmp(w, "svg"))
			return usage_error("record", "unknown format '%s': expected speedscope, pprof "
					   "(folded and svg are always written)", w);
	}
	return 0;
}

static int parse_number(const char *opt, const char *arg, int64_t min, int64_t max,
			int64_t *ret)
{
	int e = parse_int64(arg, min, max, ret);
	if (e < 0)
		return usage_error("record", "invalid %s '%s': expected a whole number from %lld to %lld",
				   opt, arg, (long long)min, (long long)max);
	return 0;
}

static int parse_option(struct record_opts *o, int opt, const char *arg, int *ret_exit)
{
	int64_t v;
	double s;
	switch (opt) {
	case 'p':
		if (parse_pid(arg, &o->pid) < 0)
			return usage_error("record", "invalid PID '%s'", arg);
		return 0;
	case 'd':
		if (parse_seconds(arg, &s) < 0)
			return usage_error("record", "invalid duration '%s': expected seconds, e.g. 30", arg);
		o->duration_s = s;
		return 0;
	case 'F':
		if (parse_number("frequency", arg, 1, MAX_FREQ, &v))
			return EXIT_USAGE;
		o->freq_hz = (unsigned)v;
		return 0;
	case 'm':
		if (parse_number("minimum block", arg, 0, INT64_C(3600000000), &v))
			return EXIT_USAGE;
		o->min_block_us = (uint64_t)v;
		return 0;
	case 'o':
		if (!*arg)
			return usage_error("record", "empty output prefix");
		o->prefix = arg;
		return 0;
	case OPT_FORMAT:
		return parse_formats(arg, &o->formats);
	case OPT_NO_OFFCPU:
		o->offcpu = false;
		return 0;
	case OPT_NO_KERNEL:
		o->kernel = false;
		return 0;
	case OPT_THREADS:
		o->threads = RECORD_THREADS_ON;
		return 0;
	case OPT_NO_THREADS:
		o->threads = RECORD_THREADS_OFF;
		return 0;
	case OPT_NO_DWARF:
		o->dwarf = false;
		return 0;
	case OPT_STACK_SIZE:
		if (parse_number("stack size", arg, 8, 65528, &v))
			return EXIT_USAGE;
		o->stack_bytes = (uint32_t)(v & ~7);
		return 0;
	case 'q':
		o->quiet = true;
		return 0;
	case 'h':
		fputs(record_help, stdout);
		*ret_exit = 0;
		return -1;
	}
	return usage_error("record", "unknown option");
}

static int parse(struct record_opts *o, int argc, char **argv, int *ret_exit)
{
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:p:d:F:m:o:qh", record_opts_table, NULL)) != -1) {
		if (opt == ':')
			return usage_error("record", "option '%s' needs a value", argv[optind - 1]);
		if (opt == '?')
			return usage_error("record", "unknown option '%s'", argv[optind - 1]);
		int r = parse_option(o, opt, optarg, ret_exit);
		if (r)
			return r;
	}
	if (optind < argc)
		o->argv = argv + optind;
	if (o->argv && o->pid)
		return usage_error("record", "give either -p PID or a command after --, not both");
	if (!o->argv && !o->pid)
		return usage_error("record", "give -p PID or a command after --");
	return 0;
}

int cmd_record(int argc, char **argv)
{
	struct record_opts o = {
		.duration_s = -1,
		.freq_hz = DEFAULT_FREQ,
		.min_block_us = DEFAULT_MIN_BLOCK_US,
		.offcpu = true,
		.kernel = true,
		.dwarf = HAVE_LIBDW,
		.stack_bytes = DEFAULT_STACK_BYTES,
	};
	int code = 0;
	int r = parse(&o, argc, argv, &code);
	if (r != 0)
		return r > 0 ? r : code;
	o.status_line = !o.quiet && isatty(STDERR_FILENO) && !getenv("PROFKIT_NO_STATUS");
	return record_session_run(&o);
}
