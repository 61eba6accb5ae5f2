#include "core/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>
#include "util/macro.h"

extern char **environ;

int spawn_command(char *const argv[], struct spawned *ret)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int r;

	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		r = neg_errno();
		goto fail_pipes;
	}
	/* A larger pipe keeps a chatty child from blocking on us between two reads. */
	fcntl(out[1], F_SETPIPE_SZ, 1 << 20);
	fcntl(err[1], F_SETPIPE_SZ, 1 << 20);

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
	posix_spawnattr_init(&attr);
	/* The child must not inherit profkit's blocked signals (they go to a signalfd) nor
	 * its ignored SIGPIPE: ignored dispositions survive exec. */
	sigset_t none, deflt;
	sigemptyset(&none);
	sigemptyset(&deflt);
	int sigs[] = { SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD };
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaddset(&deflt, sigs[i]);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &deflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

	pid_t pid;
	r = -posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r < 0)
		goto fail_pipes;

	close(out[1]);
	close(err[1]);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	*ret = (struct spawned){ .pid = pid, .out_fd = out[0], .err_fd = err[0] };
	return 0;

fail_pipes:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	return r;
}
