/* Pure parsers for the text of a PMU's sysfs files: format fields ("config:0-7,32-35")
 * and event terms ("event=0x3c,umask=0x1,edge"). They read untrusted text (a sysfs tree
 * can be anything) and are fuzzed by tests/fuzz/fuzz_event_spec.c. */
#ifndef PK_PERF_FORMAT_H
#define PK_PERF_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define PMU_FORMAT_MAX_RANGES 8
#define PMU_CONFIG_WORDS 3 /* config, config1, config2 */

/* Where a named field's bits go: ranges of one of the config words, low bits of the
 * value first. */
struct pmu_format {
	int word; /* 0: config, 1: config1, 2: config2 */
	unsigned nranges;
	struct {
		uint8_t lo, hi; /* inclusive */
	} r[PMU_FORMAT_MAX_RANGES];
};

/* "config:0-7,32-35" (a trailing newline is allowed). 0, or -EINVAL. */
int pmu_format_parse(const char *text, struct pmu_format *ret);
/* The number of value bits the field holds (1..64). */
unsigned pmu_format_width(const struct pmu_format *f);
/* Scatters value into config[word]; -ERANGE if it has bits the field cannot hold. */
int pmu_format_apply(const struct pmu_format *f, uint64_t value,
		     uint64_t config[PMU_CONFIG_WORDS]);

struct pmu_term {
	char *key;
	char *val; /* NULL for a bare term ("edge" means edge=1) */
};
struct pmu_terms {
	struct pmu_term *t;
	size_t n;
};

/* Comma-separated key[=value] terms in text[0..len): keys are [A-Za-z0-9_.-]+, values
 * run to the next comma, blanks around both are dropped. 0, -EINVAL or -ENOMEM; on error
 * ret is left empty. */
int pmu_terms_parse(const char *text, size_t len, struct pmu_terms *ret);
void pmu_terms_free(struct pmu_terms *t);
/* A term value: decimal or 0x hex, all of it. 0 or -EINVAL/-ERANGE. */
int pmu_parse_u64(const char *s, uint64_t *ret);

#endif
