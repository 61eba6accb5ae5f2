/* The event-spec parser: "{instructions,cycles}:u,page-faults,msr/tsc/,sched:sched_switch"
 * into groups of event terms with their modifiers. Pure syntax: names are resolved later
 * (events.c). Fuzzed by tests/fuzz/fuzz_event_spec.c. */
#ifndef PK_PERF_SPEC_H
#define PK_PERF_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include "perf/format.h"

#define SPEC_MAX_LEN 65536
#define SPEC_MAX_EVENTS 1024

/* Modifiers after ':' (or after a PMU term list's closing '/'). */
struct spec_mods {
	bool u, k, h;   /* privilege levels to count; any given: the others are excluded */
	bool H, G;      /* host only, guest only */
	bool I;         /* exclude idle */
	bool D;         /* pinned */
	bool e;         /* exclusive */
	unsigned p;     /* precise level, 0..3 */
	bool any;       /* any modifier was given */
};

struct spec_event {
	char *text;     /* as written, modifiers included: "page-faults:u" */
	char *name;     /* without modifiers ("page-faults"), or the PMU of a pmu/.../ term */
	bool pmu_form;  /* written pmu/terms/ */
	struct pmu_terms terms; /* pmu_form: the terms between the slashes */
	struct spec_mods mods; /* its own, merged with its group's */
	size_t group;
};

struct spec {
	struct spec_event *ev;
	size_t n;
	size_t ngroups;
};

/* Parses text; on failure writes "what, at column N" into err and returns -EINVAL
 * (-E2BIG for too long or too many events, -ENOMEM). */
int spec_parse(const char *text, struct spec **ret, char *err, size_t errsz);
struct spec *spec_free(struct spec *s);
/* Parses a modifier string ("uk", "ppp"); 0 or -EINVAL. */
int spec_parse_mods(const char *s, size_t len, struct spec_mods *ret);
/* Splits "name:mods": the length of the name part; *ret_mods is set when a trailing
 * ":..." is a valid modifier string. */
size_t spec_split_mods(const char *s, size_t len, struct spec_mods *ret_mods);

#endif
