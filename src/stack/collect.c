/* The stack collector: raw stacks to profile stacks (see collect.h). */
#include "stack/collect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "util/macro.h"
#include "proc/proc_reader.h"
#include "util/pidmap.h"

#define USER_MAX_FRAMES 512

/* Profile frame ids of one symbol, per state; UINT32_MAX: not interned yet. */
struct sym_frames {
	uint32_t id[3];
};

struct collector {
	struct stack_profile *p;
	struct symbolizer *sym;
	struct unwinder *unw;
	struct collector_opts o;
	struct sym_frames *frames; /* indexed by symbol id */
	size_t nframes;
	struct pidmap roots;       /* tid -> (root frame id + 1), cast to a pointer */
	uint32_t *ids;             /* the stack being built: STACK_MAX_DEPTH + 1 */
	uint64_t ips[USER_MAX_FRAMES];
	struct collector_stats st;
};

int collector_new(struct stack_profile *p, struct symbolizer *sym, struct unwinder *unw,
		  const struct collector_opts *o, struct collector **ret)
{
	struct collector *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ids = malloc((STACK_MAX_DEPTH + 1) * sizeof(*c->ids));
	if (!c->ids) {
		free(c);
		return -ENOMEM;
	}
	c->p = p;
	c->sym = sym;
	c->unw = unw;
	c->o = *o;
	*ret = c;
	return 0;
}

struct collector *collector_free(struct collector *c)
{
	if (!c)
		return NULL;
	free(c->frames);
	free(c->ids);
	pidmap_free(&c->roots);
	free(c);
	return NULL;
}

void collector_get_stats(const struct collector *c, struct collector_stats *ret)
{
	*ret = c->st;
}

int collector_thread_name(struct collector *c, pid_t tid, const char *name)
{
	uint32_t id;
	int r = stack_profile__set_thread_name(c->p, tid, name);
	if (r < 0)
		return r;
	r = stack_profile__frame(c->p, name, STACK_NO_MODULE, FRAME_MARKER, STATE_ANY, &id);
	if (r < 0)
		return r;
	return pidmap_put(&c->roots, tid, (void *)(uintptr_t)(id + 1));
}

/* The thread's comm from /proc, for a thread no COMM record has named yet. */
static void read_comm(pid_t pid, pid_t tid, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid, (int)tid);
	if (proc_read_file_at(AT_FDCWD, path, buf, size) <= 0) {
		snprintf(buf, size, "[thread %d]", (int)tid);
		return;
	}
	buf[strcspn(buf, "\n")] = '\0';
}

static int root_frame(struct collector *c, pid_t pid, pid_t tid, uint32_t *ret)
{
	void *v = pidmap_get(&c->roots, tid);
	if (!v) {
		char name[64];
		read_comm(pid, tid, name, sizeof(name));
		int r = collector_thread_name(c, tid, name);
		if (r < 0)
			return r;
		v = pidmap_get(&c->roots, tid);
	}
	*ret = (uint32_t)((uintptr_t)v - 1);
	return 0;
}

/* The profile frame of symbol id sid in state st. */
static int sym_frame(struct collector *c, int sid, enum frame_state st, uint32_t *ret)
{
	if ((size_t)sid >= c->nframes) {
		size_t n = c->nframes ? c->nframes : 256;
		while (n <= (size_t)sid)
			n *= 2;
		struct sym_frames *f = realloc(c->frames, n * sizeof(*f));
		if (!f)
			return -ENOMEM;
		memset(f + c->nframes, 0xff, (n - c->nframes) * sizeof(*f));
		c->frames = f;
		c->nframes = n;
	}
	uint32_t *slot = &c->frames[sid].id[st];
	if (*slot == UINT32_MAX) {
		const struct symbol *s = symbolizer_get(c->sym, sid);
		int r = stack_profile__frame(c->p, s->name, s->module, s->kind, st, slot);
		if (r < 0) {
			*slot = UINT32_MAX;
			return r;
		}
	}
	*ret = *slot;
	return 0;
}

/* The user part's return addresses, innermost first, into c->ips. */
static size_t user_ips(struct collector *c, const struct raw_stack *rs)
{
	size_t n = 0;
	if (rs->regs && rs->stack && c->unw &&
	    unwind_user(c->unw, rs->pid, rs->tid, rs->regs, rs->stack, rs->stack_size, c->ips,
			USER_MAX_FRAMES, &n) == 0 && n > 0) {
		c->st.dwarf++;
		return n;
	}
	n = rs->nuser < USER_MAX_FRAMES ? rs->nuser : USER_MAX_FRAMES;
	memcpy(c->ips, rs->user_ips, n * sizeof(*c->ips));
	if (n)
		c->st.frame_pointer++;
	return n;
}

static bool is_start_routine(const char *name)
{
	static const char *const roots[] = {
		"main", "_start", "__libc_start_main", "__libc_start_call_main", "start_thread",
		"clone", "clone3", "__clone", "__clone3", "__GI___clone3", "thread_start",
	};
	for (size_t i = 0; i < ARRAY_SIZE(roots); i++)
		if (!strcmp(name, roots[i]))
			return true;
	return false;
}

/* Appends the user frames, outermost first, after *n ids. */
static int add_user(struct collector *c, const struct raw_stack *rs, enum frame_state st,
		    size_t *n)
{
	size_t nips = user_ips(c, rs);
	c->st.user_frames += nips;
	for (size_t k = nips; k-- > 0 && *n < STACK_MAX_DEPTH;) {
		int sid = symbolize_user(c->sym, rs->pid, c->ips[k], k > 0);
		if (sid < 0)
			return sid;
		if (k == nips - 1 && is_start_routine(symbolizer_get(c->sym, sid)->name))
			c->st.reached_root++;
		int r = sym_frame(c, sid, st, &c->ids[(*n)++]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int add_kernel(struct collector *c, const struct raw_stack *rs, enum frame_state st,
		      size_t *n)
{
	for (size_t k = rs->nkernel; k-- > 0 && *n < STACK_MAX_DEPTH;) {
		int sid = symbolize_kernel(c->sym, rs->kernel_ips[k]);
		if (sid < 0)
			return sid;
		int r = sym_frame(c, sid, st, &c->ids[(*n)++]);
		if (r < 0)
			return r;
	}
	return 0;
}

int collector_stack(struct collector *c, const struct raw_stack *rs, enum frame_state st,
		    uint32_t *ret_stack)
{
	size_t n = 0;
	int r = 0;
	c->st.stacks++;
	if (c->o.thread_root)
		r = root_frame(c, rs->pid, rs->tid, &c->ids[n++]);
	if (r == 0)
		r = add_user(c, rs, st, &n);
	if (r == 0 && c->o.kernel)
		r = add_kernel(c, rs, st, &n);
	if (r < 0)
		return r;
	return stack_profile__stack(c->p, c->ids, n, ret_stack);
}

int collector_add(struct collector *c, const struct raw_stack *rs, enum frame_state st,
		  uint64_t weight_us)
{
	uint32_t stack;
	int r = collector_stack(c, rs, st, &stack);
	return r < 0 ? r : stack_profile__add(c->p, rs->tid, stack, weight_us);
}
