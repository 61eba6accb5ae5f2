/* A developer's tool (not installed): attaches to a Python process, prints every thread's
 * stack, and with --record FILE saves the memory the walk read as a snapshot for the unit
 * tests and the fuzzer's seeds.  py_dump PID [--count N] [--record FILE] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "python/py_mem.h"
#include "python/python.h"

static void log_fn(void *ud, enum pk_log_level level, const char *msg)
{
	(void)ud;
	fprintf(stderr, "py_dump: %s%s\n", level >= PK_LOG_WARN ? "warning: " : "", msg);
}

static int print_thread(void *ud, const struct py_thread *t)
{
	(void)ud;
	printf("thread tid=%d ident=0x%llx status=%d frames=%zu%s\n", (int)t->tid,
	       (unsigned long long)t->thread_id, t->status, t->nframes,
	       t->truncated ? " (truncated)" : "");
	for (size_t i = 0; i < t->nframes; i++)
		printf("  %s [%s] (%s:%d)\n", t->frames[i]->qualname, t->frames[i]->name,
		       t->frames[i]->filename, t->frames[i]->firstlineno);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: py_dump PID [--count N] [--record FILE]\n");
		return 2;
	}
	pid_t pid = atoi(argv[1]);
	int count = 1;
	const char *record = NULL;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--count"))
			count = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--record"))
			record = argv[i + 1];
	}
	struct pk_log log = { log_fn, NULL };
	struct py_info info;
	struct py_proc *p;
	int r = py_proc_attach(pid, &log, &info, &p);
	printf("attach: %d (%s) version %u.%u hex 0x%08x runtime 0x%llx in %s via %s%s\n", r,
	       r < 0 ? strerror(-r) : "ok", info.major, info.minor, info.version_hex,
	       (unsigned long long)info.runtime, info.elf_path, info.found_by ? info.found_by : "-",
	       info.debug_offsets ? " (debug offsets)" : "");
	if (r < 0)
		return 1;
	for (int i = 0; i < count; i++) {
		r = py_frame_walk(p, print_thread, NULL);
		printf("walk: %d\n", r);
	}
	if (record) {
		uint32_t vh, tid_off;
		uint64_t rt, ct, ut;
		py_proc_snapshot_header(p, &vh, &rt, &ct, &ut, &tid_off);
		/* A fresh py_proc over a recorder: every read of the walk lands in the file. */
		struct py_mem_proc live;
		struct py_mem_recorder rec;
		py_mem_proc_init(&live, pid);
		py_mem_recorder_init(&rec, &live.mem);
		struct py_proc *q;
		r = py_proc_from_mem(&rec.mem, vh, rt, ct, ut, tid_off, &log, &q);
		if (r < 0) {
			fprintf(stderr, "py_dump: %s\n", strerror(-r));
			return 1;
		}
		r = py_frame_walk(q, print_thread, NULL);
		printf("recorded walk: %d\n", r);
		struct py_snapshot h = { .version_hex = vh, .pthread_tid_offset = tid_off,
					 .runtime = rt, .code_type = ct, .unicode_type = ut };
		uint8_t *buf;
		size_t size;
		if (py_mem_recorder_save(&rec, &h, &buf, &size) < 0)
			return 1;
		FILE *f = fopen(record, "wb");
		if (!f || fwrite(buf, 1, size, f) != size || fclose(f) != 0) {
			fprintf(stderr, "py_dump: cannot write %s\n", record);
			return 1;
		}
		printf("snapshot: %zu bytes\n", size);
		free(buf);
		py_mem_recorder_free(&rec);
		py_proc_free(q);
	}
	py_proc_free(p);
	return 0;
}
