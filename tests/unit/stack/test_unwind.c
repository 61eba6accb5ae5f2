/* The DWARF unwinder on real stacks: our own (captured at the bottom of a known call chain
 * built -O2 -fomit-frame-pointer), a child's (tests/targets/unwind_target, unwound after it
 * exited, also from a deleted binary), through frames with no CFI (frame pointers), through
 * a library loaded after the process was added, on truncated copies and on garbage. Also
 * times unwind_user. x86-64 only. */
#include "unit.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "stack/maps.h"
#include "stack/unwind.h"
#include "unwind_nocfi.h"
#include "../../targets/unwind_capture.h"

#define STACK_WANT (64 * 1024)
#define MAX_FRAMES 128
#ifndef GARBAGE_ITERS
#define GARBAGE_ITERS 4000
#endif
/* Exported (the test is linked -rdynamic) so that dladdr names them. */
#define PUBLIC __attribute__((visibility("default"))) UNWIND_NOINLINE

extern char **environ;

static struct unwind_capture cap;
static uint8_t cap_stack[STACK_WANT];
static volatile int sink;

PUBLIC int unw_level_c(int x);
PUBLIC int unw_level_b(int x);
PUBLIC int unw_level_a(int x);
PUBLIC int unw_root(int x);
PUBLIC int unw_deep(int n);

/* The bottom of the chain: our registers and stack, as a perf sample would have them. */
PUBLIC int unw_level_c(int x)
{
	UNWIND_CAPTURE_REGS(cap.r);
	cap.expect[1] = (uint64_t)(uintptr_t)__builtin_return_address(0);
	cap.stack_size = unwind_stack_avail(cap.r[UREG_RSP], STACK_WANT);
	unwind_copy_stack(cap_stack, cap.r[UREG_RSP], cap.stack_size);
	cap.expect[0] = cap.r[UREG_RIP];
	cap.valid = UNWIND_CAPTURE_VALID;
	cap.pid = (uint64_t)getpid();
	cap.tid = (uint64_t)syscall(SYS_gettid);
	return x + sink;
}

PUBLIC int unw_level_b(int x)
{
	cap.expect[2] = (uint64_t)(uintptr_t)__builtin_return_address(0);
	return unw_level_c(x * 3) + 1;
}

PUBLIC int unw_level_a(int x)
{
	cap.expect[3] = (uint64_t)(uintptr_t)__builtin_return_address(0);
	return unw_level_b(x + 7) * 2;
}

PUBLIC int unw_root(int x)
{
	cap.expect[4] = (uint64_t)(uintptr_t)__builtin_return_address(0);
	return unw_level_a(x) - 1;
}

/* n more frames above unw_root; the call through a volatile pointer stays a call. */
static int (*volatile deep_next)(int) = unw_deep;
PUBLIC int unw_deep(int n)
{
	if (n <= 0)
		return unw_root(1);
	return deep_next(n - 1) + sink;
}

static void regs_of(const struct unwind_capture *c, struct user_regs *regs)
{
	memset(regs, 0, sizeof(*regs));
	for (int i = 0; i < UREG_COUNT; i++)
		regs->r[i] = c->r[i];
	regs->valid = c->valid;
}

static int unwind_capture(struct unwinder *u, const struct unwind_capture *c,
			  const uint8_t *stack, size_t size, uint64_t *ips, size_t *n)
{
	struct user_regs regs;
	regs_of(c, &regs);
	return unwind_user(u, (pid_t)c->pid, (pid_t)c->tid, &regs, stack, size, ips, MAX_FRAMES,
			   n);
}

static const char *name_of(uint64_t ip, size_t i)
{
	Dl_info info;
	/* A return address (i > 0) may be just past its function's end. */
	if (dladdr((void *)(uintptr_t)(i ? ip - 1 : ip), &info) && info.dli_sname)
		return info.dli_sname;
	return "?";
}

static void dump(const char *what, const uint64_t *ips, size_t n)
{
	print_message("%s: %zu frames\n", what, n);
	for (size_t i = 0; i < n; i++)
		print_message("  #%zu %#llx %s\n", i, (unsigned long long)ips[i], name_of(ips[i], i));
}

