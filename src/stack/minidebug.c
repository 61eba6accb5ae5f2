/* MiniDebugInfo: the .gnu_debugdata section (Fedora, RHEL) is an xz-compressed ELF image
 * holding a .symtab of the functions .dynsym lacks. Decompressed with liblzma into memory,
 * bounded in size and in the decoder's memory, since the section is untrusted input. */
#include "stack/symbolize_int.h"

#include <errno.h>
#include <lzma.h>
#include <stdlib.h>

#define DECODER_MEMLIMIT (64u << 20) /* xz -9 needs 65 MiB to compress, 9 MiB to decode */

static int lzma_errno(lzma_ret r)
{
	switch (r) {
	case LZMA_MEM_ERROR:
		return -ENOMEM;
	case LZMA_MEMLIMIT_ERROR:
		return -EFBIG;
	default:
		return -EINVAL;
	}
}

int minidebug_decompress(const void *in, size_t len, void **ret, size_t *ret_len)
{
	lzma_stream strm = LZMA_STREAM_INIT;
	lzma_ret lr = lzma_stream_decoder(&strm, DECODER_MEMLIMIT, 0);
	if (lr != LZMA_OK)
		return lzma_errno(lr);
	size_t cap = len * 4 > 4096 ? len * 4 : 4096;
	if (cap > MINIDEBUG_MAX_SIZE)
		cap = MINIDEBUG_MAX_SIZE;
	unsigned char *out = malloc(cap);
	int r = out ? 0 : -ENOMEM;
	strm.next_in = in;
	strm.avail_in = len;
	while (r == 0) {
		if (strm.total_out == cap) {
			if (cap == MINIDEBUG_MAX_SIZE) {
				r = -EFBIG;
				break;
			}
			cap = cap * 2 < MINIDEBUG_MAX_SIZE ? cap * 2 : MINIDEBUG_MAX_SIZE;
			unsigned char *p = realloc(out, cap);
			if (!p) {
				r = -ENOMEM;
				break;
			}
			out = p;
		}
		strm.next_out = out + strm.total_out;
		strm.avail_out = cap - strm.total_out;
		/* All input is there: LZMA_FINISH lets a truncated stream fail, not stall. */
		lr = lzma_code(&strm, LZMA_FINISH);
		if (lr == LZMA_STREAM_END)
			break;
		if (lr != LZMA_OK)
			r = lzma_errno(lr);
	}
	size_t n = strm.total_out;
	lzma_end(&strm);
	if (r < 0) {
		free(out);
		return r;
	}
	*ret = out;
	*ret_len = n;
	return 0;
}
