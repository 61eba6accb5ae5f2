/* profkit report: statistics, memory trend and comparison of recordings. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cmd/cmd.h"
#include "core/outdir.h"
#include "input/csv_reader.h"
#include "output/csv.h"
#include "output/report.h"
#include "report/compare.h"
#include "report/report.h"

static const char report_help[] =
	"usage: profkit report [OPTIONS] PATH [PATH2]\n"
	"\n"
	"Summarize a recording of 'profkit run' or 'profkit watch': per process and per process\n"
	"tree, CPU % (mean, p50, p95, max) and CPU time, resident memory (min, mean, max, at the\n"
	"end), peaks of virtual memory, swap, open files and threads, I/O, page faults, context\n"
	"switches and a memory trend (leak, growing, stable) with the numbers behind it; for the\n"
	"machine, CPU per core, memory and energy. PATH is a recording directory or a\n"
	"samples.csv. With two PATHs, compare them: each statistic side by side with its change\n"
	"and a verdict (faster/slower, lower/higher or within noise).\n"
	"\n"
	"  -f, --format FORMAT     text (default), json, markdown, csv or html\n"
	"  -o, --output FILE       write the report to FILE instead of standard output\n"
	"      --no-html           do not write report.html into the recording directory\n"
	"  -h, --help              this help\n"
	"\n"
	"\n"
	"The text report of one recording directory also writes DIR/report.html: the tables,\n"
	"interactive charts and the captured output in one file that works offline.\n"
	"The statistics, the leak rules and the comparison test are described in docs/report.md.\n";

enum report_format { FORMAT_TEXT, FORMAT_JSON, FORMAT_MARKDOWN, FORMAT_CSV, FORMAT_HTML };

struct report_opts {
	enum report_format format;
	const char *output;
	bool no_html;
	char **paths;
	int npaths;
};

/* Sorted by long name. */
static const struct option report_opts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ "no-html", no_argument, NULL, 'H' },
	{ "output", required_argument, NULL, 'o' },
	{ 0 },
};

static int parse_format(const char *arg, enum report_format *ret)
{
	static const char *const names[] = { "text", "json", "markdown", "csv", "html" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(arg, names[i])) {
			*ret = (enum report_format)i;
			return 0;
		}
	if (!strcmp(arg, "md")) {
		*ret = FORMAT_MARKDOWN;
		return 0;
	}
	return usage_error("report", "unknown format '%s': text, json, markdown, csv or html", arg);
}

/* 0 to go on; otherwise *ret_exit is the exit code (0 after --help). */
static int parse_options(struct report_opts *o, int argc, char **argv, int *ret_exit)
{
	*o = (struct report_opts){ .format = FORMAT_TEXT };
	*ret_exit = 0;
	optind = 1;
	opterr = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, ":f:ho:", report_opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			fputs(report_help, stdout);
			return -1;
		case 'f':
			if ((*ret_exit = parse_format(optarg, &o->format)))
				return -1;
			break;
		case 'H':
			o->no_html = true;
			break;
		case 'o':
			if (!*optarg) {
				*ret_exit = usage_error("report", "empty output file name");
				return -1;
			}
			o->output = optarg;
			break;
		case ':':
			*ret_exit = usage_error("report", "option '%s' needs a value",
						argv[optind - 1]);
			return -1;
		default:
			*ret_exit = optopt ? usage_error("report", "unknown option '-%c'", optopt)
					   : usage_error("report", "unknown option '%s'",
							 argv[optind - 1]);
			return -1;
		}
	}
	o->paths = argv + optind;
	o->npaths = argc - optind;
	if (o->npaths == 0)
		*ret_exit =
			usage_error("report", "no recording given: a directory or a samples.csv");
	else if (o->npaths > 2)
		*ret_exit = usage_error("report",
					"%d recordings given: one to report on, or two to "
					"compare",
					o->npaths);
	return *ret_exit ? -1 : 0;
}

static int load(const char *path, struct recording **ret)
{
	char err[CSV_ERROR_MAX + 64];
	int r = recording_load(path, ret, err, sizeof(err));
	if (r == -ENOMEM)
		return error("%s: out of memory", path);
	if (r < 0)
		return error("%s", err);
	const char *w = sb_str(&(*ret)->warnings);
	for (const char *nl; *w && (nl = strchr(w, '\n')); w = nl + 1)
		warning("%.*s", (int)(nl - w), w);
	return 0;
}

static void render_one(struct strbuf *sb, const struct report_opts *o, const struct report *r)
{
	bool spark = !o->output && isatty(STDOUT_FILENO);
	switch (o->format) {
	case FORMAT_JSON:
		report_json(sb, r, o->paths[0]);
		break;
	case FORMAT_MARKDOWN:
		report_markdown(sb, r, o->paths[0]);
		break;
	case FORMAT_CSV:
		report_csv(sb, r);
		break;
	case FORMAT_HTML:
		report_html(sb, r, o->paths[0]);
		break;
	default:
		report_text(sb, r, o->paths[0], spark);
	}
}

