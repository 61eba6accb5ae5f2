/* The flamegraph: an interactive SVG drawn from a stack profile, one file that works
 * offline in any browser (its script is inline; it loads nothing).
 *
 * Each box is a frame; its width is the frame's share of the total time, and the frames
 * above it are what it called. Children are ordered by name, so the x axis is not time.
 * Colours tell the frame apart: on-CPU frames warm (red to yellow; kernel ones orange),
 * off-CPU frames ("_[o]") blue, Python frames green, markers grey; within its palette a
 * name always gets the same shade (from a hash of the name), so two graphs compare.
 *
 * Interaction: click a frame to zoom into it (its ancestors stay, dimmed; "Reset zoom" or
 * Escape undoes it); "Search" (or Ctrl-F) highlights the frames whose name matches a
 * regular expression and shows the share of time they cover ("Matched: 12.3%"); hovering
 * shows the frame's time (µs, ms or s) and share in a details line, and as a tooltip.
 *
 * Size: frames narrower than min_width pixels are not drawn; a run of such siblings is
 * merged into one grey box that says how many frames it stands for, so the file stays
 * small however many tiny stacks the profile has.
 *
 * Every name, title and subtitle goes through xml_add_escaped: markup characters become
 * entities, invalid UTF-8 and control characters become U+FFFD. The script reads names
 * back from the DOM and never builds markup from them. */
#ifndef PK_OUTPUT_FLAMEGRAPH_H
#define PK_OUTPUT_FLAMEGRAPH_H

#include <stdbool.h>
#include <sys/types.h>
#include "stack/profile.h"
#include "util/strbuf.h"

struct flamegraph_opts {
	const char *title;    /* NULL: "Flame Graph" */
	const char *subtitle; /* NULL: the totals, "on-CPU 1.23 s, off-CPU 4.56 s" */
	unsigned width;       /* of the image in pixels; 0: 1200 */
	double min_width;     /* pixels; frames narrower are merged; <= 0: 0.1 */
};

/* Appends the SVG of thread tid's samples (all_threads: of every thread) to out. An empty
 * profile gives a valid SVG that says "No samples". o may be NULL. -ENOMEM. */
int flamegraph_write(struct strbuf *out, const struct stack_profile *p, pid_t tid,
		     bool all_threads, const struct flamegraph_opts *o);

/* Appends a duration given in µs the way the flamegraph shows it: "850 µs", "12.35 ms",
 * "4.20 s". */
void flamegraph_add_duration(struct strbuf *out, uint64_t us);

#endif