/* Index of the first frame at or after from named name, or -1. */
static long find_frame(const uint64_t *ips, size_t n, size_t from, const char *name)
{
	for (size_t i = from; i < n; i++)
		if (strcmp(name_of(ips[i], i), name) == 0)
			return (long)i;
	return -1;
}

static void check_chain(const struct unwind_capture *c, const uint64_t *ips, size_t n)
{
	if (n < UNWIND_CAPTURE_DEPTH)
		fail_msg("only %zu frames", n);
	for (size_t i = 0; i < UNWIND_CAPTURE_DEPTH; i++)
		if (ips[i] != c->expect[i])
			fail_msg("frame %zu: %#llx, expected %#llx", i, (unsigned long long)ips[i],
				 (unsigned long long)c->expect[i]);
}

static void test_in_process(void **state)
{
	struct unwinder *u;
	assert_int_equal(unwinder_new(&u), 0);
	assert_int_equal(unwinder_add_process(u, getpid()), 0);
	unw_root(1);
	uint64_t ips[MAX_FRAMES];
	size_t n;
	assert_int_equal(unwind_capture(u, &cap, cap_stack, cap.stack_size, ips, &n), 0);
	dump("in-process", ips, n);
	check_chain(&cap, ips, n);
	assert_string_equal(name_of(ips[0], 0), "unw_level_c");
	assert_string_equal(name_of(ips[1], 1), "unw_level_b");
	assert_string_equal(name_of(ips[2], 2), "unw_level_a");
	assert_string_equal(name_of(ips[3], 3), "unw_root");
	assert_true(find_frame(ips, n, 4, "main") > 4);
	struct unwind_stats st;
	unwinder_get_stats(u, &st);
	assert_int_equal(st.stacks, 1);
	assert_int_equal(st.frames, n);
	assert_int_equal(st.reached_end, 1); /* through libc to _start */
	assert_int_equal(st.stack_ends, 0);

	/* Without unwinder_add_process: the process is added on first sight. */
	unwinder_forget(u, getpid());
	size_t n2;
	uint64_t ips2[MAX_FRAMES];
	assert_int_equal(unwind_capture(u, &cap, cap_stack, cap.stack_size, ips2, &n2), 0);
	assert_int_equal(n2, n);
	assert_memory_equal(ips2, ips, n * sizeof(ips[0]));

	/* max bounds the frames. */
	struct user_regs regs;
	regs_of(&cap, &regs);
	assert_int_equal(unwind_user(u, getpid(), (pid_t)cap.tid, &regs, cap_stack,
				     cap.stack_size, ips2, 3, &n2), 0);
	assert_int_equal(n2, 3);
	assert_memory_equal(ips2, ips, 3 * sizeof(ips[0]));
	unwinder_free(u);
}

static void *thread_chain(void *arg)
{
	unw_root(arg != NULL);
	return NULL;
}

/* A thread's stack ends in libc's thread start (start_thread, clone3), not in main. */
static void test_thread(void **state)
{
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, thread_chain, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_not_equal(cap.tid, (uint64_t)getpid());
	struct unwinder *u;
	assert_int_equal(unwinder_new(&u), 0);
	uint64_t ips[MAX_FRAMES];
	size_t n;
	/* The thread has exited: its stack copy and the process's modules are enough. */
	assert_int_equal(unwind_capture(u, &cap, cap_stack, cap.stack_size, ips, &n), 0);
	dump("thread", ips, n);
	check_chain(&cap, ips, n);
	assert_int_equal(find_frame(ips, n, 0, "main"), -1);
	struct unwind_stats st;
	unwinder_get_stats(u, &st);
	assert_int_equal(st.reached_end, 1);
	/* The outermost frames are libc's. */
	struct proc_maps m;
	assert_int_equal(proc_maps_read(getpid(), &m), 0);
	const struct map_entry *e = proc_maps_find(&m, ips[n - 1]);
	assert_non_null(e);
	assert_non_null(strstr(map_module_name(e), "libc.so"));
	proc_maps_free(&m);
	unwinder_free(u);
}

