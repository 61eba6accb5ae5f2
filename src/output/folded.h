/* Folded stacks: the text format of Brendan Gregg's flamegraph.pl, one line per stack,
 *
 *     root;caller;callee 1234
 *
 * frames root first, separated by ';', then one space and the stack's weight — in profkit
 * files always microseconds, so that on-CPU and off-CPU stacks are comparable.
 *
 * Frame labels. A frame is written as its name, then
 *   "_[k]"          for a kernel frame (flamegraph.pl's convention),
 *   " (MODULE)"     for a Python frame with a file (py-spy's convention),
 *   "_[c]" / "_[o]" for a frame seen on / off the CPU (always last).
 * Names cannot hold the two characters the format uses: ';' becomes ':' and every control
 * character (newline, CR, tab, the rest of C0, DEL) becomes '?'. Everything else, invalid
 * UTF-8 included, is written as is (the SVG writer escapes it). The reader undoes the
 * suffixes, so write → read gives back the same frames, with three documented losses:
 * the replaced characters, modules of non-Python frames (not written), and a name that
 * itself ends in a suffix (read as that suffix).
 *
 * Reading. Decided once for every caller: a malformed line is skipped and counted, and the
 * first one is reported with its line number and reason — one bad line in a million should
 * not lose a profile. FOLDED_STRICT turns the first malformed line into an error instead.
 *   - blank lines (only spaces and tabs) are ignored and not counted as malformed;
 *   - CRLF line ends are accepted; a last line without a newline is read;
 *   - the count is the last space- or tab-separated token: decimal digits, optionally a
 *     fraction (rounded to the nearest integer, as flamegraph.pl accepts "12.5");
 *   - malformed: no count, a count that is not a number, a count above UINT64_MAX, an empty
 *     stack or an empty frame (";;"), more than STACK_MAX_DEPTH frames, a NUL byte, a stack
 *     (the line before its count) longer than FOLDED_MAX_LINE bytes, and a count that
 *     would take the profile's total past UINT64_MAX. The writer never makes a stack
 *     longer than the reader took it, so whatever was read can be written and read back. */
#ifndef PK_OUTPUT_FOLDED_H
#define PK_OUTPUT_FOLDED_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "stack/profile.h"
#include "util/strbuf.h"

#define FOLDED_MAX_LINE (1u << 20)

enum folded_flags {
	FOLDED_STRICT = 1 << 0, /* the first malformed line is an error (-EINVAL) */
};

struct folded_result {
	size_t lines;          /* lines seen, blank ones included */
	size_t stacks;         /* lines added to the profile */
	size_t skipped;        /* malformed lines (skipped, or the failing one when strict) */
	size_t first_bad_line; /* 1-based line number of the first malformed line; 0: none */
	const char *first_bad_reason; /* a static phrase ("count is not a number"); NULL: none */
};

/* Parses len bytes of folded text (need not be NUL-terminated) into p, every stack under
 * thread tid (0: no particular thread). Returns 0, also when lines were skipped (see
 * ret->skipped); -EINVAL with FOLDED_STRICT at the first malformed line; -ENOSPC when p
 * reaches one of its limits, -ENOMEM. ret is filled in every case (the line of a fatal
 * error in first_bad_line). Lines already read stay in p after an error. */
int folded_read(struct stack_profile *p, const char *data, size_t len, pid_t tid,
		unsigned flags, struct folded_result *ret);

/* Appends the folded lines of thread tid (all_threads: of every thread, weights of the
 * same stack summed) to out, sorted by their text, one per stack with a non-zero weight.
 * -ENOMEM (out->failed) on allocation failure. */
int folded_write(struct strbuf *out, const struct stack_profile *p, pid_t tid,
		 bool all_threads);

/* Appends the label of one frame as the writer writes it (see above). */
void folded_add_frame(struct strbuf *out, const struct stack_frame *f);

#endif
