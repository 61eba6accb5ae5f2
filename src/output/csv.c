#include "output/csv.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void csv_add_field(struct strbuf *sb, const char *s)
{
	if (!s[strcspn(s, ",\"\r\n")]) {
		sb_adds(sb, s);
		return;
	}
	sb_addc(sb, '"');
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			sb_addc(sb, '"');
		sb_addc(sb, *p);
	}
	sb_addc(sb, '"');
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void out_file_init(struct out_file *f, int fd)
{
	*f = (struct out_file){ .fd = fd, .pending = STRBUF_INIT };
}

int out_file_flush(struct out_file *f)
{
	if (f->pending.failed) {
		sb_reset(&f->pending);
		return -ENOMEM;
	}
	if (!f->pending.len)
		return 0;
	int r = write_all(f->fd, f->pending.buf, f->pending.len);
	if (r < 0) {
		/* Keep whole rows only. */
		if (ftruncate(f->fd, f->size) == 0)
			lseek(f->fd, f->size, SEEK_SET);
	} else {
		f->size += (off_t)f->pending.len;
	}
	sb_reset(&f->pending);
	return r;
}

void out_file_close(struct out_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	sb_free(&f->pending);
}
