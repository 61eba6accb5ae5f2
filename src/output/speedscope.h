/* speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json): one
 * "sampled" profile per thread, weights in microseconds, frames shared between the
 * profiles. Open the file at https://www.speedscope.app or with the speedscope CLI.
 *
 * Frames are named with their folded label (see output/folded.h), so on-CPU and off-CPU
 * frames keep their "_[c]" / "_[o]" suffixes; a frame's module goes in "file". Samples are
 * listed root first, as the format wants; each is one distinct stack of the thread, with
 * its summed weight. */
#ifndef PK_OUTPUT_SPEEDSCOPE_H
#define PK_OUTPUT_SPEEDSCOPE_H

#include "stack/profile.h"
#include "util/strbuf.h"

/* Appends the file to out. name names the profile group (NULL: "profkit"). Threads are in
 * ascending tid order, each profile named "TID NAME" (or "all threads" for tid 0). The
 * first profile is the active one. -ENOMEM. */
int speedscope_write(struct strbuf *out, const struct stack_profile *p, const char *name);

#endif
