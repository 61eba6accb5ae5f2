#include "util/pidmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static size_t slot_of(pid_t pid, size_t cap)
{
	return ((uint32_t)pid * 2654435761u) & (cap - 1);
}

void *pidmap_get(const struct pidmap *m, pid_t pid)
{
	if (!m->cap || pid <= 0)
		return NULL;
	for (size_t i = slot_of(pid, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].key == pid)
			return m->slots[i].val;
		if (m->slots[i].key == 0)
			return NULL;
	}
}

static int rehash(struct pidmap *m, size_t cap)
{
	struct pidmap_slot *old = m->slots;
	size_t oldcap = m->cap;
	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots) {
		m->slots = old;
		return -ENOMEM;
	}
	m->cap = cap;
	m->used = m->live = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key > 0)
			pidmap_put(m, old[i].key, old[i].val);
	free(old);
	return 0;
}

int pidmap_put(struct pidmap *m, pid_t pid, void *val)
{
	if (pid <= 0)
		return -EINVAL;
	if ((m->used + 1) * 4 >= m->cap * 3) {
		int r = rehash(m, m->cap ? (m->live * 4 >= m->cap ? m->cap * 2 : m->cap) : 64);
		if (r < 0)
			return r;
	}
	size_t tomb = SIZE_MAX;
	for (size_t i = slot_of(pid, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].key == pid) {
			m->slots[i].val = val;
			return 0;
		}
		if (m->slots[i].key == -1 && tomb == SIZE_MAX)
			tomb = i;
		if (m->slots[i].key == 0) {
			if (tomb != SIZE_MAX)
				i = tomb;
			else
				m->used++;
			m->slots[i].key = pid;
			m->slots[i].val = val;
			m->live++;
			return 0;
		}
	}
}

void *pidmap_del(struct pidmap *m, pid_t pid)
{
	if (!m->cap || pid <= 0)
		return NULL;
	for (size_t i = slot_of(pid, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].key == pid) {
			void *v = m->slots[i].val;
			m->slots[i].key = -1;
			m->slots[i].val = NULL;
			m->live--;
			return v;
		}
		if (m->slots[i].key == 0)
			return NULL;
	}
}

int pidmap_next(const struct pidmap *m, size_t *iter, pid_t *ret_pid, void **ret_val)
{
	for (; *iter < m->cap; (*iter)++) {
		if (m->slots[*iter].key > 0) {
			if (ret_pid)
				*ret_pid = m->slots[*iter].key;
			if (ret_val)
				*ret_val = m->slots[*iter].val;
			(*iter)++;
			return 1;
		}
	}
	return 0;
}

void pidmap_free(struct pidmap *m)
{
	free(m->slots);
	*m = (struct pidmap){ 0 };
}
