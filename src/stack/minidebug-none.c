/* Built without liblzma: MiniDebugInfo (.gnu_debugdata) is not read; such binaries give
 * their .dynsym names only. */
#include "stack/symbolize_int.h"

#include <errno.h>

int minidebug_decompress(const void *in, size_t len, void **ret, size_t *ret_len)
{
	(void)in;
	(void)len;
	(void)ret;
	(void)ret_len;
	return -ENOTSUP;
}
