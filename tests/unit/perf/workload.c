/* perf_workload PAGES SLEEPS SPIN_MILLIONS CHILD_PAGES: a deterministic load for comparing
 * counters with perf stat. Touches PAGES fresh anonymous pages (one page fault each),
 * sleeps SLEEPS times for 100 us (one context switch each), runs a fixed loop of
 * SPIN_MILLIONS million iterations (task-clock), then forks a child that touches
 * CHILD_PAGES pages (inherited counters see it) and waits for it. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void touch(long pages)
{
	if (pages <= 0)
		return;
	long psz = sysconf(_SC_PAGESIZE);
	volatile char *p = mmap(NULL, (size_t)(pages * psz), PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	for (long i = 0; i < pages; i++)
		p[i * psz] = 1;
	munmap((void *)p, (size_t)(pages * psz));
}

int main(int argc, char **argv)
{
	long pages = argc > 1 ? atol(argv[1]) : 1000;
	long sleeps = argc > 2 ? atol(argv[2]) : 0;
	long spin = argc > 3 ? atol(argv[3]) : 0;
	long child_pages = argc > 4 ? atol(argv[4]) : 0;
	touch(pages);
	for (long i = 0; i < sleeps; i++) {
		struct timespec ts = { 0, 100000 };
		nanosleep(&ts, NULL);
	}
	volatile unsigned long x = 0;
	for (long i = 0; i < spin * 1000000; i++)
		x += (unsigned long)i;
	if (x == 1)
		puts("");
	if (child_pages > 0) {
		pid_t pid = fork();
		if (pid == 0) {
			touch(child_pages);
			_exit(0);
		}
		waitpid(pid, NULL, 0);
	}
	return 0;
}
