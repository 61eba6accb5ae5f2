/* pipe_reader: reads standard input until end of file in wait_for_input (blocking in
 * read), then prints "read N". */
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) static long wait_for_input(void)
{
	char buf[4096];
	long total = 0;
	ssize_t n;
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
		total += n;
	return total;
}

int main(void)
{
	printf("read %ld\n", wait_for_input());
	return 0;
}
