/* libpfm4: the CPU's native event names, encoded for perf_event_open. libpfm4 keeps its
 * own tables (initialised once per process by pfm_initialize(), which is idempotent);
 * nothing of ours is global. */
#include "perf/native.h"

#include <errno.h>
#include <perfmon/pfmlib_perf_event.h>
#include <stdlib.h>
#include <string.h>

bool native_available(void) { return true; }

static int init(void)
{
	return pfm_initialize() == PFM_SUCCESS ? 0 : -ENOENT;
}

static int encode(const char *name, struct native_code *ret, char **ret_canon)
{
	struct perf_event_attr attr;
	char *fstr = NULL;
	pfm_perf_encode_arg_t arg;
	memset(&attr, 0, sizeof(attr));
	memset(&arg, 0, sizeof(arg));
	arg.attr = &attr;
	arg.size = sizeof(arg);
	arg.fstr = ret_canon ? &fstr : NULL;
	int r = pfm_get_os_event_encoding(name, PFM_PLM3, PFM_OS_PERF_EVENT, &arg);
	if (r != PFM_SUCCESS) {
		free(fstr);
		return r == PFM_ERR_NOMEM ? -ENOMEM : -ENOENT;
	}
	*ret = (struct native_code){ attr.type, attr.config, attr.config1, attr.config2 };
	if (ret_canon)
		*ret_canon = fstr;
	return 0;
}

int native_resolve(const char *name, struct native_code *ret, char **ret_canon)
{
	if (init() < 0)
		return -ENOENT;
	return encode(name, ret, ret_canon);
}

int native_each(native_fn fn, void *ud)
{
	if (init() < 0)
		return 0;
	pfm_pmu_t p;
	pfm_for_all_pmus(p) {
		pfm_pmu_info_t pinfo;
		memset(&pinfo, 0, sizeof(pinfo));
		pinfo.size = sizeof(pinfo);
		if (pfm_get_pmu_info(p, &pinfo) != PFM_SUCCESS || !pinfo.is_present)
			continue;
		if (pinfo.type != PFM_PMU_TYPE_CORE && pinfo.type != PFM_PMU_TYPE_UNCORE)
			continue;
		for (int e = pinfo.first_event; e != -1; e = pfm_get_event_next(e)) {
			pfm_event_info_t einfo;
			memset(&einfo, 0, sizeof(einfo));
			einfo.size = sizeof(einfo);
			if (pfm_get_event_info(e, PFM_OS_NONE, &einfo) != PFM_SUCCESS)
				continue;
			size_t n = strlen(pinfo.name) + strlen(einfo.name) + 3;
			char *full = malloc(n);
			if (!full)
				return -ENOMEM;
			strcpy(full, pinfo.name);
			strcat(full, "::");
			strcat(full, einfo.name);
			struct native_code code = { 0 };
			encode(full, &code, NULL); /* some need a unit mask: listed all the same */
			int r = fn(ud, full, pinfo.name, einfo.desc ? einfo.desc : "", &code);
			free(full);
			if (r)
				return r;
		}
	}
	return 0;
}
