#include "proc/energy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "util/macro.h"

uint64_t energy_counter_delta(uint64_t prev, uint64_t cur, uint64_t range)
{
	if (cur >= prev)
		return cur - prev;
	return range ? range - prev + cur : 0;
}

static int read_text(const char *path, char *buf, size_t bufsz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	ssize_t n = read(fd, buf, bufsz - 1);
	int r = n < 0 ? neg_errno() : 0;
	close(fd);
	if (r < 0)
		return r;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int pread_u64(int fd, uint64_t *ret)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return n < 0 ? neg_errno() : -ENODATA;
	buf[n] = '\0';
	if (buf[0] < '0' || buf[0] > '9') /* strtoull would take "-1" and wrap it */
		return -EBADMSG;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return -EBADMSG;
	*ret = v;
	return 0;
}

static int read_domain(struct energy *e, struct energy_domain *d, uint64_t *ret)
{
	if (e->source == ENERGY_PERF) {
		uint64_t v;
		if (read(d->fd, &v, sizeof(v)) != sizeof(v))
			return neg_errno();
		*ret = v;
		return 0;
	}
	return pread_u64(d->fd, ret);
}

/* Top-level RAPL zones (intel-rapl:N) and DRAM sub-zones; core/uncore sub-zones are
 * already inside their package. A "psys" zone covers the whole platform, so when present
 * it is used alone. */
static void rapl_open(struct energy *e, const char *root)
{
	DIR *d = opendir(root);
	if (!d) {
		snprintf(e->reason, sizeof(e->reason), "no %.200s (no Intel RAPL powercap driver)", root);
		return;
	}
	struct dirent *ent;
	int psys = -1;
	while ((ent = readdir(d)) && e->ndomains < ENERGY_MAX_DOMAINS) {
		if (strncmp(ent->d_name, "intel-rapl:", 11) != 0)
			continue;
		char path[512], name[64] = "", val[64];
		snprintf(path, sizeof(path), "%s/%s/name", root, ent->d_name);
		if (read_text(path, name, sizeof(name)) < 0)
			continue;
		bool sub = strchr(ent->d_name + 11, ':') != NULL;
		if (sub && strcmp(name, "dram") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/energy_uj", root, ent->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			snprintf(e->reason, sizeof(e->reason), "cannot read %.200s: %s", path,
				 strerror(errno));
			continue;
		}
		struct energy_domain *dom = &e->dom[e->ndomains];
		*dom = (struct energy_domain){ .fd = fd, .scale = 1e-6 };
		snprintf(dom->name, sizeof(dom->name), "%s", name);
		snprintf(path, sizeof(path), "%s/%s/max_energy_range_uj", root, ent->d_name);
		if (read_text(path, val, sizeof(val)) == 0)
			dom->range = strtoull(val, NULL, 10);
		if (strcmp(name, "psys") == 0)
			psys = e->ndomains;
		e->ndomains++;
	}
	closedir(d);
	if (psys >= 0) { /* keep psys only */
		for (int i = 0; i < e->ndomains; i++)
			if (i != psys)
				close(e->dom[i].fd);
		e->dom[0] = e->dom[psys];
		e->ndomains = 1;
	}
	if (e->ndomains)
		e->source = ENERGY_RAPL;
	else if (!e->reason[0])
		snprintf(e->reason, sizeof(e->reason), "no RAPL zones under %.200s", root);
}

