/* Finding the child processes of the followed ones, for profkit py --subprocesses. */
#include "cmd/py_children.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "proc/procfs.h"
#include "util/macro.h"

enum child_state { CHILD_WAITING, CHILD_WATCHED };

struct child {
	pid_t pid;
	uint64_t starttime;  /* /proc/PID/stat's: a PID used again is another process */
	uint64_t found_ns;   /* when a scan first saw it */
	uint64_t offer_ns;   /* waiting: not offered before */
	uint64_t backoff_ns; /* waiting: the pause after the last "not yet", doubled each time */
	enum child_state state;
	bool seen;           /* in this scan */
};

struct py_children {
	char proc[PATH_MAX / 2];
	int loadavg_fd;
	pid_t last_pid;      /* /proc/loadavg's last PID at the previous scan */
	uint64_t next_ns;    /* no scan before */
	uint64_t full_ns;    /* the periodic scan after */
	bool poked;
	struct child *kids;
	size_t n, cap;
	pid_t *list;         /* scratch: the children of one process */
	size_t list_cap;
};

int py_children_new(const char *proc, struct py_children **ret)
{
	struct py_children *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	snprintf(c->proc, sizeof(c->proc), "%s", proc);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/loadavg", c->proc);
	c->loadavg_fd = open(path, O_RDONLY | O_CLOEXEC);
	c->poked = true; /* the first call scans */
	*ret = c;
	return 0;
}

struct py_children *py_children_free(struct py_children *c)
{
	if (!c)
		return NULL;
	if (c->loadavg_fd >= 0)
		close(c->loadavg_fd);
	free(c->kids);
	free(c->list);
	free(c);
	return NULL;
}

void py_children_poke(struct py_children *c) { c->poked = true; }

size_t py_children_tracked(const struct py_children *c) { return c->n; }

/* Has any process been created since the last scan? (An unreadable answer is a yes.) */
static bool last_pid_moved(struct py_children *c)
{
	char buf[128];
	pid_t last;
	ssize_t n = c->loadavg_fd < 0 ? -1 : pread(c->loadavg_fd, buf, sizeof(buf), 0);
	if (n <= 0 || procfs_parse_last_pid(buf, (size_t)n, &last) < 0)
		return true;
	if (last == c->last_pid)
		return false;
	c->last_pid = last;
	return true;
}

bool py_children_due(struct py_children *c, uint64_t now_ns)
{
	if (c->poked)
		return true;
	if (now_ns < c->next_ns)
		return false;
	c->next_ns = now_ns + PY_CHILDREN_PERIOD_NS;
	bool waiting = false;
	for (size_t i = 0; i < c->n && !waiting; i++)
		waiting = c->kids[i].state == CHILD_WAITING && c->kids[i].offer_ns <= now_ns;
	return last_pid_moved(c) || waiting || now_ns >= c->full_ns;
}

/* /proc/PID/stat's start time; 0 when it cannot be read. */
static uint64_t start_time(const struct py_children *c, pid_t pid)
{
	char path[PATH_MAX], buf[1024];
	snprintf(path, sizeof(path), "%s/%d/stat", c->proc, (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	struct proc_stat st;
	if (n <= 0 || procfs_parse_stat(buf, (size_t)n, &st) < 0)
		return 0;
	return st.starttime;
}

static int list_add(struct py_children *c, size_t *n, pid_t pid)
{
	for (size_t i = 0; i < *n; i++)
		if (c->list[i] == pid)
			return 0;
	if (*n == c->list_cap) {
		size_t cap = c->list_cap ? c->list_cap * 2 : 64;
		pid_t *l = realloc(c->list, cap * sizeof(*l));
		if (!l)
			return -ENOMEM;
		c->list = l;
		c->list_cap = cap;
	}
	c->list[(*n)++] = pid;
	return 0;
}

/* The children of every thread of pid, into c->list. */
static size_t children_of(struct py_children *c, pid_t pid)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%d/task", c->proc, (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/%d/task/%s/children", c->proc, (int)pid, e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		char buf[4096];
		size_t have = 0;
		ssize_t got;
		/* "123 456 " — read in pieces, a number may span two. */
		while ((got = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0) {
			have += (size_t)got;
			buf[have] = '\0';
			char *p = buf, *end;
			for (;;) {
				long v = strtol(p, &end, 10);
				if (end == p || (*end != ' ' && *end != '\n'))
					break; /* the rest, possibly cut */
				if (v > 0 && v <= INT_MAX && list_add(c, &n, (pid_t)v) < 0)
					break;
				p = end + 1;
			}
			have = strlen(p);
			memmove(buf, p, have);
		}
		buf[have] = '\0';
		long v = have ? strtol(buf, NULL, 10) : 0; /* the last one, without its blank */
		if (v > 0 && v <= INT_MAX)
			list_add(c, &n, (pid_t)v);
		close(fd);
	}
	closedir(d);
	return n;
}

static struct child *find(struct py_children *c, pid_t pid)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->kids[i].pid == pid)
			return &c->kids[i];
	return NULL;
}

