/* The stack profile: the model between the stack collectors (on-CPU sampler, off-CPU
 * tracer, the Python reader, the folded reader) and the writers (folded, flamegraph SVG,
 * speedscope, pprof).
 *
 * Frames and stacks are interned: each distinct frame and each distinct stack is stored
 * once and named by a small integer id, so that a sample is a (thread, stack id, weight)
 * triple. Weights are microseconds, so that on-CPU samples and off-CPU blocking times add
 * up on one scale.
 *
 * Costs. Interning a frame or a stack that is already known, and adding a weight to a
 * (thread, stack) pair that already has one, allocate nothing: they hash and compare. The
 * hot path of a sampler (stack_profile__stack + stack_profile__add on known stacks) is
 * allocation-free. New entries grow arrays by doubling (amortised O(1)).
 *
 * Ownership and bounds. The profile owns copies of every string it is given; pointers it
 * returns are of two lifetimes: strings (frame names, modules) stay valid until the
 * profile is freed; struct pointers and arrays (frames, stack frame ids, samples, thread
 * names) stay valid until the next call that adds to the same table. Every table is bounded by struct stack_limits; beyond a bound the
 * functions return -ENOSPC and change nothing. The sum of all weights never exceeds
 * UINT64_MAX (-EOVERFLOW), so every partial sum a writer computes fits in a uint64_t.
 *
 * Thread id 0 means "no particular thread": profiles read from a folded file, or merged
 * across threads, keep their weights under tid 0. */
#ifndef PK_STACK_PROFILE_H
#define PK_STACK_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What a frame is. */
enum frame_kind {
	FRAME_USER = 0, /* native user-space code */
	FRAME_KERNEL,   /* kernel code */
	FRAME_PYTHON,   /* a Python function; module is its file */
	FRAME_MARKER,   /* synthetic: a thread name, "[off-cpu]", "[unknown]", "[truncated]" */
};

/* Which side of the wall clock a frame was seen on. The folded writer marks ON_CPU frames
 * with the suffix "_[c]" and OFF_CPU frames with "_[o]"; ANY gets no suffix. The same
 * function on and off the CPU is two distinct frames. */
enum frame_state {
	STATE_ANY = 0,
	STATE_ON_CPU,
	STATE_OFF_CPU,
};

#define STACK_MAX_DEPTH 2048 /* frames in one stack (-E2BIG beyond) */
#define STACK_MAX_NAME 4096  /* bytes of a frame name or module; longer ones are cut */
#define STACK_NO_MODULE NULL

struct stack_frame {
	const char *name;   /* never NULL, never empty ("[unknown]" replaces "") */
	const char *module; /* NULL when unknown */
	uint32_t hash;      /* of name, module, kind and state: colours, hash tables */
	uint8_t kind;       /* enum frame_kind */
	uint8_t state;      /* enum frame_state */
};

struct stack_sample {
	pid_t tid;       /* 0: no particular thread */
	uint32_t stack;  /* stack id */
	uint64_t weight; /* microseconds */
};

/* Bounds on the tables (0 in a field: its default). Memory is roughly
 * 64 B per frame + its strings, 24 B + 4 B per frame per stack, 32 B per sample. */
struct stack_limits {
	size_t max_frames;  /* distinct frames; default 1 << 22 */
	size_t max_stacks;  /* distinct stacks; default 1 << 22 */
	size_t max_samples; /* distinct (thread, stack) pairs; default 1 << 24 */
	size_t max_threads; /* named threads; default 1 << 16 */
};

struct stack_profile;

/* A new, empty profile; limits may be NULL (the defaults). -ENOMEM. */
int stack_profile__new(const struct stack_limits *limits, struct stack_profile **ret);
/* Frees everything; NULL is a no-op. Returns NULL. */
struct stack_profile *stack_profile__free(struct stack_profile *p);