/* Frames without CFI are unwound through the frame-pointer chain. */
static void test_frame_pointers(void **state)
{
	struct unwinder *u;
	assert_int_equal(unwinder_new(&u), 0);
	unw_nocfi_outer(unw_root, 1);
	uint64_t ips[MAX_FRAMES];
	size_t n;
	assert_int_equal(unwind_capture(u, &cap, cap_stack, cap.stack_size, ips, &n), 0);
	dump("frame pointers", ips, n);
	check_chain(&cap, ips, n);
	long inner = find_frame(ips, n, 4, "unw_nocfi_inner");
	assert_int_equal(inner, 4);
	assert_int_equal(find_frame(ips, n, 5, "unw_nocfi_outer"), 5);
	assert_true(find_frame(ips, n, 6, "main") > 6);
	unwinder_free(u);
}

/* A library mapped after the process was added: unwound after unwinder_mapping_changed. */
static void test_mapping_changed(void **state)
{
	struct unwinder *u;
	assert_int_equal(unwinder_new(&u), 0);
	assert_int_equal(unwinder_add_process(u, getpid()), 0);
	char path[4096];
	snprintf(path, sizeof(path), "%s/unwind_dso.so", env_dir("UNWIND_DSO_DIR"));
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		fail_msg("dlopen %s: %s", path, dlerror());
	int (*call)(int (*)(int), int) = (int (*)(int (*)(int), int))dlsym(h, "unwind_dso_call");
	assert_non_null(call);
	call(unw_root, 1);
	uint64_t ips[MAX_FRAMES];
	size_t n;
	/* Before: whatever it gives, no crash. */
	assert_int_equal(unwind_capture(u, &cap, cap_stack, cap.stack_size, ips, &n), 0);
	assert_true(n >= UNWIND_CAPTURE_DEPTH);
	unwinder_mapping_changed(u, getpid());
	assert_int_equal(unwind_capture(u, &cap, cap_stack, cap.stack_size, ips, &n), 0);
	dump("dlopen'd library", ips, n);
	check_chain(&cap, ips, n);
	assert_string_equal(name_of(ips[4], 4), "unwind_dso_call");
	assert_true(find_frame(ips, n, 5, "main") > 5);
	unwinder_free(u);
	dlclose(h);
}

/* ---- another process ----------------------------------------------------------------- */

struct child {
	pid_t pid;
	int to_child;
	struct unwind_capture c;
	uint8_t *stack;
};

static void read_exact(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n <= 0)
			fail_msg("short read from the target (%zd)", n);
		p += n;
		len -= (size_t)n;
	}
}

