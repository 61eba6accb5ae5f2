/* The one event loop: every source (child pipes, signals, pidfds, perf and BPF buffers, the
 * prompt) is a file descriptor in one epoll set, and the ticks are the timeout of its wait. */
#ifndef PK_CORE_LOOP_H
#define PK_CORE_LOOP_H

#include <stdint.h>

struct loop;
/* Return < 0 to stop the loop with that error. */
typedef int (*loop_fd_fn)(struct loop *loop, int fd, uint32_t events, void *data);
/* now_ns: CLOCK_MONOTONIC when the timer was found due. */
typedef void (*loop_timer_fn)(struct loop *loop, uint64_t now_ns, void *data);

int loop_new(struct loop **ret);
struct loop *loop_free(struct loop *loop);
int loop_add(struct loop *loop, int fd, uint32_t events, loop_fd_fn fn, void *data);
/* Safe from inside a handler, including the handler of fd itself. */
int loop_del(struct loop *loop, int fd);
/* Runs until loop_quit() (which may come before the call: then it returns at once) or a
 * handler error; returns 0 or that error. */
int loop_run(struct loop *loop);
void loop_quit(struct loop *loop);
/* The loop's one timer, on CLOCK_MONOTONIC: fn runs once when at_ns has passed (late if the
 * loop was busy), and the timer is off again until it is set anew; at_ns 0 turns it off.
 * The wait for the fds times out at the deadline (epoll_pwait2), so a tick costs one system
 * call and no timerfd read. loop_new() sets the timer slack to 1 ns (clock.h): a wake-up is
 * due at its deadline, not up to 50 µs after it. */
void loop_set_timer(struct loop *loop, uint64_t at_ns, loop_timer_fn fn, void *data);

#endif
