/* CSV files written a tick at a time: each tick's rows go out in one write(), and a write
 * that fails half-way (disk full) is cut back so that no torn row is left behind. */
#ifndef PK_OUTPUT_CSV_H
#define PK_OUTPUT_CSV_H

#include <stdint.h>
#include <sys/types.h>
#include "util/strbuf.h"

struct out_file {
	int fd;
	off_t size; /* bytes known to be complete on disk */
	struct strbuf pending;
	uint64_t rows;
};

/* RFC 4180: quote a field holding a comma, quote, CR or LF; double the quotes. */
void csv_add_field(struct strbuf *sb, const char *s);

void out_file_init(struct out_file *f, int fd);
/* Writes pending bytes; on failure truncates back to the last complete flush and returns
 * -errno (-ENOSPC for a full disk). The pending bytes are dropped either way. */
int out_file_flush(struct out_file *f);
void out_file_close(struct out_file *f);
/* write() until done; -errno on failure. */
int write_all(int fd, const void *buf, size_t len);

#endif
