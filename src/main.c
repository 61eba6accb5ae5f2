/* profkit: the command table. Each command parses its own options and runs a session. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cmd/cmd.h"
#include "config.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

/* Sorted by name. */
static const struct command commands[] = {
	{ "list", cmd_list, "the events this machine can count, by kind; the PMUs" },
	{ "py", cmd_py, "which Python functions take the time, read from a running CPython" },
	{ "record", cmd_record, "where the wall-clock time goes: on-CPU and off-CPU stacks, flamegraph" },
	{ "report", cmd_report, "statistics, memory trend and comparison of recordings" },
	{ "run", cmd_run, "launch a command and record what it uses, tick by tick" },
	{ "stat", cmd_stat, "count events (perf counters) of a command, a process or the machine" },
	{ "watch", cmd_watch, "record running processes, by PID or name" },
};

static void print_usage(FILE *f)
{
	fputs("usage: profkit [--version] [--help] COMMAND [ARGS...]\n\ncommands:\n", f);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
	fputs("\n'profkit COMMAND --help' tells more; the manual is 'man profkit'.\n", f);
}

static void print_version(void)
{
	printf("profkit %s\n", PROFKIT_VERSION);
	printf("optional features: libelf %s, libdw %s, libbpf %s, zlib %s, libpfm4 %s\n",
	       HAVE_LIBELF ? "yes" : "no", HAVE_LIBDW ? "yes" : "no", HAVE_LIBBPF ? "yes" : "no",
	       HAVE_ZLIB ? "yes" : "no", HAVE_LIBPFM ? "yes" : "no");
}

/* Output that could not be written (a full disk, a closed pipe) is a failure, not a
 * silent truncation. */
static int check_stdout(int code)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		return code ? code : error("cannot write standard output: %s", strerror(errno));
	return code;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
		print_usage(stdout);
		return check_stdout(0);
	}
	if (!strcmp(name, "--version") || !strcmp(name, "-V") || !strcmp(name, "version")) {
		print_version();
		return check_stdout(0);
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(name, commands[i].name))
			return check_stdout(commands[i].fn(argc - 1, argv + 1));
	fprintf(stderr, "profkit: '%s' is not a profkit command (see 'profkit --help')\n", name);
	return EXIT_USAGE;
}
