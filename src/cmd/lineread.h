/* Reading prompt lines from the terminal inside the event loop: with libedit (line editing
 * and history; lineread-libedit.c) or, in a build without it, a plain line reader on the
 * terminal's own line discipline (lineread-plain.c). Meson picks the file. */
#ifndef PK_CMD_LINEREAD_H
#define PK_CMD_LINEREAD_H

/* A complete line (without its newline), or NULL at the end of input. The line is only
 * valid during the call; the callee puts the prompt back with lineread_show(). */
typedef void (*lineread_fn)(void *userdata, const char *line);

struct lineread;

int lineread_new(const char *prompt, lineread_fn fn, void *userdata, struct lineread **ret);
struct lineread *lineread_free(struct lineread *lr);
/* The descriptor to watch for input, and what to call when it is readable. */
int lineread_fd(const struct lineread *lr);
void lineread_input(struct lineread *lr);
/* Around output that is not an answer to a line (a target that exited): takes the prompt
 * and the partial line off the screen, then puts them back. */
void lineread_hide(struct lineread *lr);
void lineread_show(struct lineread *lr);
/* "libedit" or "plain", for the help text. */
const char *lineread_kind(void);

#endif
