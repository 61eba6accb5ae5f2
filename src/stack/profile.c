#include "stack/profile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "util/pidmap.h"

/* Strings live in chunks that never move, so that frames can point into them. */
#define ARENA_CHUNK 65536

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	char data[];
};

/* Open-addressing index: slots hold id + 1 (0 is empty); there are no deletions. */
struct index {
	uint32_t *slots;
	size_t cap; /* a power of two, or 0 */
};

struct stack_entry {
	size_t off;    /* into ids */
	uint32_t n;    /* frames */
	uint32_t hash;
	uint8_t state; /* enum frame_state common to every frame, else STATE_ANY */
};

struct stack_profile {
	struct stack_limits lim;
	struct arena_chunk *arena;

	struct stack_frame *frames;
	size_t nframes, frames_cap;
	struct index frame_index;

	struct stack_entry *stacks;
	size_t nstacks, stacks_cap;
	uint32_t *ids;
	size_t nids, ids_cap;
	struct index stack_index;

	struct stack_sample *samples;
	size_t nsamples, samples_cap;
	struct index sample_index;

	struct pidmap thread_names; /* tid -> malloc'd name */
	uint64_t total;
};

/* FNV-1a, 32 bits: cheap, good enough for interning, and stable across runs (colours of
 * the flamegraph are derived from it). */
static uint32_t fnv1a(uint32_t h, const void *data, size_t n)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}
#define FNV_INIT 2166136261u

