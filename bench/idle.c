/* An idle target for the benchmarks: a process that only waits for a signal. Its short,
 * unique name (pk_bench_idle) lets the by-name benchmarks find exactly these processes. */
#include <unistd.h>

int main(void)
{
	for (;;)
		pause();
}
