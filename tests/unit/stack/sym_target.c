/* The symbolizer's other process (test_symbolize.c): prints the addresses of two functions
 * of known names — one exported (in .dynsym: linked with -rdynamic), one static (in
 * .symtab only) — and of main, as "ADDR ADDR ADDR\n", then reads commands from stdin:
 * "exec PATH" replaces its image with PATH (which prints its own addresses), EOF ends it. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Default visibility: the project builds with -fvisibility=hidden. */
__attribute__((visibility("default"))) int sym_target_exported(int x);
__attribute__((noinline)) int sym_target_exported(int x)
{
	return x * 3 + 1;
}

static __attribute__((noinline)) int sym_target_local(int x)
{
	return x * 5 + 2;
}

int main(int argc, char **argv)
{
	int (*exported)(int) = sym_target_exported, (*local)(int) = sym_target_local;
	printf("%p %p %p\n", (void *)exported, (void *)local, (void *)main);
	fflush(stdout);
	char line[4096];
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "exec ", 5) == 0) {
			execl(line + 5, line + 5, (char *)NULL);
			return 127;
		}
	}
	(void)argv;
	return exported(argc) + local(argc) > 0 ? 0 : 1;
}
