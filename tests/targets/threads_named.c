/* threads_named SECONDS: three named threads besides main, each with its own way of
 * spending SECONDS: "worker-cpu" computes, "io-sleeper" sleeps in 10 ms steps, and
 * "pipe-waiter" blocks in read() on a pipe that main writes to at the end. Prints
 * "ready PID" once the threads are named. */
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include "common.h"

static double seconds;
static int fds[2];

static void *worker_cpu(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "worker-cpu");
	spin_for(seconds);
	return NULL;
}

static void *io_sleeper(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "io-sleeper");
	double end = now_s() + seconds;
	while (now_s() < end)
		sleep_s(0.01);
	return NULL;
}

static void *pipe_waiter(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "pipe-waiter");
	char c;
	while (read(fds[0], &c, 1) < 0)
		;
	return NULL;
}

int main(int argc, char **argv)
{
	seconds = arg_double(argc, argv, 1, 2);
	if (pipe(fds) < 0)
		return 1;
	pthread_t t[3];
	pthread_create(&t[0], NULL, worker_cpu, NULL);
	pthread_create(&t[1], NULL, io_sleeper, NULL);
	pthread_create(&t[2], NULL, pipe_waiter, NULL);
	sleep_s(0.05);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	sleep_s(seconds);
	if (write(fds[1], "x", 1) != 1)
		return 1;
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	return 0;
}
