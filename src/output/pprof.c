/* pprof export: the protobuf encoder and its gzip (built when zlib is found). */
#include "output/pprof.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "output/folded.h"

/* Protobuf wire format: a key is (field << 3 | wire type); 0 is a varint, 2 is
 * length-delimited (bytes, strings, sub-messages, packed repeated varints). */
enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

static void pb_varint(struct strbuf *b, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;
	do {
		tmp[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	sb_add(b, tmp, n);
}

static void pb_key(struct strbuf *b, unsigned field, unsigned wire)
{
	pb_varint(b, (uint64_t)field << 3 | wire);
}

/* A varint field; zero values are left out, as proto3 does. */
static void pb_uint(struct strbuf *b, unsigned field, uint64_t v)
{
	if (!v)
		return;
	pb_key(b, field, WIRE_VARINT);
	pb_varint(b, v);
}

static void pb_bytes(struct strbuf *b, unsigned field, const void *data, size_t len)
{
	pb_key(b, field, WIRE_LEN);
	pb_varint(b, len);
	sb_add(b, data, len);
}

/* Appends the sub-message in msg as field, and empties msg for the next one. */
static void pb_message(struct strbuf *b, unsigned field, struct strbuf *msg)
{
	pb_bytes(b, field, msg->buf ? msg->buf : "", msg->len);
	if (msg->failed)
		b->failed = true;
	sb_reset(msg);
}

/* Fields of profile.proto. */
enum {
	PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_LOCATION = 4, PROFILE_FUNCTION = 5,
	PROFILE_STRING_TABLE = 6, PROFILE_TIME_NANOS = 9, PROFILE_DURATION_NANOS = 10,
	PROFILE_PERIOD_TYPE = 11, PROFILE_PERIOD = 12,
	VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2, SAMPLE_LABEL = 3,
	LABEL_KEY = 1, LABEL_STR = 2, LABEL_NUM = 3,
	LOCATION_ID = 1, LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1,
	FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4,
};

/* Fixed entries of the string table; frame labels and modules follow. */
enum { STR_EMPTY, STR_WALL, STR_MICROSECONDS, STR_THREAD, STR_THREAD_NAME, STR_FIXED };
static const char *const fixed_strings[STR_FIXED] = { "", "wall", "microseconds", "thread",
						      "thread_name" };

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

static int encode(struct strbuf *b, const struct stack_profile *p, const struct pprof_opts *o)
{
	struct strbuf msg = STRBUF_INIT, sub = STRBUF_INIT, label = STRBUF_INIT;
	size_t nframes = stack_profile__nframes(p), nsamples;
	const struct stack_sample *samples = stack_profile__samples(p, &nsamples);
	/* String index of each frame's label and module, and of each thread's name (threads
	 * sorted by tid, found by binary search). */
	pid_t *tids = NULL;
	size_t ntids = 0;
	int r = stack_profile__threads(p, &tids, &ntids);
	uint64_t *str_label = malloc((nframes ? nframes : 1) * sizeof(*str_label));
	uint64_t *str_module = malloc((nframes ? nframes : 1) * sizeof(*str_module));
	uint64_t *str_thread = malloc((ntids ? ntids : 1) * sizeof(*str_thread));
	if (r < 0 || !str_label || !str_module || !str_thread) {
		r = -ENOMEM;
		goto out;
	}

	/* sample_type and period_type: wall time in microseconds, one per µs. */
	pb_uint(&msg, VALUE_TYPE_TYPE, STR_WALL);
	pb_uint(&msg, VALUE_TYPE_UNIT, STR_MICROSECONDS);
	struct strbuf vt = STRBUF_INIT;
	sb_add(&vt, msg.buf, msg.len);
	pb_message(b, PROFILE_SAMPLE_TYPE, &msg);

	uint64_t next = STR_FIXED;
	for (uint32_t i = 0; i < nframes; i++) {
		const struct stack_frame *f = stack_profile__frame_get(p, i);
		str_label[i] = next++;
		str_module[i] = f->module ? next++ : 0;
	}
	for (size_t i = 0; i < ntids; i++)
		str_thread[i] = stack_profile__thread_name(p, tids[i]) ? next++ : 0;

	for (size_t i = 0; i < nsamples; i++) {
		const struct stack_sample *s = &samples[i];
		if (!s->weight)
			continue;
		size_t depth;
		const uint32_t *ids = stack_profile__stack_get(p, s->stack, &depth);
		for (size_t k = depth; k-- > 0;) /* leaf first */
			pb_varint(&sub, (uint64_t)ids[k] + 1);
		if (depth)
			pb_message(&msg, SAMPLE_LOCATION_ID, &sub);
		pb_varint(&sub, s->weight > INT64_MAX ? INT64_MAX : s->weight);
		pb_message(&msg, SAMPLE_VALUE, &sub);
		if (s->tid) {
			pb_uint(&sub, LABEL_KEY, STR_THREAD);
			pb_uint(&sub, LABEL_NUM, (uint64_t)s->tid);
			pb_message(&msg, SAMPLE_LABEL, &sub);
		}
		const pid_t *t = bsearch(&s->tid, tids, ntids, sizeof(*tids), cmp_pid);
		if (t && str_thread[t - tids]) {
			pb_uint(&sub, LABEL_KEY, STR_THREAD_NAME);
			pb_uint(&sub, LABEL_STR, str_thread[t - tids]);
			pb_message(&msg, SAMPLE_LABEL, &sub);
		}
		pb_message(b, PROFILE_SAMPLE, &msg);
	}

	for (uint32_t i = 0; i < nframes; i++) {
		pb_uint(&msg, LOCATION_ID, (uint64_t)i + 1);
		pb_uint(&sub, LINE_FUNCTION_ID, (uint64_t)i + 1);
		pb_message(&msg, LOCATION_LINE, &sub);
		pb_message(b, PROFILE_LOCATION, &msg);
	}
	for (uint32_t i = 0; i < nframes; i++) {
		pb_uint(&msg, FUNCTION_ID, (uint64_t)i + 1);
		pb_uint(&msg, FUNCTION_NAME, str_label[i]);
		pb_uint(&msg, FUNCTION_SYSTEM_NAME, str_label[i]);
		pb_uint(&msg, FUNCTION_FILENAME, str_module[i]);
		pb_message(b, PROFILE_FUNCTION, &msg);
	}

	for (unsigned i = 0; i < STR_FIXED; i++)
		pb_bytes(b, PROFILE_STRING_TABLE, fixed_strings[i], strlen(fixed_strings[i]));
	for (uint32_t i = 0; i < nframes; i++) {
		const struct stack_frame *f = stack_profile__frame_get(p, i);
		sb_reset(&label);
		folded_add_frame(&label, f);
		pb_bytes(b, PROFILE_STRING_TABLE, sb_str(&label), label.len);
		if (f->module)
			pb_bytes(b, PROFILE_STRING_TABLE, f->module, strlen(f->module));
	}
	for (size_t i = 0; i < ntids; i++) {
		const char *name = stack_profile__thread_name(p, tids[i]);
		if (str_thread[i])
			pb_bytes(b, PROFILE_STRING_TABLE, name, strlen(name));
	}

	pb_uint(b, PROFILE_TIME_NANOS, o && o->time_nanos > 0 ? (uint64_t)o->time_nanos : 0);
	pb_uint(b, PROFILE_DURATION_NANOS,
		o && o->duration_nanos > 0 ? (uint64_t)o->duration_nanos : 0);
	pb_message(b, PROFILE_PERIOD_TYPE, &vt);
	pb_uint(b, PROFILE_PERIOD, 1);
	sb_free(&vt);
	r = b->failed || label.failed ? -ENOMEM : 0;
out:
	sb_free(&msg);
	sb_free(&sub);
	sb_free(&label);
	free(str_label);
	free(str_module);
	free(str_thread);
	free(tids);
	return r;
}

static int gzip_into(struct strbuf *out, const struct strbuf *in)
{
	z_stream z = { 0 };
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16 /* gzip */, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	unsigned char buf[65536];
	z.next_in = (unsigned char *)(in->buf ? in->buf : "");
	z.avail_in = (uInt)in->len; /* a profile over 4 GiB is refused by the caller */
	int zr;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		zr = deflate(&z, Z_FINISH);
		if (zr == Z_STREAM_ERROR)
			break;
		sb_add(out, buf, sizeof(buf) - z.avail_out);
	} while (zr != Z_STREAM_END);
	deflateEnd(&z);
	if (zr != Z_STREAM_END)
		return -EIO;
	return out->failed ? -ENOMEM : 0;
}

int pprof_write(struct strbuf *out, const struct stack_profile *p, const struct pprof_opts *o)
{
	struct strbuf pb = STRBUF_INIT;
	int r = encode(&pb, p, o);
	if (r >= 0 && pb.len > UINT32_MAX)
		r = -EFBIG;
	if (r >= 0)
		r = gzip_into(out, &pb);
	sb_free(&pb);
	return r;
}

const char *pprof_unavailable(void) { return NULL; }