/* perf's power PMU: events/energy-pkg = "event=0x02", with .scale in joules. */
static void perf_power_open(struct energy *e, const char *root)
{
	char path[512], val[128];
	snprintf(path, sizeof(path), "%s/type", root);
	if (read_text(path, val, sizeof(val)) < 0) {
		size_t l = strlen(e->reason);
		snprintf(e->reason + l, sizeof(e->reason) - l, "%sno perf power PMU",
			 l ? ", and " : "");
		return;
	}
	uint32_t type = (uint32_t)strtoul(val, NULL, 10);
	static const char *const events[] = { "energy-psys", "energy-pkg", "energy-ram" };
	int cpu = 0;
	snprintf(path, sizeof(path), "%s/cpumask", root);
	if (read_text(path, val, sizeof(val)) == 0)
		cpu = atoi(val);
	int err = 0;
	for (size_t i = 0; i < ARRAY_SIZE(events) && e->ndomains < ENERGY_MAX_DOMAINS; i++) {
		snprintf(path, sizeof(path), "%s/events/%s", root, events[i]);
		if (read_text(path, val, sizeof(val)) < 0)
			continue;
		const char *ev = strstr(val, "event=");
		if (!ev)
			continue;
		struct perf_event_attr attr = { .type = type, .size = sizeof(attr),
						.config = strtoull(ev + 6, NULL, 0) };
		int fd = (int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			err = errno;
			continue;
		}
		struct energy_domain *dom = &e->dom[e->ndomains++];
		*dom = (struct energy_domain){ .fd = fd, .scale = 1.0 };
		snprintf(dom->name, sizeof(dom->name), "%s", events[i]);
		snprintf(path, sizeof(path), "%s/events/%s.scale", root, events[i]);
		if (read_text(path, val, sizeof(val)) == 0)
			dom->scale = strtod(val, NULL);
		if (i == 0) /* psys covers the platform: nothing to add to it */
			break;
	}
	if (e->ndomains) {
		e->source = ENERGY_PERF;
	} else {
		size_t l = strlen(e->reason);
		snprintf(e->reason + l, sizeof(e->reason) - l,
			 "%sperf power PMU has no usable energy event%s%s", l ? ", and " : "",
			 err ? ": " : "", err ? strerror(err) : "");
	}
}

static void close_domains(struct energy *e)
{
	for (int i = 0; i < e->ndomains; i++)
		close(e->dom[i].fd);
	e->ndomains = 0;
	e->source = ENERGY_NONE;
}

/* A counter that reads the same twice, 20 ms apart, is no energy source (this VM's power
 * PMU reads 0 J forever). RAPL updates about every millisecond. */
static void check_advances(struct energy *e)
{
	for (int i = 0; i < e->ndomains; i++)
		if (read_domain(e, &e->dom[i], &e->dom[i].last) < 0)
			goto dead;
	nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000000 }, NULL);
	for (int i = 0; i < e->ndomains; i++) {
		uint64_t v;
		if (read_domain(e, &e->dom[i], &v) == 0 && v != e->dom[i].last)
			return;
	}
dead:
	snprintf(e->reason, sizeof(e->reason), "the %s energy counter does not advance",
		 energy_source_name(e));
	close_domains(e);
}

void energy_open(struct energy *e, const char *powercap_root, const char *pmu_root)
{
	memset(e, 0, sizeof(*e));
	rapl_open(e, powercap_root ? powercap_root : "/sys/class/powercap");
	if (e->source == ENERGY_NONE)
		perf_power_open(e, pmu_root ? pmu_root : "/sys/bus/event_source/devices/power");
	if (e->source != ENERGY_NONE)
		check_advances(e);
	for (int i = 0; i < e->ndomains; i++) /* start counting from now */
		read_domain(e, &e->dom[i], &e->dom[i].last);
}

int energy_read(struct energy *e, double *ret_joules)
{
	if (e->source == ENERGY_NONE)
		return -ENODATA;
	double total = 0;
	for (int i = 0; i < e->ndomains; i++) {
		struct energy_domain *d = &e->dom[i];
		uint64_t v;
		if (read_domain(e, d, &v) < 0)
			return -EIO;
		d->joules += (double)energy_counter_delta(d->last, v, d->range) * d->scale;
		d->last = v;
		total += d->joules;
	}
	*ret_joules = total;
	return 0;
}

/* Closes the counters but keeps the source and the domains: the summary, written after
 * the recording, still names where the joules came from. */
void energy_close(struct energy *e)
{
	for (int i = 0; i < e->ndomains; i++) {
		if (e->dom[i].fd >= 0)
			close(e->dom[i].fd);
		e->dom[i].fd = -1;
	}
}

const char *energy_source_name(const struct energy *e)
{
	switch (e->source) {
	case ENERGY_RAPL:
		return "Intel RAPL (powercap)";
	case ENERGY_PERF:
		return "perf power PMU";
	default:
		return "none";
	}
}
