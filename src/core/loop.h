/* The one event loop: every source (ticks, child pipes, signals, pidfds, later perf and BPF
 * buffers and the prompt) is a file descriptor in one epoll set. */
#ifndef PK_CORE_LOOP_H
#define PK_CORE_LOOP_H

#include <stdint.h>

struct loop;
/* Return < 0 to stop the loop with that error. */
typedef int (*loop_fd_fn)(struct loop *loop, int fd, uint32_t events, void *data);

int loop_new(struct loop **ret);
struct loop *loop_free(struct loop *loop);
int loop_add(struct loop *loop, int fd, uint32_t events, loop_fd_fn fn, void *data);
/* Safe from inside a handler, including the handler of fd itself. */
int loop_del(struct loop *loop, int fd);
/* Runs until loop_quit() (which may come before the call: then it returns at once) or a
 * handler error; returns 0 or that error. */
int loop_run(struct loop *loop);
void loop_quit(struct loop *loop);

#endif
