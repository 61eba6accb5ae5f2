#include "output/speedscope.h"

#include <errno.h>
#include <stdlib.h>
#include "config.h"
#include "output/folded.h"
#include "output/json.h"

static void add_thread_profile(struct strbuf *out, const struct stack_profile *p, pid_t tid,
			       const uint64_t *w)
{
	uint64_t totals[3];
	stack_profile__totals(p, tid, false, totals);
	sb_adds(out, "{\"type\":\"sampled\",\"name\":");
	struct strbuf name = STRBUF_INIT;
	const char *comm = stack_profile__thread_name(p, tid);
	if (tid == 0) {
		sb_adds(&name, "all threads");
	} else {
		sb_add_i64(&name, tid);
		if (comm) {
			sb_addc(&name, ' ');
			sb_adds(&name, comm);
		}
	}
	json_add_escaped(out, sb_str(&name));
	sb_free(&name);
	sb_adds(out, ",\"unit\":\"microseconds\",\"startValue\":0,\"endValue\":");
	sb_add_u64(out, totals[0] + totals[1] + totals[2]);
	sb_adds(out, ",\n\"samples\":[");
	size_t nstacks = stack_profile__nstacks(p);
	bool first = true;
	for (uint32_t s = 0; s < nstacks; s++) {
		if (!w[s])
			continue;
		size_t depth;
		const uint32_t *ids = stack_profile__stack_get(p, s, &depth);
		sb_adds(out, first ? "[" : ",\n[");
		first = false;
		for (size_t k = 0; k < depth; k++) {
			if (k)
				sb_addc(out, ',');
			sb_add_u64(out, ids[k]);
		}
		sb_addc(out, ']');
	}
	sb_adds(out, "],\n\"weights\":[");
	first = true;
	for (uint32_t s = 0; s < nstacks; s++) {
		if (!w[s])
			continue;
		if (!first)
			sb_addc(out, ',');
		first = false;
		sb_add_u64(out, w[s]);
	}
	sb_adds(out, "]}");
}

int speedscope_write(struct strbuf *out, const struct stack_profile *p, const char *name)
{
	pid_t *tids;
	size_t ntids;
	int r = stack_profile__threads(p, &tids, &ntids);
	if (r < 0)
		return r;
	sb_adds(out, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\n");
	sb_adds(out, "\"name\":");
	json_add_escaped(out, name ? name : "profkit");
	sb_adds(out, ",\n\"exporter\":\"profkit " PROFKIT_VERSION "\",\n\"activeProfileIndex\":0,\n");
	sb_adds(out, "\"shared\":{\"frames\":[");
	struct strbuf label = STRBUF_INIT;
	size_t nframes = stack_profile__nframes(p);
	for (uint32_t i = 0; i < nframes; i++) {
		const struct stack_frame *f = stack_profile__frame_get(p, i);
		sb_adds(out, i ? ",\n{\"name\":" : "\n{\"name\":");
		sb_reset(&label);
		folded_add_frame(&label, f);
		json_add_escaped(out, sb_str(&label));
		if (f->module) {
			sb_adds(out, ",\"file\":");
			json_add_escaped(out, f->module);
		}
		sb_addc(out, '}');
	}
	r = label.failed ? -ENOMEM : 0;
	sb_free(&label);
	sb_adds(out, "]},\n\"profiles\":[");
	for (size_t i = 0; i < ntids && r >= 0; i++) {
		uint64_t *w;
		r = stack_profile__stack_weights(p, tids[i], false, &w);
		if (r < 0)
			break;
		sb_adds(out, i ? ",\n" : "\n");
		add_thread_profile(out, p, tids[i], w);
		free(w);
	}
	sb_adds(out, "]}\n");
	free(tids);
	if (r >= 0 && out->failed)
		r = -ENOMEM;
	return r;
}
