/* A pool of NUL-terminated strings named by their 32-bit offset: symbol tables keep many
 * thousands of names in one allocation and refer to each with 4 bytes. */
#ifndef PK_UTIL_STRPOOL_H
#define PK_UTIL_STRPOOL_H

#include <stddef.h>
#include <stdint.h>

struct strpool {
	char *buf;
	size_t len, cap;
};

/* Appends n bytes of s and a NUL; their offset in *ret. -ENOMEM, also when the pool would
 * pass 4 GiB (offsets are 32 bits). The pool's buffer may move: keep offsets, not pointers. */
int strpool_add(struct strpool *p, const char *s, size_t n, uint32_t *ret);
void strpool_free(struct strpool *p);

#endif
