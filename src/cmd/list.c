/* profkit list: the events this machine knows, each probed by opening it, by kind; or the
 * PMUs. Text for people, --json for programs. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cmd/cmd.h"
#include "output/json.h"
#include "profkit/counters.h"
#include "util/strbuf.h"

static const char list_help[] =
	"usage: profkit list [--pmus] [--json] [PATTERN]\n"
	"\n"
	"Lists every event this machine knows, by kind, and whether it can be counted here:\n"
	"each event is opened once to find out, and the reason is shown when it cannot.\n"
	"\n"
	"  PATTERN      a kind (hw, cache, sw, tracepoint, pmu, raw, native), a glob\n"
	"               ('sched:*') or a substring of the name, alias or PMU\n"
	"  --pmus       list the PMUs under /sys/bus/event_source/devices instead\n"
	"  --json       machine-readable output\n"
	"  -h, --help   this help\n";

/* Sorted by long name. */
static const struct option list_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, 'j' },
	{ "pmus", no_argument, NULL, 'P' },
	{ 0 },
};

static void json_aliases(struct json *j, const char *aliases)
{
	json_begin_array(j);
	for (const char *p = aliases; *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		char one[256];
		snprintf(one, sizeof(one), "%.*s", (int)(l < 255 ? l : 255), p);
		json_string(j, one);
		p += l + (c ? 1 : 0);
	}
	json_end_array(j);
}

static int print_events_json(const struct pk_event_list *l)
{
	struct strbuf sb = STRBUF_INIT;
	struct json j;
	json_init(&j, &sb);
	json_begin_object(&j);
	json_key(&j, "events");
	json_begin_array(&j);
	for (size_t i = 0; i < pk_event_list_count(l); i++) {
		const struct pk_event_info *e = pk_event_list_get(l, i);
		json_begin_object(&j);
		json_key(&j, "name");
		json_string(&j, e->name);
		json_key(&j, "aliases");
		json_aliases(&j, e->aliases);
		json_key(&j, "kind");
		json_string(&j, pk_event_kind_name(e->kind));
		json_key(&j, "pmu");
		json_string(&j, e->pmu);
		json_key(&j, "description");
		json_string(&j, e->desc);
		json_key(&j, "encoding");
		json_string(&j, e->encoding);
		json_key(&j, "supported");
		json_bool(&j, e->status == 0);
		json_key(&j, "reason");
		if (e->status == 0)
			json_null(&j);
		else
			json_string(&j, e->reason);
		json_end_object(&j);
	}
	json_end_array(&j);
	json_end_object(&j);
	sb_addc(&sb, '\n');
	if (sb.failed) {
		sb_free(&sb);
		return error("out of memory");
	}
	fputs(sb_str(&sb), stdout);
	sb_free(&sb);
	return 0;
}

static const char *const section_titles[] = {
	"hardware events (perf's generic names)",
	"hardware cache events (perf's generic names)",
	"software events",
	"tracepoints",
	"PMU events (sysfs)",
	"raw events",
	"native events (libpfm4)",
};

static void print_events_text(const struct pk_event_list *l)
{
	size_t n = pk_event_list_count(l);
	for (size_t i = 0; i < n;) {
		const struct pk_event_info *first = pk_event_list_get(l, i);
		size_t end = i;
		bool same_reason = true;
		while (end < n && pk_event_list_get(l, end)->kind == first->kind) {
			const struct pk_event_info *e = pk_event_list_get(l, end);
			if (e->status == 0 || strcmp(e->reason, first->reason) != 0)
				same_reason = false;
			end++;
		}
		same_reason = same_reason && end - i > 1;
		printf("%s%s:\n", i ? "\n" : "", section_titles[first->kind]);
		if (same_reason)
			printf("  (none of these can be counted here: %s)\n", first->reason);
		for (; i < end; i++) {
			const struct pk_event_info *e = pk_event_list_get(l, i);
			char label[256];
			if (e->aliases[0])
				snprintf(label, sizeof(label), "%s (%s)", e->name, e->aliases);
			else
				snprintf(label, sizeof(label), "%s", e->name);
			const char *mark = e->status == 0 ? "yes" : e->status < 0 ? "no" : "?";
			const char *what = e->status < 0 && !same_reason ? e->reason : e->desc;
			printf("  %-58s %-3s %s\n", label, mark, what);
		}
	}
}

