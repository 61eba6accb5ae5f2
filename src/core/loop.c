#include "core/loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>
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

int loop_run(struct loop *l)
{
	struct epoll_event evs[32];
	while (!l->quit) {
		int n = epoll_wait(l->epfd, evs, (int)ARRAY_SIZE(evs), -1);
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
