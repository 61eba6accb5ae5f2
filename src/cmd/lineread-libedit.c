/* The prompt's line reader on libedit's readline interface, in callback mode so that the
 * terminal stays one descriptor of the event loop. */
#include "cmd/lineread.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <editline/readline.h>

struct lineread {
	lineread_fn fn;
	void *userdata;
	char *prompt;
	char *last; /* the previous history entry, not to add twice */
	bool in_handler;
};

/* readline's callback takes no user data: the one reader that is installed. */
static struct lineread *installed;

static void on_line(char *line)
{
	struct lineread *lr = installed;
	if (!lr)
		return;
	if (line && *line && (!lr->last || strcmp(lr->last, line) != 0)) {
		add_history(line);
		free(lr->last);
		lr->last = strdup(line);
	}
	lr->in_handler = true;
	lr->fn(lr->userdata, line);
	lr->in_handler = false;
	free(line);
	/* A fresh prompt and an empty line buffer under the command's output. */
	if (installed == lr && line) {
		rl_callback_handler_remove();
		rl_callback_handler_install(lr->prompt, on_line);
	}
}

int lineread_new(const char *prompt, lineread_fn fn, void *userdata, struct lineread **ret)
{
	if (installed)
		return -EBUSY;
	struct lineread *lr = calloc(1, sizeof(*lr));
	if (!lr || !(lr->prompt = strdup(prompt))) {
		free(lr);
		return -ENOMEM;
	}
	lr->fn = fn;
	lr->userdata = userdata;
	installed = lr;
	using_history();
	rl_catch_signals = 0;
	rl_callback_handler_install(lr->prompt, on_line);
	*ret = lr;
	return 0;
}

struct lineread *lineread_free(struct lineread *lr)
{
	if (!lr)
		return NULL;
	rl_callback_handler_remove();
	installed = NULL;
	free(lr->prompt);
	free(lr->last);
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
	(void)lr;
	rl_callback_read_char();
}

void lineread_hide(struct lineread *lr)
{
	(void)lr;
	fputs("\r\033[K", stdout);
	fflush(stdout);
}

void lineread_show(struct lineread *lr)
{
	if (!lr->in_handler)
		rl_forced_update_display();
}

const char *lineread_kind(void) { return "libedit"; }
