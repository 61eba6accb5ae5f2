/* The prompt's plain line reader (src/cmd/lineread-plain.c, used by a build without
 * libedit), driven through a pipe in place of the terminal: lines that arrive in pieces,
 * several lines in one read, a line longer than its buffer (dropped whole, its tail is not
 * a command), the end of input with and without a last newline, and the prompt it prints. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "cmd/lineread.h"

#define MAX_LINES 16

struct heard {
	char *lines[MAX_LINES];
	int n;
	bool eof;
};

static void on_line(void *userdata, const char *line)
{
	struct heard *h = userdata;
	if (!line) {
		h->eof = true;
		return;
	}
	assert_true(h->n < MAX_LINES);
	h->lines[h->n++] = strdup(line);
}

static void heard_free(struct heard *h)
{
	for (int i = 0; i < h->n; i++)
		free(h->lines[i]);
	memset(h, 0, sizeof(*h));
}

struct rig {
	int in_w;          /* what the "terminal" types */
	int saved_in, saved_out;
	FILE *out;         /* what the reader printed */
	struct lineread *lr;
	struct heard h;
};

/* Stdin becomes a pipe, stdout a temporary file (cmocka's own stdout comes back after). */
static void rig_up(struct rig *r)
{
	int p[2];
	memset(r, 0, sizeof(*r));
	assert_int_equal(pipe(p), 0);
	fflush(stdout);
	r->saved_in = dup(STDIN_FILENO);
	r->saved_out = dup(STDOUT_FILENO);
	assert_true(r->saved_in >= 0 && r->saved_out >= 0);
	assert_true(dup2(p[0], STDIN_FILENO) >= 0);
	close(p[0]);
	r->in_w = p[1];
	r->out = tmpfile();
	assert_non_null(r->out);
	assert_true(dup2(fileno(r->out), STDOUT_FILENO) >= 0);
	assert_int_equal(lineread_new("profkit> ", on_line, &r->h, &r->lr), 0);
	assert_int_equal(lineread_fd(r->lr), STDIN_FILENO);
}

/* What the reader printed since the start. */
static char *printed(struct rig *r)
{
	static char buf[4096];
	fflush(stdout);
	long n = pread(fileno(r->out), buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void rig_down(struct rig *r)
{
	lineread_free(r->lr);
	fflush(stdout);
	dup2(r->saved_out, STDOUT_FILENO);
	dup2(r->saved_in, STDIN_FILENO);
	close(r->saved_out);
	close(r->saved_in);
	if (r->in_w >= 0)
		close(r->in_w);
	fclose(r->out);
	heard_free(&r->h);
}

static void type(struct rig *r, const char *text, size_t len)
{
	while (len) {
		ssize_t n = write(r->in_w, text, len);
		assert_true(n > 0);
		text += n;
		len -= (size_t)n;
	}
}

/* Feeds the reader as the event loop would: while stdin is readable. */
static void pump(struct rig *r)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	while (!r->h.eof && poll(&pfd, 1, 0) == 1)
		lineread_input(r->lr);
}

static void test_pieces_and_several(void **state)
{
	struct rig r;
	rig_up(&r);
	assert_string_equal(printed(&r), "profkit> ");
	type(&r, "sta", 3);
	pump(&r);
	assert_int_equal(r.h.n, 0); /* no newline yet */
	/* The partial line is put back with the prompt after other output. */
	lineread_show(r.lr);
	assert_string_equal(printed(&r), "profkit> profkit> sta");
	type(&r, "tus\nadd -f a b\n\nresults", 24);
	pump(&r);
	assert_int_equal(r.h.n, 3);
	assert_string_equal(r.h.lines[0], "status");
	assert_string_equal(r.h.lines[1], "add -f a b");
	assert_string_equal(r.h.lines[2], "");
	type(&r, "\n", 1);
	pump(&r);
	assert_int_equal(r.h.n, 4);
	assert_string_equal(r.h.lines[3], "results");
	assert_false(r.h.eof);
	rig_down(&r);
}

static void test_long_line_dropped_whole(void **state)
{
	struct rig r;
	rig_up(&r);
	size_t len = 10000;
	char *big = malloc(len);
	memset(big, 'x', len);
	memcpy(big + len - 5, "stop\n", 5); /* its tail looks like a command */
	type(&r, big, len);
	type(&r, "status\n", 7);
	pump(&r);
	/* One empty line for the dropped one (the prompt comes back), then the next line. */
	assert_int_equal(r.h.n, 2);
	assert_string_equal(r.h.lines[0], "");
	assert_string_equal(r.h.lines[1], "status");
	/* A line of exactly the buffer's size less one fits no more: dropped too. */
	memset(big, 'y', 4095);
	big[4095] = '\n';
	type(&r, big, 4096);
	type(&r, "exit\n", 5);
	pump(&r);
	assert_int_equal(r.h.n, 4);
	assert_string_equal(r.h.lines[2], "");
	assert_string_equal(r.h.lines[3], "exit");
	free(big);
	rig_down(&r);
}

static void test_end_of_input(void **state)
{
	struct rig r;
	rig_up(&r);
	type(&r, "stop\nexit", 9); /* Ctrl-D after "exit", without Enter */
	close(r.in_w);
	r.in_w = -1;
	pump(&r);
	assert_int_equal(r.h.n, 2);
	assert_string_equal(r.h.lines[0], "stop");
	assert_string_equal(r.h.lines[1], "exit");
	assert_true(r.h.eof);
	rig_down(&r);

	rig_up(&r);
	close(r.in_w);
	r.in_w = -1;
	pump(&r);
	assert_int_equal(r.h.n, 0);
	assert_true(r.h.eof);
	rig_down(&r);
}

static void test_hide_and_kind(void **state)
{
	struct rig r;
	rig_up(&r);
	lineread_hide(r.lr);
	assert_string_equal(printed(&r), "profkit> \r\033[K");
	assert_string_equal(lineread_kind(), "plain");
	rig_down(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pieces_and_several),
		cmocka_unit_test(test_long_line_dropped_whole),
		cmocka_unit_test(test_end_of_input),
		cmocka_unit_test(test_hide_and_kind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
