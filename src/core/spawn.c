#include "core/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/clock.h"
#include "util/macro.h"

static struct rlimit inherited_nofile;
static bool nofile_raised;

void spawn_raise_fd_limit(void)
{
	struct rlimit rl;
	if (nofile_raised || getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	inherited_nofile = rl;
	rl.rlim_cur = rl.rlim_max;
	nofile_raised = setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

static void close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
	p[0] = p[1] = -1;
}

/* In the child: only async-signal-safe calls from here to exec. The child must not
 * inherit profkit's blocked signals (they go to a signalfd) nor its ignored SIGPIPE:
 * ignored dispositions survive exec. */
static _Noreturn void child(char *const argv[], int out, int err, int go, int go_w, int status)
{
	close(go_w); /* so that the read below ends if profkit dies */
	static const int sigs[] = { SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD };
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		signal(sigs[i], SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	clock_restore_timer_slack();
	if (nofile_raised)
		setrlimit(RLIMIT_NOFILE, &inherited_nofile);
	char x;
	if ((out >= 0 && dup2(out, STDOUT_FILENO) < 0) ||
	    (err >= 0 && dup2(err, STDERR_FILENO) < 0) || read(go, &x, 1) != 1)
		_exit(127);
	execvp(argv[0], argv);
	int e = errno;
	if (write(status, &e, sizeof(e)) != sizeof(e))
		_exit(127);
	_exit(127);
}

/* The child waits on `go` until the parent has run before_exec; `status` (close-on-exec)
 * carries exec's errno back, or closes empty when the exec succeeded. */
int spawn_command(char *const argv[], bool capture, spawn_hook_fn before_exec,
		  void *userdata, struct spawned *ret)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, go[2] = { -1, -1 }, status[2] = { -1, -1 };
	int r = 0;
	if ((capture && (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)) ||
	    pipe2(go, O_CLOEXEC) < 0 || pipe2(status, O_CLOEXEC) < 0) {
		r = neg_errno();
		goto out;
	}
	/* A larger pipe keeps a chatty child from blocking on us between two reads. */
	if (capture) {
		fcntl(out[1], F_SETPIPE_SZ, 1 << 20);
		fcntl(err[1], F_SETPIPE_SZ, 1 << 20);
	}

	pid_t pid = fork();
	if (pid < 0) {
		r = neg_errno();
		goto out;
	}
	if (pid == 0)
		child(argv, out[1], err[1], go[0], go[1], status[1]);

	close(status[1]);
	status[1] = -1;
	if (before_exec)
		before_exec(pid, userdata);
	ssize_t w = write(go[1], "g", 1);
	close_pair(go);
	int e = 0;
	ssize_t got;
	do
		got = read(status[0], &e, sizeof(e));
	while (got < 0 && errno == EINTR);
	if (w != 1 || got > 0) {
		waitpid(pid, NULL, 0);
		r = got > 0 ? -e : -EIO;
		goto out;
	}
	if (capture) {
		fcntl(out[0], F_SETFL, O_NONBLOCK);
		fcntl(err[0], F_SETFL, O_NONBLOCK);
	}
	*ret = (struct spawned){ .pid = pid, .out_fd = out[0], .err_fd = err[0] };
	out[0] = out[1] = err[0] = err[1] = -1;
out:
	close_pair(out);
	close_pair(err);
	close_pair(go);
	close_pair(status);
	return r;
}
