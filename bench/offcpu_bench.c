/* The off-CPU eBPF collector alone, for bench/offcpu_bench.py: follows the given PIDs until
 * SIGINT or SIGTERM, then flushes and prints one line per record and the counters:
 *   ready
 *   event TID START_NS OFF_NS HOW NKERNEL STACK_SIZE
 *   stats EVENTS DROPPED SWITCHES SHORT_BLOCKS SHORT_NS
 * and with -v, after each event: "  regs RIP RSP" and "  kernel IP..." (hex).
 * usage: offcpu_bench [-v] [-m MIN_BLOCK_US] [-s STACK_BYTES] PID... */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bpf/offcpu.h"

static volatile sig_atomic_t stop;
static bool verbose;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void print_event(const struct offcpu_event *e, void *arg)
{
	(void)arg;
	printf("event %d %llu %llu %d %u %u\n", (int)e->tid, (unsigned long long)e->start_ns,
	       (unsigned long long)e->off_ns, (int)e->how, e->nkernel, e->stack_size);
	if (!verbose)
		return;
	printf("  regs %llx %llx\n  kernel", (unsigned long long)e->regs.r[UREG_RIP],
	       (unsigned long long)e->regs.r[UREG_RSP]);
	for (uint32_t i = 0; i < e->nkernel; i++)
		printf(" %llx", (unsigned long long)e->kernel_ips[i]);
	printf("\n");
}

int main(int argc, char **argv)
{
	struct offcpu_opts o = OFFCPU_OPTS_DEFAULT;
	int c;
	while ((c = getopt(argc, argv, "vm:s:")) != -1) {
		if (c == 'v')
			verbose = true;
		else if (c == 'm')
			o.min_block_ns = strtoull(optarg, NULL, 10) * 1000;
		else if (c == 's')
			o.stack_bytes = (uint32_t)strtoul(optarg, NULL, 10);
		else
			return 2;
	}
	if (optind == argc) {
		fprintf(stderr, "usage: offcpu_bench [-v] [-m MIN_BLOCK_US] [-s STACK_BYTES] PID...\n");
		return 2;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	char err[256];
	struct offcpu *oc;
	int e = offcpu_open(&o, &oc, err, sizeof(err));
	if (e < 0) {
		fprintf(stderr, "offcpu_bench: %s\n", err);
		return 1;
	}
	for (int i = optind; i < argc; i++) {
		if ((e = offcpu_add_pid(oc, atoi(argv[i]))) < 0) {
			fprintf(stderr, "offcpu_bench: pid %s: %s\n", argv[i], strerror(-e));
			offcpu_free(oc);
			return 1;
		}
	}
	printf("ready\n");
	fflush(stdout);
	struct pollfd pfd = { .fd = offcpu_fd(oc), .events = POLLIN };
	while (!stop) {
		poll(&pfd, 1, 100);
		offcpu_poll(oc, print_event, NULL);
	}
	offcpu_flush(oc);
	offcpu_poll(oc, print_event, NULL);
	struct offcpu_stats s;
	offcpu_get_stats(oc, &s);
	printf("stats %llu %llu %llu %llu %llu\n", (unsigned long long)s.events,
	       (unsigned long long)s.dropped, (unsigned long long)s.switches_seen,
	       (unsigned long long)s.short_blocks, (unsigned long long)s.short_ns);
	offcpu_free(oc);
	return fflush(stdout) == 0 ? 0 : 1;
}
