/* speedscope JSON, checked against the format by python3's JSON parser; pprof, read back
 * by `go tool pprof` (Debian's golang-go: scripts/install-deps.sh installs it). */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "config.h"
#include "output/folded.h"
#include "output/pprof.h"
#include "output/speedscope.h"

static struct stack_profile *sample_profile(void)
{
	struct stack_profile *p = NULL;
	assert_int_equal(stack_profile__new(NULL, &p), 0);
	static const char t1[] = "main_[c];compute_[c];sqrt_[c] 1500000\n"
				 "main_[c];compute_[c] 500000\n"
				 "main_[o];read_[o];vfs_read_[k]_[o] 3000000\n";
	static const char t2[] = "start_thread_[c];worker \"<q>\"_[c] 250000\n"
				 "<module> (app.py);handler (app.py) 40000\n";
	struct folded_result res;
	assert_int_equal(folded_read(p, t1, sizeof(t1) - 1, 4242, FOLDED_STRICT, &res), 0);
	assert_int_equal(folded_read(p, t2, sizeof(t2) - 1, 4243, FOLDED_STRICT, &res), 0);
	assert_int_equal(stack_profile__set_thread_name(p, 4242, "main"), 0);
	assert_int_equal(stack_profile__set_thread_name(p, 4243, "pool-1"), 0);
	return p;
}

static char *write_temp(const void *data, size_t len, const char *suffix)
{
	char *path = malloc(64);
	snprintf(path, 64, "/tmp/pk-export-XXXXXX%s", suffix);
	int fd = mkstemps(path, (int)strlen(suffix));
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

/* Runs cmd, returns its standard output (and fails the test on a non-zero exit). */
static char *run(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sb_add(&sb, buf, n);
	int st = pclose(f);
	if (st != 0)
		fail_msg("'%s' failed (status %d):\n%s", cmd, st, sb_str(&sb));
	char *s = strdup(sb_str(&sb));
	sb_free(&sb);
	return s;
}

static const char speedscope_check[] =
	"import json, sys\n"
	"d = json.load(open(sys.argv[1]))\n"
	"assert d['$schema'] == 'https://www.speedscope.app/file-format-schema.json'\n"
	"assert d['activeProfileIndex'] == 0 and d['name'] == 'test <run>'\n"
	"names = [f['name'] for f in d['shared']['frames']]\n"
	"out = []\n"
	"for p in d['profiles']:\n"
	"    assert p['type'] == 'sampled' and p['unit'] == 'microseconds'\n"
	"    assert len(p['samples']) == len(p['weights'])\n"
	"    assert p['startValue'] == 0 and p['endValue'] == sum(p['weights'])\n"
	"    for s, w in zip(p['samples'], p['weights']):\n"
	"        out.append('%s|%s %d' % (p['name'], ';'.join(names[i] for i in s), w))\n"
	"files = sorted(set(f.get('file', '') for f in d['shared']['frames']))\n"
	"print('\\n'.join(sorted(out)))\n"
	"print('files: ' + ','.join(files))\n";

static void test_speedscope(void **state)
{
	struct stack_profile *p = sample_profile();
	struct strbuf sb = STRBUF_INIT;
	assert_int_equal(speedscope_write(&sb, p, "test <run>"), 0);
	char *json = write_temp(sb.buf, sb.len, ".json");
	char *py = write_temp(speedscope_check, sizeof(speedscope_check) - 1, ".py");
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "python3 %s %s", py, json);
	char *out = run(cmd);
	assert_string_equal(out,
			    "4242 main|main_[c];compute_[c] 500000\n"
			    "4242 main|main_[c];compute_[c];sqrt_[c] 1500000\n"
			    "4242 main|main_[o];read_[o];vfs_read_[k]_[o] 3000000\n"
			    "4243 pool-1|<module> (app.py);handler (app.py) 40000\n"
			    "4243 pool-1|start_thread_[c];worker \"<q>\"_[c] 250000\n"
			    "files: ,app.py\n");
	/* Names escaped for JSON that sits in HTML too. */
	assert_null(strstr(sb_str(&sb), "<q>"));
	assert_non_null(strstr(sb_str(&sb), "worker \\\"\\u003cq\\u003e\\\"_[c]"));
	unlink(json);
	unlink(py);
	free(json);
	free(py);
	free(out);
	sb_free(&sb);
	stack_profile__free(p);
}

