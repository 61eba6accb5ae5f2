/* Time accounting of a wall-clock profile (see timeacct.h). */
#include "analysis/timeacct.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/macro.h"

void timeacct_fill(const struct stack_profile *p, struct thread_time *t)
{
	uint64_t tot[3];
	stack_profile__totals(p, t->tid, false, tot);
	t->on_us = tot[STATE_ON_CPU];
	t->off_us = tot[STATE_OFF_CPU];
}

double timeacct_coverage(uint64_t on_us, uint64_t off_us, uint64_t life_us)
{
	return life_us ? 100.0 * (double)(on_us + off_us) / (double)life_us : 0;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* Frames the scheduler and the tracing around it add above every wait. */
static bool is_sched_frame(const char *name)
{
	static const char *const prefixes[] = {
		"__schedule", "schedule", "io_schedule", "preempt_schedule", "__cond_resched",
		"finish_task_switch", "__traceiter_", "bpf_", "__bpf_", "perf_", "__perf_",
		"__sched_text_start", "__switch_to", "raw_tp_", "trace_call_bpf",
	};
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (has_prefix(name, prefixes[i]))
			return true;
	return false;
}

/* The return from an interrupt (or an explicit preemption point) chose another task:
 * the thread did not wait for anything but a CPU. */
static bool is_preemption_frame(const char *name)
{
	return has_prefix(name, "irqentry_exit") || has_prefix(name, "exit_to_user_mode") ||
	       has_prefix(name, "preempt_schedule") || has_prefix(name, "asm_sysvec_") ||
	       has_prefix(name, "__cond_resched") || has_prefix(name, "__might_resched");
}

static bool is_syscall_frame(const char *name)
{
	return has_prefix(name, "__x64_sys_") || has_prefix(name, "__ia32_sys_") ||
	       has_prefix(name, "__arm64_sys_") || has_prefix(name, "__se_sys_");
}

/* The reason of one off-CPU stack: scans from the leaf towards the root. */
static struct block_reason reason_of(const struct stack_profile *p, uint32_t stack)
{
	struct block_reason r = { UINT32_MAX, UINT32_MAX, UINT32_MAX, false, 0 };
	size_t n;
	const uint32_t *ids = stack_profile__stack_get(p, stack, &n);
	for (size_t k = n; k-- > 0;) {
		const struct stack_frame *f = stack_profile__frame_get(p, ids[k]);
		if (f->kind == FRAME_KERNEL && is_preemption_frame(f->name) &&
		    r.wait_frame == UINT32_MAX) {
			return (struct block_reason){ UINT32_MAX, UINT32_MAX, UINT32_MAX, true, 0 };
		}
		if (f->kind == FRAME_KERNEL) {
			if (r.wait_frame == UINT32_MAX && !is_sched_frame(f->name))
				r.wait_frame = ids[k];
			if (r.syscall_frame == UINT32_MAX && is_syscall_frame(f->name))
				r.syscall_frame = ids[k];
		} else if (f->kind == FRAME_USER || f->kind == FRAME_PYTHON) {
			r.user_frame = ids[k];
			break;
		}
	}
	return r;
}

static int by_time_desc(const void *a, const void *b)
{
	const struct block_reason *x = a, *y = b;
	return x->us < y->us ? 1 : x->us > y->us ? -1 : 0;
}

static bool same_reason(const struct block_reason *a, const struct block_reason *b)
{
	return a->wait_frame == b->wait_frame && a->syscall_frame == b->syscall_frame &&
	       a->user_frame == b->user_frame && a->preempted == b->preempted;
}

int timeacct_reasons(const struct stack_profile *p, pid_t tid, bool all_threads,
		     struct block_reason **ret, size_t *ret_n)
{
	uint64_t *w;
	int r = stack_profile__stack_weights(p, tid, all_threads, &w);
	if (r < 0)
		return r;
	size_t ns = stack_profile__nstacks(p), n = 0, cap = 0;
	struct block_reason *v = NULL;
	for (uint32_t s = 0; s < ns; s++) {
		if (!w[s] || stack_profile__stack_state(p, s) != STATE_OFF_CPU)
			continue;
		struct block_reason br = reason_of(p, s);
		br.us = w[s];
		size_t k = 0;
		while (k < n && !same_reason(&v[k], &br))
			k++;
		if (k < n) {
			v[k].us += br.us;
			continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			struct block_reason *nv = realloc(v, cap * sizeof(*nv));
			if (!nv) {
				free(v);
				free(w);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = br;
	}
	free(w);
	if (n)
		qsort(v, n, sizeof(*v), by_time_desc);
	*ret = v;
	*ret_n = n;
	return 0;
}

static const char *frame_name(const struct stack_profile *p, uint32_t id)
{
	return id == UINT32_MAX ? NULL : stack_profile__frame_get(p, id)->name;
}

/* "__x64_sys_read" -> "read". */
static const char *syscall_name(const char *frame)
{
	const char *s = strstr(frame, "sys_");
	return s ? s + 4 : frame;
}

void timeacct_reason_text(const struct stack_profile *p, const struct block_reason *r,
			  char *out, size_t size)
{
	if (r->preempted) {
		snprintf(out, size, "preempted (runnable, waiting for a CPU)");
		return;
	}
	const char *wait = frame_name(p, r->wait_frame);
	const char *sys = frame_name(p, r->syscall_frame);
	const char *user = frame_name(p, r->user_frame);
	int n = 0;
	if (wait && (!sys || wait != sys))
		n = snprintf(out, size, "%s", wait);
	if (sys && n >= 0 && (size_t)n < size)
		n += snprintf(out + n, size - n, n ? " in %s()" : "%s()", syscall_name(sys));
	if (user && n >= 0 && (size_t)n < size)
		n += snprintf(out + n, size - n, n ? " from %s" : "%s", user);
	if (n == 0)
		snprintf(out, size, "[no stack]");
}

/* Case-insensitive substring. */
static bool name_has(const char *name, const char *word)
{
	size_t lw = strlen(word);
	for (const char *s = name; *s; s++) {
		size_t k = 0;
		while (k < lw && s[k] && tolower((unsigned char)s[k]) == word[k])
			k++;
		if (k == lw)
			return true;
	}
	return false;
}

const char *timeacct_role(const char *name, bool is_main)
{
	if (is_main)
		return "main";
	static const struct { const char *words; const char *role; } table[] = {
		{ "gc|finaliz|reaper|sweep|collector", "garbage collector" },
		{ "jit|compiler|c1 |c2 |c1-|c2-", "JIT compiler" },
		{ "log", "logging" },
		{ "timer|cron|tick|clock", "timer" },
		{ "signal|sigwait", "signal handler" },
		{ "net|http|grpc|rpc|epoll|reactor|event|poll|socket|listen|accept|conn|server",
		  "network / event loop" },
		{ "worker|pool|exec|thread-|task|job", "worker pool" },
		{ "io-|-io|io_|_io|disk|aio|fsync|flush|writer|reader|file|blk", "I/O" },
		{ "prof|trace|monitor|stat", "profiler / tracer" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		char words[128];
		snprintf(words, sizeof(words), "%s", table[i].words);
		for (char *save = NULL, *w = strtok_r(words, "|", &save); w;
		     w = strtok_r(NULL, "|", &save))
			if (name_has(name, w))
				return table[i].role;
	}
	return "";
}