static void render_two(struct strbuf *sb, const struct report_opts *o, const struct comparison *c,
		       struct report *const *reps)
{
	switch (o->format) {
	case FORMAT_HTML:
		comparison_html(sb, c, reps[0], reps[1], o->paths[0], o->paths[1]);
		break;
	case FORMAT_JSON:
		comparison_json(sb, c, o->paths[0], o->paths[1]);
		break;
	case FORMAT_MARKDOWN:
		comparison_markdown(sb, c, o->paths[0], o->paths[1]);
		break;
	case FORMAT_CSV:
		comparison_csv(sb, c);
		break;
	default:
		comparison_text(sb, c, o->paths[0], o->paths[1]);
	}
}

/* 0, or -errno with *ret_what "create" or "write". */
static int write_file(const char *path, const struct strbuf *sb, const char **ret_what)
{
	*ret_what = "create";
	int fd = outdir_open_file(AT_FDCWD, path);
	if (fd < 0)
		return fd;
	*ret_what = "write";
	int r = write_all(fd, sb->buf, sb->len);
	if (close(fd) < 0 && !r)
		r = neg_errno();
	return r;
}

static int write_output(const struct report_opts *o, const struct strbuf *sb)
{
	if (!o->output) {
		fwrite(sb->buf ? sb->buf : "", 1, sb->len, stdout);
		return 0; /* main() checks that stdout was written */
	}
	const char *what;
	int r = write_file(o->output, sb, &what);
	if (r < 0)
		return error("cannot %s %s: %s", what, o->output,
			     r == -ELOOP ? "it is a symbolic link" : strerror(-r));
	return 0;
}

/* The text report of one recording directory also writes DIR/report.html, and says where
 * in one line on stderr; a directory that cannot be written to gets a warning, not an
 * error: the report itself was shown. */
static bool wants_default_html(const struct report_opts *o)
{
	struct stat st;
	return o->format == FORMAT_TEXT && o->npaths == 1 && !o->output && !o->no_html &&
	       stat(o->paths[0], &st) == 0 && S_ISDIR(st.st_mode);
}

static int default_html(const struct report_opts *o, const struct report *r)
{
	struct strbuf html = STRBUF_INIT, path = STRBUF_INIT;
	const char *dir = o->paths[0];
	size_t n = strlen(dir);
	sb_adds(&path, dir);
	if (n && dir[n - 1] != '/')
		sb_addc(&path, '/');
	sb_adds(&path, "report.html");
	report_html(&html, r, dir);
	int code = 0;
	if (html.failed || path.failed) {
		code = error("out of memory");
	} else {
		const char *what;
		int e = write_file(sb_str(&path), &html, &what);
		if (e < 0)
			warning("report.html not written: cannot %s %s: %s", what, sb_str(&path),
				e == -ELOOP ? "it is a symbolic link" : strerror(-e));
		else
			fprintf(stderr, "profkit: report.html written to %s\n", sb_str(&path));
	}
	sb_free(&html);
	sb_free(&path);
	return code;
}

static int build_and_render(const struct report_opts *o, struct recording *const *recs,
			    struct strbuf *sb)
{
	if (o->npaths == 1) {
		struct report *r;
		if (report_build(recs[0], &r) < 0)
			return error("out of memory");
		render_one(sb, o, r);
		int code = sb->failed ? error("out of memory") : write_output(o, sb);
		if (!code && wants_default_html(o))
			code = default_html(o, r);
		report_free(r);
		return code;
	}
	struct comparison *c;
	struct report *reps[2] = { NULL, NULL };
	if (comparison_build(recs[0], recs[1], &c) < 0)
		return error("out of memory");
	int code = 0;
	if (o->format == FORMAT_HTML &&
	    (report_build(recs[0], &reps[0]) < 0 || report_build(recs[1], &reps[1]) < 0))
		code = error("out of memory");
	if (!code)
		render_two(sb, o, c, reps);
	comparison_free(c);
	for (int i = 0; i < 2; i++)
		report_free(reps[i]);
	if (!code)
		code = sb->failed ? error("out of memory") : write_output(o, sb);
	return code;
}

int cmd_report(int argc, char **argv)
{
	struct report_opts o;
	int code;
	if (parse_options(&o, argc, argv, &code) != 0)
		return code;
	struct recording *recs[2] = { NULL, NULL };
	struct strbuf sb = STRBUF_INIT;
	for (int i = 0; i < o.npaths && !code; i++)
		code = load(o.paths[i], &recs[i]);
	if (!code)
		code = build_and_render(&o, recs, &sb);
	sb_free(&sb);
	for (int i = 0; i < 2; i++)
		recording_free(recs[i]);
	return code;
}
