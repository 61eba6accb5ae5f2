/* The prompt's line reader without libedit: the terminal's own line editing (erase, kill),
 * no history. */
#include "cmd/lineread.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct lineread {
	lineread_fn fn;
	void *userdata;
	char *prompt;
	char buf[4096];
	size_t len;
	bool discard; /* inside a line longer than buf: dropped up to its newline */
};

int lineread_new(const char *prompt, lineread_fn fn, void *userdata, struct lineread **ret)
{
	struct lineread *lr = calloc(1, sizeof(*lr));
	if (!lr || !(lr->prompt = strdup(prompt))) {
		free(lr);
		return -ENOMEM;
	}
	lr->fn = fn;
	lr->userdata = userdata;
	fputs(lr->prompt, stdout);
	fflush(stdout);
	*ret = lr;
	return 0;
}

struct lineread *lineread_free(struct lineread *lr)
{
	if (lr)
		free(lr->prompt);
	free(lr);
	return NULL;
}

int lineread_fd(const struct lineread *lr)
{
	(void)lr;
	return STDIN_FILENO;
}

void lineread_input(struct lineread *lr)
{
	ssize_t n = read(STDIN_FILENO, lr->buf + lr->len, sizeof(lr->buf) - 1 - lr->len);
	if (n <= 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		/* The end of input: a last line without its newline still counts. */
		if (lr->len && !lr->discard) {
			lr->buf[lr->len] = '\0';
			lr->len = 0;
			lr->fn(lr->userdata, lr->buf);
		}
		lr->len = 0;
		lr->fn(lr->userdata, NULL);
		return;
	}
	lr->len += (size_t)n;
	char *nl;
	while ((nl = memchr(lr->buf, '\n', lr->len))) {
		*nl = '\0';
		if (!lr->discard)
			lr->fn(lr->userdata, lr->buf);
		lr->discard = false;
		size_t used = (size_t)(nl + 1 - lr->buf);
		memmove(lr->buf, nl + 1, lr->len - used);
		lr->len -= used;
	}
	/* A line longer than the buffer: dropped whole (its tail is not a command of its
	 * own); the caller hears of it once, as an empty line, to put the prompt back. */
	if (lr->len == sizeof(lr->buf) - 1) {
		lr->len = 0;
		if (!lr->discard)
			lr->fn(lr->userdata, "");
		lr->discard = true;
	}
}

void lineread_hide(struct lineread *lr)
{
	(void)lr;
	fputs("\r\033[K", stdout);
}

void lineread_show(struct lineread *lr)
{
	fputs(lr->prompt, stdout);
	fwrite(lr->buf, 1, lr->len, stdout);
	fflush(stdout);
}

const char *lineread_kind(void) { return "plain"; }