static bool followed_has(const pid_t *followed, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (followed[i] == pid)
			return true;
	return false;
}

/* Notes the children of one process: new ones wait, known ones are seen. */
static void note_children(struct py_children *c, pid_t parent, const pid_t *followed,
			  size_t nfollowed, uint64_t now_ns)
{
	size_t n = children_of(c, parent);
	for (size_t i = 0; i < n; i++) {
		pid_t pid = c->list[i];
		if (followed_has(followed, nfollowed, pid))
			continue;
		uint64_t st = start_time(c, pid);
		if (!st)
			continue; /* gone already */
		struct child *k = find(c, pid);
		struct child fresh = { .pid = pid, .starttime = st, .found_ns = now_ns,
				       .offer_ns = now_ns + PY_CHILD_SETTLE_NS };
		if (k && k->starttime != st) /* the PID was used again */
			*k = fresh;
		if (!k) {
			if (c->n == c->cap) {
				size_t cap = c->cap ? c->cap * 2 : 16;
				if (cap > PY_CHILDREN_MAX)
					continue;
				struct child *m = realloc(c->kids, cap * sizeof(*m));
				if (!m)
					continue;
				c->kids = m;
				c->cap = cap;
			}
			k = &c->kids[c->n++];
			*k = fresh;
		}
		k->seen = true;
	}
}

void py_children_scan(struct py_children *c, const pid_t *followed, size_t n, uint64_t now_ns,
		      py_child_fn fn, void *userdata)
{
	c->poked = false;
	c->next_ns = now_ns + PY_CHILDREN_PERIOD_NS;
	c->full_ns = now_ns + PY_CHILDREN_RESCAN_NS;
	last_pid_moved(c); /* what it is now: processes created after this are news */
	for (size_t i = 0; i < c->n; i++)
		c->kids[i].seen = false;
	for (size_t i = 0; i < n; i++)
		note_children(c, followed[i], followed, n, now_ns);
	/* Children of children that are not followed (a shell, a child not Python yet): the
	 * list may grow while it is walked, which takes the grandchildren in too. */
	for (size_t i = 0; i < c->n; i++)
		note_children(c, c->kids[i].pid, followed, n, now_ns);
	size_t k = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct child *ch = &c->kids[i];
		if (!ch->seen)
			continue; /* exited, or no longer below a followed process */
		bool drop = false;
		if (ch->state == CHILD_WAITING && now_ns >= ch->offer_ns) {
			switch (fn(userdata, ch->pid)) {
			case PY_CHILD_FOLLOWED:
				drop = true;
				break;
			case PY_CHILD_NOT_YET:
				/* Tried again sooner first (an interpreter starting up), then less and
				 * less often: a child that is no Python costs a few tries. */
				ch->backoff_ns = ch->backoff_ns ? 2 * ch->backoff_ns : PY_CHILDREN_PERIOD_NS;
				ch->offer_ns = now_ns + ch->backoff_ns;
				if (now_ns - ch->found_ns >= PY_CHILD_PATIENCE_NS)
					ch->state = CHILD_WATCHED;
				break;
			case PY_CHILD_NEVER:
				ch->state = CHILD_WATCHED;
				break;
			}
		}
		if (!drop)
			c->kids[k++] = *ch;
	}
	c->n = k;
}
