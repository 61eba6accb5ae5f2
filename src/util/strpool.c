/* A pool of NUL-terminated strings named by their offset (see strpool.h). */
#include "util/strpool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define STRPOOL_FIRST_CAP 4096

int strpool_add(struct strpool *p, const char *s, size_t n, uint32_t *ret)
{
	if (p->len + n + 1 > UINT32_MAX)
		return -ENOMEM;
	if (p->len + n + 1 > p->cap) {
		size_t cap = p->cap ? p->cap : STRPOOL_FIRST_CAP;
		while (cap < p->len + n + 1)
			cap *= 2;
		char *b = realloc(p->buf, cap);
		if (!b)
			return -ENOMEM;
		p->buf = b;
		p->cap = cap;
	}
	memcpy(p->buf + p->len, s, n);
	p->buf[p->len + n] = '\0';
	*ret = (uint32_t)p->len;
	p->len += n + 1;
	return 0;
}

void strpool_free(struct strpool *p)
{
	free(p->buf);
	*p = (struct strpool){ 0 };
}
