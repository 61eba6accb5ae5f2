/* counters_bench [ITERATIONS]: the cost of reading a group of 4 counters with
 * pk_counters_read() against the bare read() system call on an identical group, on this
 * process. Alternating blocks; the best block of each (the least disturbed) is compared.
 * Prints: bare_ns=... pk_ns=... ratio=... */
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "profkit/counters.h"

#define EVENTS "{task-clock,page-faults,context-switches,cpu-migrations}"

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int open_bare_group(void)
{
	static const unsigned long long cfg[] = { PERF_COUNT_SW_TASK_CLOCK, PERF_COUNT_SW_PAGE_FAULTS,
						  PERF_COUNT_SW_CONTEXT_SWITCHES,
						  PERF_COUNT_SW_CPU_MIGRATIONS };
	int leader = -1;
	for (int i = 0; i < 4; i++) {
		struct perf_event_attr a;
		memset(&a, 0, sizeof(a));
		a.size = sizeof(a);
		a.type = PERF_TYPE_SOFTWARE;
		a.config = cfg[i];
		a.read_format = PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED |
				PERF_FORMAT_TOTAL_TIME_RUNNING;
		a.inherit = 1;
		a.exclude_kernel = i == 2 ? 0 : 1;
		a.exclude_hv = 1;
		int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, leader, 0);
		if (fd < 0) {
			perror("perf_event_open");
			exit(1);
		}
		if (leader < 0)
			leader = fd;
	}
	return leader;
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 200000;
	struct pk_ctx *ctx;
	struct pk_counters *c;
	if (pk_ctx_new(&ctx) < 0 || pk_counters_new(ctx, EVENTS, &c) < 0 ||
	    pk_counters_open_pid(c, 0, PK_OPEN_ENABLE) != 0) {
		fprintf(stderr, "cannot open the counters: %s\n", pk_ctx_errmsg(ctx));
		return 1;
	}
	int fd = open_bare_group();
	uint64_t buf[3 + 4];
	struct pk_count v[4];
	double best_bare = 1e18, best_pk = 1e18;
	long block = iters / 20 > 0 ? iters / 20 : 1;
	for (int round = 0; round < 20; round++) {
		double t0 = now_ns();
		for (long i = 0; i < block; i++)
			if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
				return 1;
		double t1 = now_ns();
		for (long i = 0; i < block; i++)
			if (pk_counters_read(c, v, 4) < 0)
				return 1;
		double t2 = now_ns();
		if ((t1 - t0) / (double)block < best_bare)
			best_bare = (t1 - t0) / (double)block;
		if ((t2 - t1) / (double)block < best_pk)
			best_pk = (t2 - t1) / (double)block;
	}
	printf("bare_ns=%.1f pk_ns=%.1f ratio=%.3f\n", best_bare, best_pk, best_pk / best_bare);
	close(fd);
	pk_counters_free(c);
	pk_ctx_free(ctx);
	return 0;
}
