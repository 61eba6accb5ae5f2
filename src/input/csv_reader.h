/* An RFC 4180 CSV reader for files that may be large, hand-edited or hostile.
 *
 * The file is mapped, not read: a record's fields are views into the mapping (or, for a
 * quoted field with doubled quotes, into one scratch buffer reused for every record), so
 * reading a million rows allocates nothing per field. The first record is the header; its
 * names map to column indexes. Lines end in LF or CRLF; quoted fields may hold commas,
 * quotes ("") and line ends. Every error names file:line:column. */
#ifndef PK_INPUT_CSV_READER_H
#define PK_INPUT_CSV_READER_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/strbuf.h"

#define CSV_ERROR_MAX 512

struct csv_field {
	size_t src; /* offset of its first byte (the opening quote, if quoted) in the data */
	size_t off; /* of its content: into the data, or the scratch buffer when unescaped */
	uint32_t len;
	bool unescaped; /* lives in the scratch buffer */
};

struct csv_reader {
	const char *name; /* for messages: the path as the user gave it */
	const char *data;
	size_t len;
	size_t pos;    /* next byte to read */
	uint64_t line; /* line of the next record (1-based) */
	bool mapped;   /* data is an mmap of the file (else malloc'd or borrowed) */
	bool owned;    /* data must be released */

	char **names; /* header, NUL-terminated copies */
	size_t ncols;

	/* The current record. */
	struct csv_field *fields;
	size_t nfields, fields_cap;
	size_t rec_start; /* offset of its first byte */
	uint64_t rec_line;
	bool rec_complete; /* ended by a line end (false: the file ended inside it) */
	bool rec_quoted;   /* has a quoted field (which may hold line ends) */
	struct strbuf scratch;

	char error[CSV_ERROR_MAX]; /* "file:line:column: what", set when a call fails */
};

/* Maps the file at path (reads it when it cannot be mapped, e.g. a pipe) and reads the
 * header. -ENODATA for an empty file, -EINVAL for a bad header, -errno for I/O; the reason
 * is in r->error either way. Call csv_reader_close() in every case. */
int csv_reader_open(struct csv_reader *r, const char *path);
/* The same over len bytes that the caller keeps alive (tests, the fuzzer). */
int csv_reader_open_mem(struct csv_reader *r, const char *name, const void *data, size_t len);
void csv_reader_close(struct csv_reader *r);

/* Index of the header column called name, or -1. */
int csv_reader_column(const struct csv_reader *r, const char *name);

/* Reads the next record. 1: a record; 0: end of file; -EINVAL: malformed (r->error). Empty
 * lines are skipped. A last record that the file ends inside of (no line end: a recording
 * that was killed mid-write) is still returned, with rec_complete false, for the caller
 * to drop or keep. The field count is not checked here: see csv_reader_check_width(). */
int csv_reader_next(struct csv_reader *r);
/* Goes back to a record seen before: off is its rec_start and line its rec_line; the next
 * csv_reader_next() reads it again. -EINVAL for an offset outside the data. */
int csv_reader_seek(struct csv_reader *r, size_t off, uint64_t line);
/* -EINVAL (r->error set) when the record does not have one field per header column. */
int csv_reader_check_width(struct csv_reader *r);

/* The field's bytes (not NUL-terminated) and length; "" past the last field. Inline: the
 * loader asks for a dozen fields of every row. */
static inline const char *csv_reader_field(const struct csv_reader *r, size_t col, size_t *ret_len)
{
	if (col >= r->nfields) {
		*ret_len = 0;
		return "";
	}
	const struct csv_field *f = &r->fields[col];
	*ret_len = f->len;
	return (f->unescaped ? r->scratch.buf : r->data) + f->off;
}
/* Parses len bytes as a decimal number (optional sign, digits, fraction, exponent); the
 * result is correctly rounded. -EINVAL when the bytes are not exactly such a number,
 * -ERANGE when it does not fit a double. */
int csv_parse_double(const char *s, size_t len, double *ret);
/* Sets r->error for a field that csv_parse_double() refused with code; returns -EINVAL. */
int csv_reader_number_error(struct csv_reader *r, size_t col, int code);

/* A number in plain decimal or exponent notation. 0: *ret set; -ENODATA: the field is
 * empty (a value that was unreadable when recorded); -EINVAL: not a number (r->error
 * names the line, column and header name). inf, nan and hex are not numbers here. Inline:
 * it runs for most fields of every row. */
static inline int csv_reader_double(struct csv_reader *r, size_t col, double *ret)
{
	size_t len;
	const char *s = csv_reader_field(r, col, &len);
	if (!len)
		return -ENODATA;
	int e = csv_parse_double(s, len, ret);
	return e ? csv_reader_number_error(r, col, e) : 0;
}
/* Sets r->error to "file:line:column: <column name>: <what>" for field col of the current
 * record; returns -EINVAL. */
int csv_reader_field_error(struct csv_reader *r, size_t col, const char *what);

#endif
