#include "core/loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include "core/clock.h"
#include "util/macro.h"

struct watch {
	int fd;
	loop_fd_fn fn; /* NULL once deleted; freed after the current dispatch */
	void *data;
	struct watch *next;
};

struct loop {
	int epfd;
	bool quit;
	struct watch *watches; /* all live watches */
	struct watch *dead;    /* deleted during a dispatch, freed after it */
	uint64_t timer_at;     /* 0: no timer */
	loop_timer_fn timer_fn;
	void *timer_data;
	bool no_pwait2;        /* a kernel before 5.11: millisecond timeouts */
};

int loop_new(struct loop **ret)
{
	struct loop *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int r = neg_errno();
		free(l);
		return r;
	}
	clock_tight_timer_slack(); /* epoll's timeouts use the thread's timer slack */
	*ret = l;
	return 0;
}

static void free_list(struct watch *w)
{
	while (w) {
		struct watch *n = w->next;
		free(w);
		w = n;
	}
}

struct loop *loop_free(struct loop *l)
{
	if (!l)
		return NULL;
	close(l->epfd);
	free_list(l->watches);
	free_list(l->dead);
	free(l);
	return NULL;
}

int loop_add(struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *data)
{
	struct watch *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct watch){ .fd = fd, .fn = fn, .data = data, .next = l->watches };
	struct epoll_event ev = { .events = events, .data.ptr = w };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int r = neg_errno();
		free(w);
		return r;
	}
	l->watches = w;
	return 0;
}

int loop_del(struct loop *l, int fd)
{
	for (struct watch **p = &l->watches; *p; p = &(*p)->next) {
		struct watch *w = *p;
		if (w->fd != fd)
			continue;
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		*p = w->next;
		w->fn = NULL;
		w->next = l->dead;
		l->dead = w;
		return 0;
	}
	return -ENOENT;
}

void loop_quit(struct loop *l) { l->quit = true; }

void loop_set_timer(struct loop *l, uint64_t at_ns, loop_timer_fn fn, void *data)
{
	l->timer_at = at_ns;
	l->timer_fn = fn;
	l->timer_data = data;
}

static void fire_timer(struct loop *l)
{
	if (!l->timer_at)
		return;
	uint64_t now = clock_mono_ns();
	if (now < l->timer_at)
		return;
	l->timer_at = 0; /* the handler sets the next one */
	l->timer_fn(l, now, l->timer_data);
}

/* epoll_wait until the fds have events or the timer is due. */
static int wait_events(struct loop *l, struct epoll_event *evs, int max)
{
	if (!l->timer_at)
		return epoll_wait(l->epfd, evs, max, -1);
	uint64_t now = clock_mono_ns();
	uint64_t left = l->timer_at > now ? l->timer_at - now : 0;
	if (!l->no_pwait2) {
		struct timespec ts = { (time_t)(left / NSEC_PER_SEC), (long)(left % NSEC_PER_SEC) };
		int n = epoll_pwait2(l->epfd, evs, max, &ts, NULL);
		if (n >= 0 || errno != ENOSYS)
			return n;
		l->no_pwait2 = true;
	}
	uint64_t ms = (left + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC;
	return epoll_wait(l->epfd, evs, max, ms > INT32_MAX ? INT32_MAX : (int)ms);
}

int loop_run(struct loop *l)
{
	struct epoll_event evs[32];
	while (!l->quit) {
		/* Then wait, even when the next tick is due already (a timeout of 0): a loop
		 * that is always late still reads its fds. */
		fire_timer(l);
		if (l->quit)
			break;
		int n = wait_events(l, evs, (int)ARRAY_SIZE(evs));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return neg_errno();
		}
		for (int i = 0; i < n && !l->quit; i++) {
			struct watch *w = evs[i].data.ptr;
			if (!w->fn)
				continue;
			int r = w->fn(l, w->fd, evs[i].events, w->data);
			if (r < 0)
				return r;
		}
		free_list(l->dead);
		l->dead = NULL;
	}
	return 0;
}