static void spawn_target(const char *path, const char *mode, struct child *ch)
{
	int to[2], from[2];
	assert_int_equal(pipe2(to, O_CLOEXEC), 0);
	assert_int_equal(pipe2(from, O_CLOEXEC), 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, to[0], 0);
	posix_spawn_file_actions_adddup2(&fa, from[1], 1);
	char *argv[] = { (char *)path, (char *)mode, NULL };
	int r = posix_spawn(&ch->pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		fail_msg("spawn %s: %s", path, strerror(r));
	close(to[0]);
	close(from[1]);
	ch->to_child = to[1];
	read_exact(from[0], &ch->c, sizeof(ch->c));
	assert_true(ch->c.magic == UNWIND_CAPTURE_MAGIC);
	assert_int_equal(ch->c.pid, ch->pid);
	assert_true(ch->c.stack_size > 0 && ch->c.stack_size <= 1 << 20);
	ch->stack = malloc(ch->c.stack_size);
	read_exact(from[0], ch->stack, ch->c.stack_size);
	close(from[0]);
}

static void end_target(struct child *ch)
{
	int status;
	close(ch->to_child);
	assert_int_equal(waitpid(ch->pid, &status, 0), ch->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static const char *target_path(void)
{
	static char path[4096];
	snprintf(path, sizeof(path), "%s/unwind_target", env_dir("UNWIND_TARGET_DIR"));
	return path;
}

/* Added while alive, unwound alive and again after it exited: the same stack. */
static void cross_process(const char *path, const char *mode, bool unlink_first)
{
	struct child ch;
	spawn_target(path, mode, &ch);
	if (unlink_first)
		assert_int_equal(unlink(path), 0);
	struct unwinder *u;
	assert_int_equal(unwinder_new(&u), 0);
	assert_int_equal(unwinder_add_process(u, ch.pid), 0);
	uint64_t alive[MAX_FRAMES], dead[MAX_FRAMES];
	size_t na, nd;
	assert_int_equal(unwind_capture(u, &ch.c, ch.stack, ch.c.stack_size, alive, &na), 0);
	end_target(&ch);
	assert_int_equal(unwind_capture(u, &ch.c, ch.stack, ch.c.stack_size, dead, &nd), 0);
	dump(mode, dead, nd);
	check_chain(&ch.c, dead, nd);
	assert_int_equal(na, nd);
	assert_memory_equal(alive, dead, nd * sizeof(dead[0]));
	struct unwind_stats st;
	unwinder_get_stats(u, &st);
	assert_int_equal(st.reached_end, 2);
	/* A process that is gone and was never added: the first frame only. */
	unwinder_forget(u, ch.pid);
	assert_int_equal(unwinder_add_process(u, ch.pid), -ESRCH);
	assert_int_equal(unwind_capture(u, &ch.c, ch.stack, ch.c.stack_size, dead, &nd), 0);
	assert_int_equal(nd, 1);
	assert_true(dead[0] == ch.c.r[UREG_RIP]);
	unwinder_free(u);
	free(ch.stack);
}

static void test_cross_process(void **state)
{
	cross_process(target_path(), "main", false);
	cross_process(target_path(), "thread", false);
}

/* Whether /proc/PID/map_files can be opened: it holds the only way to a deleted file. */
static bool map_files_readable(void)
{
	struct proc_maps m;
	assert_int_equal(proc_maps_read(getpid(), &m), 0);
	char name[96];
	snprintf(name, sizeof(name), "/proc/self/map_files/%llx-%llx",
		 (unsigned long long)m.v[0].start, (unsigned long long)m.v[0].end);
	proc_maps_free(&m);
	int fd = open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* The binary deleted while it runs: its module is opened through /proc/PID/map_files. */
static void test_deleted_binary(void **state)
{
	if (!map_files_readable())
		skip(); /* needs CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE) */
	char dir[] = "/tmp/test_unwind.XXXXXX", copy[64];
	assert_non_null(mkdtemp(dir));
	snprintf(copy, sizeof(copy), "%s/unwind_target", dir);
	size_t len;
	char *bin = file_read(target_path(), &len);
	assert_non_null(bin);
	int fd = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bin, len), (ssize_t)len);
	close(fd);
	free(bin);
	cross_process(copy, "main", true);
	rmdir(dir);
}

/* ---- damaged input -------------------------------------------------------------------- */

/* Shorter copies give a prefix of the full stack, and say the copy ended. */
static void test_truncated(void **state)
{
	struct unwinder *u;
	assert_int_equal(unwinder_new(&u), 0);
	unw_root(1);
	uint64_t full[MAX_FRAMES], ips[MAX_FRAMES];
	size_t nf, n;
	assert_int_equal(unwind_capture(u, &cap, cap_stack, cap.stack_size, full, &nf), 0);
	size_t cut = 0;
	for (size_t size = 0; size < 4096 && size < cap.stack_size; size += size < 64 ? 1 : 8) {
		uint8_t *copy = (uint8_t *)dup_exact(cap_stack, size);
		assert_int_equal(unwind_capture(u, &cap, copy, size, ips, &n), 0);
		free(copy);
		assert_true(n >= 1 && n <= nf);
		assert_memory_equal(ips, full, n * sizeof(ips[0]));
		cut += n < nf;
	}
	assert_true(cut > 0);
	struct unwind_stats st;
	unwinder_get_stats(u, &st);
	assert_true(st.stack_ends >= cut);
	/* No stack at all. */
	assert_int_equal(unwind_capture(u, &cap, NULL, 0, ips, &n), 0);
	assert_int_equal(n, 1);
	unwinder_free(u);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Random registers and stack words — code addresses, pointers into the copy, noise — never
 * crash nor read outside the copy (ASan), and always give the first frame. */
static void test_garbage(void **state)
{
	struct unwinder *u;
	assert_int_equal(unwinder_new(&u), 0);
	struct proc_maps m;
	assert_int_equal(proc_maps_read(getpid(), &m), 0);
	size_t nx = 0;
	const struct map_entry *exec[256];
	for (size_t i = 0; i < m.n && nx < 256; i++)
		if (m.v[i].perms[2] == 'x')
			exec[nx++] = &m.v[i];
	assert_true(nx > 2);
	unw_root(1);
	for (int iter = 0; iter < GARBAGE_ITERS; iter++) {
		struct user_regs regs = { .valid = (uint32_t)rnd() | UREGS_MIN_VALID };
		const struct map_entry *x = exec[rnd() % nx];
		for (int i = 0; i < UREG_COUNT; i++)
			regs.r[i] = rnd() % 3 ? x->start + rnd() % (x->end - x->start) : rnd();
		uint64_t sp = rnd() % 2 ? cap.r[UREG_RSP] : rnd() & ~7ULL;
		regs.r[UREG_RSP] = sp;
		if (iter % 3 == 0) { /* the real registers, the stack wrong */
			memcpy(regs.r, cap.r, sizeof(regs.r));
			regs.valid = cap.valid;
			regs.r[UREG_RSP] = sp;
		}
		size_t size = rnd() % 8193;
		uint8_t *stack = malloc(size ? size : 1);
		for (size_t i = 0; i + 8 <= size; i += 8) {
			uint64_t w;
			switch (rnd() % 4) {
			case 0: w = x->start + rnd() % (x->end - x->start); break;
			case 1: w = sp + rnd() % (size + 64); break;
			case 2: memcpy(&w, cap_stack + i % cap.stack_size, 8); break;
			default: w = rnd();
			}
			memcpy(stack + i, &w, 8);
		}
		uint64_t ips[64];
		size_t n, max = 1 + rnd() % 64;
		pid_t tid = (pid_t)(rnd() % 4 ? cap.tid : rnd() % 100000);
		assert_int_equal(unwind_user(u, getpid(), tid, &regs, stack, size, ips, max, &n), 0);
		assert_true(n >= 1 && n <= max);
		assert_true(ips[0] == regs.r[UREG_RIP]);
		free(stack);
	}
	/* No RIP or RSP: -EINVAL. */
	struct user_regs regs = { .valid = 1u << UREG_RIP };
	uint64_t ips[4];
	size_t n;
	assert_int_equal(unwind_user(u, getpid(), getpid(), &regs, NULL, 0, ips, 4, &n), -EINVAL);
	proc_maps_free(&m);
	unwinder_free(u);
}

/* ---- cost ------------------------------------------------------------------------------ */

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* µs per unwind_user of a stack ~20 frames deep, warm: printed, and bounded loosely (the
 * budget is 2000 stacks/s at well under 50 µs each; sanitizers slow it down). */
static void test_cost(void **state)
{
	struct unwinder *u;
	assert_int_equal(unwinder_new(&u), 0);
	assert_int_equal(unwinder_add_process(u, getpid()), 0);
	unw_deep(12);
	uint64_t ips[MAX_FRAMES];
	size_t n = 0;
	for (int i = 0; i < 200; i++)
		assert_int_equal(unwind_capture(u, &cap, cap_stack, cap.stack_size, ips, &n), 0);
	assert_true(n >= 20);
	int iters = 20000;
	double t0 = now_us();
	for (int i = 0; i < iters; i++)
		unwind_capture(u, &cap, cap_stack, cap.stack_size, ips, &n);
	double per = (now_us() - t0) / iters;
	print_message("unwind_user: %.2f us per stack of %zu frames (%.3f us per frame)\n", per, n,
		      per / (double)n);
	assert_true(per < 500);
	unwinder_free(u);
}

__attribute__((visibility("default"))) int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_process),
		cmocka_unit_test(test_thread),
		cmocka_unit_test(test_frame_pointers),
		cmocka_unit_test(test_mapping_changed),
		cmocka_unit_test(test_cross_process),
		cmocka_unit_test(test_deleted_binary),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_cost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
