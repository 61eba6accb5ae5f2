/* An open-addressing hash map from PID to pointer, for the process tables that are looked
 * up for every /proc entry on every tick. */
#ifndef PK_UTIL_PIDMAP_H
#define PK_UTIL_PIDMAP_H

#include <stddef.h>
#include <sys/types.h>

struct pidmap {
	struct pidmap_slot {
		pid_t key; /* 0: empty, -1: deleted */
		void *val;
	} *slots;
	size_t cap, used, live;
};

void *pidmap_get(const struct pidmap *m, pid_t pid);
int pidmap_put(struct pidmap *m, pid_t pid, void *val); /* replaces; -ENOMEM */
void *pidmap_del(struct pidmap *m, pid_t pid);           /* returns the old value */
/* Iterate: for (size_t i = 0; pidmap_next(m, &i, &pid, &val);) */
int pidmap_next(const struct pidmap *m, size_t *iter, pid_t *ret_pid, void **ret_val);
void pidmap_free(struct pidmap *m);

#endif
