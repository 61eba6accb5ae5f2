/* proc_read on real processes of this machine: the RSS it reports is the kernel's exact
 * one (status's VmRSS), not stat's approximate, per-CPU-batched counter. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "proc/proc_reader.h"

#define CHILD_MIB 16

/* A child that touched CHILD_MIB MiB and waits to be killed; returns once it has. */
static pid_t start_child_with_memory(void)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		size_t len = (size_t)CHILD_MIB << 20;
		volatile char *m = malloc(len);
		for (size_t i = 0; m && i < len; i += 512)
			m[i] = 1;
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	char c;
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

static void stop_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* VmRSS of pid in bytes, read independently of the parser under test. */
static uint64_t vm_rss(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	size_t len;
	char *s = file_read(path, &len);
	assert_non_null(s);
	const char *l = strstr(s, "\nVmRSS:");
	assert_non_null(l);
	uint64_t kb = strtoull(l + 7, NULL, 10);
	free(s);
	return kb * 1024;
}

static void test_rss_is_status_vmrss(void **state)
{
	pid_t pid = start_child_with_memory();
	int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct proc_handle h;
	assert_int_equal(proc_open(procfd, pid, false, &h), 0);
	/* Twice: the second reading goes through the hints the first one left. */
	for (int i = 0; i < 2; i++) {
		uint64_t before = vm_rss(pid);
		struct proc_sample s;
		assert_int_equal(proc_read(&h, &s), 0);
		uint64_t after = vm_rss(pid);
		assert_true(s.have & SAMPLE_HAVE_RSS);
		assert_true(s.rss_bytes >= (uint64_t)CHILD_MIB << 20);
		if (before == after) /* the child is idle: nothing moved in between */
			assert_int_equal(s.rss_bytes, before);
		/* stat's counter is never above the exact sum (it lags behind batches). */
		assert_true(s.stat.rss * (uint64_t)sysconf(_SC_PAGESIZE) <= s.rss_bytes);
	}
	proc_close(&h);
	close(procfd);
	stop_child(pid);
}

/* A zombie has no memory and no Vm lines: RSS 0, known. */
static void test_rss_of_a_zombie_is_zero(void **state)
{
	pid_t pid = start_child_with_memory();
	int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct proc_handle h;
	assert_int_equal(proc_open(procfd, pid, false, &h), 0);
	kill(pid, SIGKILL);
	struct proc_sample s = { 0 };
	for (int i = 0; i < 2000; i++) { /* up to 2 s for the kernel to tear it down */
		assert_int_equal(proc_read(&h, &s), 0);
		if (s.stat.state == 'Z')
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	assert_int_equal(s.stat.state, 'Z');
	assert_true(s.have & SAMPLE_HAVE_RSS);
	assert_int_equal(s.rss_bytes, 0);
	proc_close(&h);
	close(procfd);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rss_is_status_vmrss),
		cmocka_unit_test(test_rss_of_a_zombie_is_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