static int list_pmus(struct pk_ctx *ctx, bool json)
{
	struct pk_pmu_list *l;
	int r = pk_pmu_list_new(ctx, &l);
	if (r < 0)
		return error("cannot list the PMUs: %s", *pk_ctx_errmsg(ctx) ? pk_ctx_errmsg(ctx)
									   : pk_strerror(r));
	struct strbuf sb = STRBUF_INIT;
	if (json) {
		struct json j;
		json_init(&j, &sb);
		json_begin_object(&j);
		json_key(&j, "pmus");
		json_begin_array(&j);
		for (size_t i = 0; i < pk_pmu_list_count(l); i++) {
			const struct pk_pmu_info *p = pk_pmu_list_get(l, i);
			json_begin_object(&j);
			json_key(&j, "name");
			json_string(&j, p->name);
			json_key(&j, "type");
			json_int(&j, p->type);
			json_key(&j, "events");
			json_int(&j, (int64_t)p->nevents);
			json_key(&j, "formats");
			json_aliases(&j, p->formats);
			json_key(&j, "cpumask");
			json_string(&j, p->cpumask);
			json_end_object(&j);
		}
		json_end_array(&j);
		json_end_object(&j);
		sb_addc(&sb, '\n');
	} else {
		sb_addf(&sb, "%-16s %5s %7s  %s\n", "PMU", "type", "events", "format fields");
		for (size_t i = 0; i < pk_pmu_list_count(l); i++) {
			const struct pk_pmu_info *p = pk_pmu_list_get(l, i);
			sb_addf(&sb, "%-16s %5u %7zu  %s%s%s\n", p->name, p->type, p->nevents,
				p->formats[0] ? p->formats : "-", p->cpumask[0] ? "  cpumask " : "",
				p->cpumask);
		}
	}
	pk_pmu_list_free(l);
	if (sb.failed) {
		sb_free(&sb);
		return error("out of memory");
	}
	fputs(sb_str(&sb), stdout);
	sb_free(&sb);
	return 0;
}

int cmd_list(int argc, char **argv)
{
	bool json = false, pmus = false;
	optind = 1;
	opterr = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, ":h", list_opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			fputs(list_help, stdout);
			return 0;
		case 'j':
			json = true;
			break;
		case 'P':
			pmus = true;
			break;
		case ':':
			return usage_error("list", "option '%s' needs a value", argv[optind - 1]);
		default:
			return optopt ? usage_error("list", "unknown option '-%c'", optopt)
				      : usage_error("list", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind > 1)
		return usage_error("list", "one PATTERN at most");
	const char *pattern = optind < argc ? argv[optind] : NULL;
	if (pmus && pattern)
		return usage_error("list", "--pmus takes no PATTERN");

	struct pk_ctx *ctx;
	if (pk_ctx_new(&ctx) < 0)
		return error("out of memory");
	int r;
	if (pmus) {
		r = list_pmus(ctx, json);
		pk_ctx_free(ctx);
		return r;
	}
	struct pk_event_list *l;
	r = pk_event_list_new(ctx, pattern, PK_LIST_PROBE, &l);
	if (r < 0) {
		r = error("%s", pk_ctx_errmsg(ctx));
		pk_ctx_free(ctx);
		return r;
	}
	if (pk_event_list_count(l) == 0 && !json) {
		r = error("no event matches '%s' (see 'profkit list')", pattern ? pattern : "");
	} else if (json) {
		r = print_events_json(l);
	} else {
		print_events_text(l);
		r = 0;
	}
	pk_event_list_free(l);
	pk_ctx_free(ctx);
	return r;
}