/* Where `go` is; fails the test with the remedy when it is missing. */
static void need_go(void)
{
	if (system("command -v go >/dev/null 2>&1") != 0)
		fail_msg("`go` is not installed, so `go tool pprof` cannot check the pprof export: "
			 "install Debian's golang-go (scripts/install-deps.sh does)");
}

static char *go_pprof(const char *args, const char *file)
{
	char cmd[1024];
	/* go wants a writable cache and home even for a tool it only runs. */
	snprintf(cmd, sizeof(cmd),
		 "HOME=/tmp GOCACHE=/tmp/pk-gocache PPROF_TMPDIR=/tmp go tool pprof %s %s 2>&1",
		 args, file);
	return run(cmd);
}

static void test_pprof(void **state)
{
	if (!HAVE_ZLIB) {
		/* A build without zlib says so instead. */
		struct stack_profile *p = sample_profile();
		struct strbuf sb = STRBUF_INIT;
		assert_int_equal(pprof_write(&sb, p, NULL), -ENOTSUP);
		assert_non_null(strstr(pprof_unavailable(), "without zlib"));
		stack_profile__free(p);
		return;
	}
	assert_null(pprof_unavailable());
	need_go();
	struct stack_profile *p = sample_profile();
	struct strbuf sb = STRBUF_INIT;
	struct pprof_opts o = { .time_nanos = 1700000000000000000LL,
				.duration_nanos = 6000000000LL };
	assert_int_equal(pprof_write(&sb, p, &o), 0);
	/* gzip magic */
	assert_true(sb.len > 20 && (unsigned char)sb.buf[0] == 0x1f &&
		    (unsigned char)sb.buf[1] == 0x8b);
	char *file = write_temp(sb.buf, sb.len, ".pb.gz");

	char *top = go_pprof("-top -nodecount=100", file);
	/* Total 1.5 + 0.5 + 3 + 0.25 + 0.04 s = 5.29 s. */
	if (!strstr(top, "of 5.29s total"))
		fail_msg("unexpected total in:\n%s", top);
	/* flat: sqrt 1.5 s, compute 0.5 s, vfs_read 3 s; cum of main_[c] 2 s. */
	const char *lines[] = { "1.50s 28.36%", "3s 56.71%", "0.50s  9.45%" };
	for (size_t i = 0; i < 3; i++)
		if (!strstr(top, lines[i]))
			fail_msg("no '%s' in:\n%s", lines[i], top);
	const char *names[] = { "sqrt_[c]", "vfs_read_[k]_[o]", "compute_[c]", "main_[c]",
				"handler (app.py)" };
	for (size_t i = 0; i < 5; i++)
		if (!strstr(top, names[i]))
			fail_msg("no '%s' in:\n%s", names[i], top);
	free(top);

	/* pprof shortens "<...>" (C++ templates) when it shows names; the raw profile keeps
	 * them, as the system name. */
	char *raw = go_pprof("-raw", file);
	const char *full[] = { "(worker \"<q>\"_[c])", "(<module> (app.py))", "app.py:0",
			       "PeriodType: wall microseconds", "Duration: 6s" };
	for (size_t i = 0; i < 5; i++)
		if (!strstr(raw, full[i]))
			fail_msg("no '%s' in:\n%s", full[i], raw);
	free(raw);

	/* Leaf first: the caller of sqrt_[c] is compute_[c], and its caller main_[c]. */
	char *peek = go_pprof("-traces", file);
	const char *t = strstr(peek, "sqrt_[c]\n");
	if (!t)
		fail_msg("no sqrt trace in:\n%s", peek);
	const char *c = strstr(t, "compute_[c]\n"), *m = strstr(t, "main_[c]\n");
	assert_true(c && m && c < m);
	/* Thread labels. */
	assert_non_null(strstr(peek, "thread_name:  pool-1\n"));
	assert_non_null(strstr(peek, "thread:  4243\n"));
	free(peek);

	/* Per-thread totals by tag filter. */
	char *one = go_pprof("-top -tagfocus=thread_name=pool-1", file);
	if (!strstr(one, "0.29s"))
		fail_msg("thread pool-1 should have 0.29 s:\n%s", one);
	free(one);

	unlink(file);
	free(file);
	sb_free(&sb);
	stack_profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_speedscope),
		cmocka_unit_test(test_pprof),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
