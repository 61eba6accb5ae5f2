/* forker K SECONDS: a small process tree.
 *   forker (the root) forks K children named "fk_child" that each spin for SECONDS/2 and
 *   then sleep for SECONDS/2, and one child named "fk_middle" that forks a grandchild
 *   named "fk_orphan" and exits at once, so the grandchild is orphaned. The grandchild
 *   lives SECONDS + 0.5 s, longer than the root, which waits for its K children only.
 * Every process prints "NAME PID PPID" on stdout when it starts. */
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static void announce(const char *name)
{
	if (name)
		prctl(PR_SET_NAME, name);
	char comm[32] = "";
	prctl(PR_GET_NAME, comm);
	printf("%s %d %d\n", comm, (int)getpid(), (int)getppid());
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int k = (int)arg_double(argc, argv, 1, 3);
	double seconds = arg_double(argc, argv, 2, 1);
	announce(NULL);
	for (int i = 0; i < k; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			announce("fk_child");
			spin_for(seconds / 2);
			sleep_s(seconds / 2);
			_exit(0);
		}
	}
	pid_t middle = fork();
	if (middle < 0)
		return 1;
	if (middle == 0) {
		announce("fk_middle");
		pid_t g = fork();
		if (g == 0) {
			sleep_s(0.1); /* let the middle exit first */
			announce("fk_orphan");
			sleep_s(seconds + 0.4);
			_exit(0);
		}
		_exit(g < 0);
	}
	waitpid(middle, NULL, 0);
	for (int i = 0; i < k; i++)
		wait(NULL);
	return 0;
}