/* Spreads the low bits of a combined key (tid, stack). */
static uint32_t mix32(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (uint32_t)x;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 16;
	while (n < need) {
		if (n > SIZE_MAX / 2 / elem)
			return -ENOMEM;
		n *= 2;
	}
	void *p = realloc(*arr, n * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

/* Makes room for one more entry in an index that holds `used` entries; rebuilds it with
 * hashes from hash_of(p, id). */
static int index_reserve(struct stack_profile *p, struct index *ix, size_t used,
			 uint32_t (*hash_of)(const struct stack_profile *, uint32_t))
{
	if ((used + 1) * 4 < ix->cap * 3)
		return 0;
	size_t cap = ix->cap ? ix->cap * 2 : 64;
	uint32_t *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < ix->cap; i++) {
		uint32_t v = ix->slots[i];
		if (!v)
			continue;
		size_t j = hash_of(p, v - 1) & (cap - 1);
		while (slots[j])
			j = (j + 1) & (cap - 1);
		slots[j] = v;
	}
	free(ix->slots);
	ix->slots = slots;
	ix->cap = cap;
	return 0;
}

static uint32_t frame_hash_of(const struct stack_profile *p, uint32_t id)
{
	return p->frames[id].hash;
}

static uint32_t stack_hash_of(const struct stack_profile *p, uint32_t id)
{
	return p->stacks[id].hash;
}

static uint32_t sample_hash(pid_t tid, uint32_t stack)
{
	return mix32((uint64_t)(uint32_t)tid << 32 | stack);
}

static uint32_t sample_hash_of(const struct stack_profile *p, uint32_t id)
{
	return sample_hash(p->samples[id].tid, p->samples[id].stack);
}

static char *arena_strndup(struct stack_profile *p, const char *s, size_t n)
{
	struct arena_chunk *c = p->arena;
	if (!c || c->cap - c->used < n + 1) {
		size_t cap = n + 1 > ARENA_CHUNK ? n + 1 : ARENA_CHUNK;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		/* A big string gets a chunk of its own behind the current one, so the
		 * current one keeps filling. */
		if (p->arena && cap > ARENA_CHUNK) {
			c->next = p->arena->next;
			p->arena->next = c;
		} else {
			c->next = p->arena;
			p->arena = c;
		}
	}
	char *d = c->data + c->used;
	memcpy(d, s, n);
	d[n] = '\0';
	c->used += n + 1;
	return d;
}

int stack_profile__new(const struct stack_limits *limits, struct stack_profile **ret)
{
	struct stack_profile *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (limits)
		p->lim = *limits;
	if (!p->lim.max_frames)
		p->lim.max_frames = 1u << 22;
	if (!p->lim.max_stacks)
		p->lim.max_stacks = 1u << 22;
	if (!p->lim.max_samples)
		p->lim.max_samples = 1u << 24;
	if (!p->lim.max_threads)
		p->lim.max_threads = 1u << 16;
	/* Ids are uint32_t, and index slots hold id + 1. */
	if (p->lim.max_frames > UINT32_MAX - 1)
		p->lim.max_frames = UINT32_MAX - 1;
	if (p->lim.max_stacks > UINT32_MAX - 1)
		p->lim.max_stacks = UINT32_MAX - 1;
	if (p->lim.max_samples > UINT32_MAX - 1)
		p->lim.max_samples = UINT32_MAX - 1;
	*ret = p;
	return 0;
}

struct stack_profile *stack_profile__free(struct stack_profile *p)
{
	if (!p)
		return NULL;
	while (p->arena) {
		struct arena_chunk *next = p->arena->next;
		free(p->arena);
		p->arena = next;
	}
	free(p->frames);
	free(p->frame_index.slots);
	free(p->stacks);
	free(p->ids);
	free(p->stack_index.slots);
	free(p->samples);
	free(p->sample_index.slots);
	pid_t tid;
	void *name;
	for (size_t i = 0; pidmap_next(&p->thread_names, &i, &tid, &name);)
		free(name);
	pidmap_free(&p->thread_names);
	free(p);
	return NULL;
}

/* Length of s cut to at most STACK_MAX_NAME bytes, at a UTF-8 sequence boundary. */
static size_t cut_len(const char *s)
{
	size_t n = strnlen(s, STACK_MAX_NAME + 1);
	if (n <= STACK_MAX_NAME)
		return n;
	n = STACK_MAX_NAME;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

static bool same_str(const char *a, const char *b, size_t blen)
{
	return strncmp(a, b, blen) == 0 && a[blen] == '\0';
}

int stack_profile__frame(struct stack_profile *p, const char *name, const char *module,
			 enum frame_kind kind, enum frame_state state, uint32_t *ret_id)
{
	if ((unsigned)kind > FRAME_MARKER || (unsigned)state > STATE_OFF_CPU)
		return -EINVAL;
	if (!name || !*name)
		name = "[unknown]";
	size_t nlen = cut_len(name), mlen = module ? cut_len(module) : 0;
	uint8_t tag[3] = { (uint8_t)kind, (uint8_t)state, module ? 1 : 0 };
	uint32_t h = fnv1a(FNV_INIT, name, nlen);
	h = fnv1a(h, tag, sizeof(tag));
	if (module)
		h = fnv1a(h, module, mlen);

	struct index *ix = &p->frame_index;
	size_t i = ix->cap ? h & (ix->cap - 1) : 0;
	for (; ix->cap && ix->slots[i]; i = (i + 1) & (ix->cap - 1)) {
		const struct stack_frame *f = &p->frames[ix->slots[i] - 1];
		if (f->hash == h && f->kind == kind && f->state == state &&
		    same_str(f->name, name, nlen) && !f->module == !module &&
		    (!module || same_str(f->module, module, mlen))) {
			*ret_id = ix->slots[i] - 1;
			return 0;
		}
	}

	if (p->nframes >= p->lim.max_frames)
		return -ENOSPC;
	if (grow((void **)&p->frames, &p->frames_cap, p->nframes + 1, sizeof(*p->frames)) < 0 ||
	    index_reserve(p, ix, p->nframes, frame_hash_of) < 0)
		return -ENOMEM;
	const char *n = arena_strndup(p, name, nlen);
	const char *m = module ? arena_strndup(p, module, mlen) : NULL;
	if (!n || (module && !m))
		return -ENOMEM; /* the arena keeps the orphan string; it is freed with p */
	uint32_t id = (uint32_t)p->nframes++;
	p->frames[id] = (struct stack_frame){ .name = n, .module = m, .hash = h,
					      .kind = (uint8_t)kind, .state = (uint8_t)state };
	for (i = h & (ix->cap - 1); ix->slots[i]; i = (i + 1) & (ix->cap - 1))
		;
	ix->slots[i] = id + 1;
	*ret_id = id;
	return 0;
}

/* Frames without a state (a thread-name root, "[unknown]") do not decide: a stack is on
 * or off the CPU when every frame that has a state agrees. */
static uint8_t stack_state_of(const struct stack_profile *p, const uint32_t *frames, size_t n)
{
	uint8_t state = STATE_ANY;
	for (size_t k = 0; k < n; k++) {
		uint8_t st = p->frames[frames[k]].state;
		if (st == STATE_ANY)
			continue;
		if (state != STATE_ANY && st != state)
			return STATE_ANY;
		state = st;
	}
	return state;
}

int stack_profile__stack(struct stack_profile *p, const uint32_t *frames, size_t n,
			 uint32_t *ret_id)
{
	if (n > STACK_MAX_DEPTH)
		return -E2BIG;
	uint32_t h = FNV_INIT;
	for (size_t k = 0; k < n; k++) {
		if (frames[k] >= p->nframes)
			return -EINVAL;
		h = fnv1a(h, &frames[k], sizeof(frames[k]));
	}
	h = fnv1a(h, &n, sizeof(n));

	struct index *ix = &p->stack_index;
	size_t i = ix->cap ? h & (ix->cap - 1) : 0;
	for (; ix->cap && ix->slots[i]; i = (i + 1) & (ix->cap - 1)) {
		const struct stack_entry *s = &p->stacks[ix->slots[i] - 1];
		if (s->hash == h && s->n == n &&
		    (n == 0 || memcmp(p->ids + s->off, frames, n * sizeof(*frames)) == 0)) {
			*ret_id = ix->slots[i] - 1;
			return 0;
		}
	}

	if (p->nstacks >= p->lim.max_stacks)
		return -ENOSPC;
	if (grow((void **)&p->stacks, &p->stacks_cap, p->nstacks + 1, sizeof(*p->stacks)) < 0 ||
	    grow((void **)&p->ids, &p->ids_cap, p->nids + n, sizeof(*p->ids)) < 0 ||
	    index_reserve(p, ix, p->nstacks, stack_hash_of) < 0)
		return -ENOMEM;
	uint8_t state = stack_state_of(p, frames, n);
	if (n)
		memcpy(p->ids + p->nids, frames, n * sizeof(*frames));
	uint32_t id = (uint32_t)p->nstacks++;
	p->stacks[id] = (struct stack_entry){ .off = p->nids, .n = (uint32_t)n, .hash = h,
					      .state = state };
	p->nids += n;
	for (i = h & (ix->cap - 1); ix->slots[i]; i = (i + 1) & (ix->cap - 1))
		;
	ix->slots[i] = id + 1;
	*ret_id = id;
	return 0;
}

int stack_profile__add(struct stack_profile *p, pid_t tid, uint32_t stack, uint64_t weight)
{
	if (tid < 0 || stack >= p->nstacks)
		return -EINVAL;
	if (weight > UINT64_MAX - p->total)
		return -EOVERFLOW;
	uint32_t h = sample_hash(tid, stack);
	struct index *ix = &p->sample_index;
	size_t i = ix->cap ? h & (ix->cap - 1) : 0;
	for (; ix->cap && ix->slots[i]; i = (i + 1) & (ix->cap - 1)) {
		struct stack_sample *s = &p->samples[ix->slots[i] - 1];
		if (s->tid == tid && s->stack == stack) {
			s->weight += weight;
			p->total += weight;
			return 0;
		}
	}
	if (p->nsamples >= p->lim.max_samples)
		return -ENOSPC;
	if (grow((void **)&p->samples, &p->samples_cap, p->nsamples + 1, sizeof(*p->samples)) < 0 ||
	    index_reserve(p, ix, p->nsamples, sample_hash_of) < 0)
		return -ENOMEM;
	uint32_t id = (uint32_t)p->nsamples++;
	p->samples[id] = (struct stack_sample){ .tid = tid, .stack = stack, .weight = weight };
	for (i = h & (ix->cap - 1); ix->slots[i]; i = (i + 1) & (ix->cap - 1))
		;
	ix->slots[i] = id + 1;
	p->total += weight;
	return 0;
}

int stack_profile__set_thread_name(struct stack_profile *p, pid_t tid, const char *name)
{
	if (tid <= 0 || !name)
		return -EINVAL;
	char *old = pidmap_get(&p->thread_names, tid);
	if (!old && p->thread_names.live >= p->lim.max_threads)
		return -ENOSPC;
	char *copy = strndup(name, cut_len(name));
	if (!copy)
		return -ENOMEM;
	int r = pidmap_put(&p->thread_names, tid, copy);
	if (r < 0) {
		free(copy);
		return r;
	}
	free(old);
	return 0;
}

const char *stack_profile__thread_name(const struct stack_profile *p, pid_t tid)
{
	return pidmap_get(&p->thread_names, tid);
}

size_t stack_profile__nframes(const struct stack_profile *p) { return p->nframes; }
size_t stack_profile__nstacks(const struct stack_profile *p) { return p->nstacks; }
uint64_t stack_profile__total(const struct stack_profile *p) { return p->total; }

const struct stack_frame *stack_profile__frame_get(const struct stack_profile *p, uint32_t id)
{
	return id < p->nframes ? &p->frames[id] : NULL;
}

const uint32_t *stack_profile__stack_get(const struct stack_profile *p, uint32_t id,
					 size_t *ret_n)
{
	if (id >= p->nstacks) {
		*ret_n = 0;
		return NULL;
	}
	*ret_n = p->stacks[id].n;
	/* Never NULL for a valid id, even for the empty stack. */
	static const uint32_t none[1];
	return p->ids ? p->ids + p->stacks[id].off : none;
}

enum frame_state stack_profile__stack_state(const struct stack_profile *p, uint32_t id)
{
	return id < p->nstacks ? (enum frame_state)p->stacks[id].state : STATE_ANY;
}

const struct stack_sample *stack_profile__samples(const struct stack_profile *p, size_t *ret_n)
{
	*ret_n = p->nsamples;
	return p->samples;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

int stack_profile__threads(const struct stack_profile *p, pid_t **ret_tids, size_t *ret_n)
{
	*ret_tids = NULL;
	*ret_n = 0;
	if (!p->nsamples)
		return 0;
	pid_t *t = malloc(p->nsamples * sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < p->nsamples; i++)
		t[i] = p->samples[i].tid;
	qsort(t, p->nsamples, sizeof(*t), cmp_pid);
	size_t n = 0;
	for (size_t i = 0; i < p->nsamples; i++)
		if (n == 0 || t[n - 1] != t[i])
			t[n++] = t[i];
	*ret_tids = t;
	*ret_n = n;
	return 0;
}

void stack_profile__totals(const struct stack_profile *p, pid_t tid, bool all_threads,
			   uint64_t ret[3])
{
	ret[0] = ret[1] = ret[2] = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct stack_sample *s = &p->samples[i];
		if (all_threads || s->tid == tid)
			ret[p->stacks[s->stack].state] += s->weight;
	}
}

int stack_profile__stack_weights(const struct stack_profile *p, pid_t tid, bool all_threads,
				 uint64_t **ret_weights)
{
	uint64_t *w = calloc(p->nstacks ? p->nstacks : 1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct stack_sample *s = &p->samples[i];
		if (all_threads || s->tid == tid)
			w[s->stack] += s->weight;
	}
	*ret_weights = w;
	return 0;
}

int stack_profile__merge(struct stack_profile *dst, const struct stack_profile *src,
			 bool fold_threads)
{
	if (!src->nsamples)
		return 0;
	/* src frame id -> dst frame id, src stack id -> dst stack id (+1, 0: not yet). */
	uint32_t *fmap = calloc(src->nframes ? src->nframes : 1, sizeof(*fmap));
	uint32_t *smap = calloc(src->nstacks ? src->nstacks : 1, sizeof(*smap));
	uint32_t *buf = malloc(STACK_MAX_DEPTH * sizeof(*buf));
	int r = 0;
	if (!fmap || !smap || !buf) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < src->nsamples && r >= 0; i++) {
		const struct stack_sample *s = &src->samples[i];
		if (!smap[s->stack]) {
			const struct stack_entry *e = &src->stacks[s->stack];
			for (uint32_t k = 0; k < e->n && r >= 0; k++) {
				uint32_t f = src->ids[e->off + k];
				if (!fmap[f]) {
					const struct stack_frame *sf = &src->frames[f];
					uint32_t id;
					r = stack_profile__frame(dst, sf->name, sf->module,
								 sf->kind, sf->state, &id);
					if (r < 0)
						break;
					fmap[f] = id + 1;
				}
				buf[k] = fmap[f] - 1;
			}
			uint32_t sid = 0;
			if (r >= 0)
				r = stack_profile__stack(dst, buf, e->n, &sid);
			if (r < 0)
				break;
			smap[s->stack] = sid + 1;
		}
		r = stack_profile__add(dst, fold_threads ? 0 : s->tid, smap[s->stack] - 1, s->weight);
	}
	if (r < 0)
		goto out;
	pid_t tid;
	void *name;
	if (!fold_threads)
		for (size_t i = 0; pidmap_next(&src->thread_names, &i, &tid, &name);)
			if (!stack_profile__thread_name(dst, tid) &&
			    (r = stack_profile__set_thread_name(dst, tid, name)) < 0)
				break;
out:
	free(fmap);
	free(smap);
	free(buf);
	return r;
}