/* Interns a frame and returns its id in ret_id. name NULL or "" becomes "[unknown]";
 * names and modules longer than STACK_MAX_NAME bytes are cut (at a UTF-8 boundary).
 * -EINVAL for a bad kind or state, -ENOSPC past max_frames, -ENOMEM. */
int stack_profile__frame(struct stack_profile *p, const char *name, const char *module,
			 enum frame_kind kind, enum frame_state state, uint32_t *ret_id);
/* Interns a stack of n frame ids, root first (the outermost caller at [0], the leaf at
 * [n-1]). n == 0 is the empty stack (its weight is "somewhere unknown"). -EINVAL for an
 * unknown frame id, -E2BIG for n > STACK_MAX_DEPTH, -ENOSPC, -ENOMEM. */
int stack_profile__stack(struct stack_profile *p, const uint32_t *frames, size_t n,
			 uint32_t *ret_id);
/* Adds weight (µs) to (tid, stack). Weights of the same pair add up. -EINVAL for an
 * unknown stack id or a negative tid, -EOVERFLOW when the profile's total weight would
 * pass UINT64_MAX (nothing is added), -ENOSPC, -ENOMEM. */
int stack_profile__add(struct stack_profile *p, pid_t tid, uint32_t stack, uint64_t weight);

/* Names a thread (its comm); a later call renames it. -EINVAL for tid <= 0. */
int stack_profile__set_thread_name(struct stack_profile *p, pid_t tid, const char *name);
/* The thread's name, or NULL when it has none. */
const char *stack_profile__thread_name(const struct stack_profile *p, pid_t tid);

size_t stack_profile__nframes(const struct stack_profile *p);
size_t stack_profile__nstacks(const struct stack_profile *p);
const struct stack_frame *stack_profile__frame_get(const struct stack_profile *p, uint32_t id);
/* The stack's frame ids, root first, and their number in ret_n. NULL for an unknown id. */
const uint32_t *stack_profile__stack_get(const struct stack_profile *p, uint32_t id,
					 size_t *ret_n);
/* STATE_ON_CPU or STATE_OFF_CPU when every frame of the stack that has a state has that
 * one (frames with STATE_ANY, such as a thread-name root, do not count), else STATE_ANY. */
enum frame_state stack_profile__stack_state(const struct stack_profile *p, uint32_t id);

/* The samples, one per distinct (tid, stack), in the order they were first added. The
 * pointer is valid until the next stack_profile__add. */
const struct stack_sample *stack_profile__samples(const struct stack_profile *p, size_t *ret_n);
/* The distinct thread ids that have samples, sorted ascending, into a malloc'd array the
 * caller frees (NULL with 0 threads). -ENOMEM. */
int stack_profile__threads(const struct stack_profile *p, pid_t **ret_tids, size_t *ret_n);

/* Total weight (µs) of the samples of tid (0: of every thread), per stack state:
 * ret[STATE_ANY], ret[STATE_ON_CPU], ret[STATE_OFF_CPU]; their sum is the total. */
void stack_profile__totals(const struct stack_profile *p, pid_t tid, bool all_threads,
			   uint64_t ret[3]);
uint64_t stack_profile__total(const struct stack_profile *p);

/* Weight per stack id of the samples of one thread (all_threads: of every thread), into
 * a calloc'd array of stack_profile__nstacks() entries. This is the aggregation the
 * writers use: per-thread samples of the same stack are summed. -ENOMEM. */
int stack_profile__stack_weights(const struct stack_profile *p, pid_t tid, bool all_threads,
				 uint64_t **ret_weights);

/* Adds every sample of src to dst, re-interning frames and stacks; thread names come
 * along. With fold_threads, every sample lands under tid 0 (one aggregate). On failure
 * dst keeps what was merged so far. Errors as stack_profile__add. */
int stack_profile__merge(struct stack_profile *dst, const struct stack_profile *src,
			 bool fold_threads);

#endif
