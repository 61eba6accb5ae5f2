/* examples/counters.c: count a command's events with libprofkit, sampled every 100 ms.
 *
 *   cc counters.c $(pkg-config --cflags --libs profkit) -o counters
 *   ./counters '{task-clock,page-faults},context-switches,cycles' -- ls -R /usr/share
 *
 * Prints one line per sample (ms since exec, then each counter), says which events this
 * machine cannot count and why, and exits with the command's status. */
#include <profkit/counters.h>
#include <stdio.h>
#include <string.h>

static int print_sample(void *userdata, uint64_t elapsed_ns, const struct pk_count *counts,
			size_t n)
{
	const struct pk_counters *c = userdata;
	printf("%9.1f ms", (double)elapsed_ns / 1e6);
	for (size_t i = 0; i < n; i++) {
		if (pk_counters_info(c, i)->status == 0)
			printf("  %12llu", (unsigned long long)counts[i].value);
		else
			printf("  %12s", "-");
	}
	putchar('\n');
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4 || strcmp(argv[2], "--") != 0) {
		fprintf(stderr, "usage: %s EVENTS -- COMMAND [ARGS...]\n", argv[0]);
		return 2;
	}
	struct pk_ctx *ctx;
	struct pk_counters *c;
	if (pk_ctx_new(&ctx) < 0)
		return 1;
	int r = pk_counters_new(ctx, argv[1], &c);
	if (r < 0) {
		fprintf(stderr, "%s\n", pk_ctx_errmsg(ctx));
		pk_ctx_free(ctx);
		return 2;
	}
	printf("%12s", "elapsed");
	for (size_t i = 0; i < pk_counters_count(c); i++)
		printf("  %12s", pk_counters_info(c, i)->name);
	putchar('\n');

	int status = 0;
	r = pk_counters_run(c, argv + 3, 100 * 1000000ULL, 0, print_sample, c, &status);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", pk_strerror(r), pk_ctx_errmsg(ctx));
		status = 1;
	}
	for (size_t i = 0; r >= 0 && i < pk_counters_count(c); i++) {
		const struct pk_counter_info *info = pk_counters_info(c, i);
		if (info->status < 0)
			fprintf(stderr, "%s: %s\n", info->name, info->reason);
	}
	pk_counters_free(c);
	pk_ctx_free(ctx);
	return status;
}
