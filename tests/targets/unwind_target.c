/* unwind_target [thread]: captures its own registers and stack at the bottom of
 * main → level_a → level_b → level_c (or start_thread → thread_main → level_a → ... with
 * "thread") and writes them to stdout as struct unwind_capture + the stack bytes (see
 * unwind_capture.h); then waits for stdin to close and exits. Built -O2
 * -fomit-frame-pointer -g0: only .eh_frame tells how to unwind it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "unwind_capture.h"

#define STACK_WANT (32 * 1024)

static struct unwind_capture cap;
static uint8_t stack_copy[STACK_WANT];
static volatile int sink;

static int write_all(const void *p, size_t len)
{
	const char *s = p;
	while (len) {
		ssize_t n = write(1, s, len);
		if (n <= 0)
			return -1;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

UNWIND_NOINLINE static int level_c(int x)
{
	UNWIND_CAPTURE_REGS(cap.r);
	cap.expect[1] = (uint64_t)(uintptr_t)__builtin_return_address(0);
	cap.stack_size = unwind_stack_avail(cap.r[7], STACK_WANT);
	unwind_copy_stack(stack_copy, cap.r[7], cap.stack_size);
	cap.expect[0] = cap.r[16];
	return x + sink;
}

UNWIND_NOINLINE static int level_b(int x)
{
	cap.expect[2] = (uint64_t)(uintptr_t)__builtin_return_address(0);
	return level_c(x * 3) + 1;
}

UNWIND_NOINLINE static int level_a(int x)
{
	cap.expect[3] = (uint64_t)(uintptr_t)__builtin_return_address(0);
	return level_b(x + 7) * 2;
}

/* Sends the capture, then waits for stdin to close. */
static int report(void)
{
	cap.magic = UNWIND_CAPTURE_MAGIC;
	cap.pid = (uint64_t)getpid();
	cap.tid = (uint64_t)syscall(SYS_gettid);
	cap.valid = UNWIND_CAPTURE_VALID;
	if (write_all(&cap, sizeof(cap)) < 0 || write_all(stack_copy, cap.stack_size) < 0)
		return 1;
	char c;
	while (read(0, &c, 1) > 0)
		;
	return 0;
}

UNWIND_NOINLINE static void *thread_main(void *arg)
{
	cap.expect[4] = (uint64_t)(uintptr_t)__builtin_return_address(0);
	sink = level_a(arg != NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "thread") == 0) {
		pthread_t t;
		if (pthread_create(&t, NULL, thread_main, NULL) != 0 || pthread_join(t, NULL) != 0)
			return 1;
	} else {
		cap.expect[4] = (uint64_t)(uintptr_t)__builtin_return_address(0);
		sink = level_a(argc);
	}
	return report();
}
