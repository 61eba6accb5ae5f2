/* pprof's profile format (github.com/google/pprof, proto/profile.proto): a gzipped
 * protobuf that `go tool pprof` and `pprof` read. The protobuf is encoded by hand; only
 * the messages profkit fills are written: Profile, ValueType, Sample, Label, Location,
 * Line, Function and the string table.
 *
 * One sample type, "wall" in "microseconds". Each sample is one distinct (thread, stack)
 * of the profile, its locations leaf first as the format wants, with the labels
 * "thread" (the tid, a number; absent for tid 0) and "thread_name" (when known). Each
 * frame is one Location with one Line of one Function, named with the frame's folded
 * label (so "_[c]" / "_[o]" tell on-CPU from off-CPU) and the module as its file name.
 *
 * The gzip step needs zlib: a build without it has pprof-minimal.c, whose pprof_write
 * returns -ENOTSUP and whose pprof_unavailable() says why. */
#ifndef PK_OUTPUT_PPROF_H
#define PK_OUTPUT_PPROF_H

#include <stdint.h>
#include "stack/profile.h"
#include "util/strbuf.h"

struct pprof_opts {
	int64_t time_nanos;     /* when the recording started, Unix ns; 0: unknown */
	int64_t duration_nanos; /* how long it lasted; 0: unknown */
};

/* Appends the gzipped profile to out. o may be NULL. -ENOTSUP without zlib, -ENOMEM,
 * -EIO for a zlib failure. */
int pprof_write(struct strbuf *out, const struct stack_profile *p, const struct pprof_opts *o);
/* NULL when pprof_write works; else why not ("built without zlib"). */
const char *pprof_unavailable(void);

#endif
