/* Loading recordings (src/report/recording.c) and their statistics (src/report/report.c):
 * identities, ticks, parents, counters, missing values, and every kind of bad input, each
 * with its one error message. Expected values are worked out by hand from the fixture. */
#include "report_test.h"

#include <errno.h>
#include "recording_fixture.h"
#include "report/report.h"

static const struct entity *find_entity(const struct entity *list, size_t n, int pid)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].pid == pid)
			return &list[i];
	fail_msg("no entity with pid %d", pid);
	return NULL;
}

static void test_load_fixture(void **state)
{
	(void)state;
	char *dir;
	struct recording *rec = fixture_load(fixture_samples, fixture_system, &dir);
	assert_int_equal(rec->nprocs, 2);
	assert_int_equal(rec->rows.n, 10);
	assert_int_equal(rec->nticks, 6);
	const struct rec_process *make = &rec->procs[0], *cc = &rec->procs[1];
	assert_string_equal(make->name, "make");
	assert_string_equal(cc->name, "cc, \"the\" <b>compiler</b>");
	assert_int_equal(make->parent, -1); /* its parent, pid 1, was not recorded */
	assert_int_equal(cc->parent, 0);
	assert_false(make->exited);
	assert_true(cc->exited);
	assert_int_equal(cc->first_tick, 2);
	assert_int_equal(cc->last_tick, 5);
	assert_true(make->c[C_READ].have);
	assert_close(make->c[C_READ].first, 100, 0);
	assert_close(make->c[C_READ].last, 600, 0);
	assert_true(rec->have_system);
	assert_int_equal(rec->sys.ncores, 2);
	assert_int_equal(rec->sys.n, 6);
	assert_string_equal(sb_str(&rec->warnings), "");
	recording_free(rec);
	fixture_rmdir(dir);
}

static void test_process_statistics(void **state)
{
	(void)state;
	char *dir;
	struct recording *rec = fixture_load(fixture_samples, fixture_system, &dir);
	struct report *r;
	assert_int_equal(report_build(rec, &r), 0);
	assert_int_equal(r->nprocs, 2);
	const struct entity *make = find_entity(r->procs, r->nprocs, 100);
	assert_close(make->duration_s, 0.5, 1e-9);
	assert_close(make->cpu.mean, 35, 1e-9);
	assert_close(make->cpu.p50, 35, 1e-9);
	assert_close(make->cpu.p95, 57.5, 1e-9);
	assert_close(make->cpu.max, 60, 0);
	assert_close(make->rss.min, 1e6, 0);
	assert_close(make->rss.mean, 3.5e6, 1e-6);
	assert_close(make->rss.max, 6e6, 0);
	assert_close(make->rss_end, 6e6, 0);
	assert_close(make->fds_max, 6, 0);
	assert_close(make->threads_max, 2, 0);
	assert_close(make->vms_max, 9.2e6, 0);
	/* Started long before the recording: counters are last - first. */
	assert_close(make->cpu_s, 0.07, 1e-9);
	assert_false(make->cpu_s_estimated);
	assert_close(make->counter[C_READ], 500, 0);
	assert_close(make->counter[C_WRITE], 50, 0);
	assert_close(make->counter[C_MINOR_FAULTS], 50, 0);
	assert_close(make->counter[C_MAJOR_FAULTS], 1, 0);
	assert_close(make->counter[C_CTX_VOLUNTARY], 5, 0);
	assert_close(make->counter[C_CTX_INVOLUNTARY], 1, 0);
	assert_int_equal(make->depth, 0);

	const struct entity *cc = find_entity(r->procs, r->nprocs, 101);
	assert_int_equal(cc->depth, 1);
	assert_true(cc->exited);
	assert_close(cc->cpu.mean, 72.5, 1e-9);
	assert_close(cc->cpu.p50, 75, 1e-9);
	assert_close(cc->cpu.p95, 100, 1e-9);
	/* The zombie's 0 bytes are not a measurement: RSS over the live samples only. */
	assert_close(cc->rss.min, 4e6, 0);
	assert_close(cc->rss.mean, 8e6, 1e-6);
	assert_close(cc->rss_end, 12e6, 0);
	assert_true(isnan(cc->swap_max)); /* never readable */
	/* Started during the recording: counters count from zero. */
	assert_close(cc->cpu_s, 0.25, 1e-9);
	assert_close(cc->counter[C_MINOR_FAULTS], 310, 0);
	assert_close(cc->counter[C_CTX_INVOLUNTARY], 5, 0);
	assert_int_equal(cc->leak.trend, TREND_UNKNOWN); /* 3 live samples */
	report_free(r);
	recording_free(rec);
	fixture_rmdir(dir);
}

/* Memory that is not a measurement (fixture_uncounted_samples). The zombie's row still ends
 * the duration, and its counters are the final ones. */
static void test_uncounted_memory(void **state)
{
	(void)state;
	char *dir;
	struct recording *rec = fixture_load(fixture_uncounted_samples, NULL, &dir);
	struct report *r;
	assert_int_equal(report_build(rec, &r), 0);
	const struct entity *py = find_entity(r->procs, r->nprocs, 5);
	assert_int_equal(py->rss.n, 2); /* of 4 rows: not the first, not the zombie */
	assert_close(py->rss.min, 9936896, 0);
	assert_close(py->rss_end, 12095488, 0);
	assert_true(isnan(py->series.rss[0]) && isnan(py->series.rss[3]));
	assert_close(py->vms_max, 17891328, 0); /* the first sample's VMS is a measurement */
	assert_close(py->fds_max, 6, 0);
	assert_close(py->threads_max, 2, 0); /* not the zombie's 1 */
	assert_close(py->duration_s, 0.25, 1e-9);
	assert_close(py->cpu_s, 0.06, 1e-9);
	assert_close(py->counter[C_MINOR_FAULTS], 1700, 0);
	assert_close(py->cpu.n, 3, 0); /* the zombie's CPU % counts; the first is unknown */
	const struct entity *kthread = find_entity(r->procs, r->nprocs, 6);
	assert_int_equal(kthread->rss.n, 2);
	assert_close(kthread->rss.max, 0, 0);
	const struct entity *swapped = find_entity(r->procs, r->nprocs, 7);
	assert_int_equal(swapped->rss.n, 2);
	assert_close(swapped->rss.min, 0, 0);
	report_free(r);
	recording_free(rec);
	fixture_rmdir(dir);
}

/* make and its child summed tick by tick. */
static void test_tree_statistics(void **state)
{
	(void)state;
	char *dir;
	struct recording *rec = fixture_load(fixture_samples, fixture_system, &dir);
	struct report *r;
	assert_int_equal(report_build(rec, &r), 0);
	assert_int_equal(r->ntrees, 1);
	const struct entity *t = &r->trees[0];
	assert_int_equal(t->kind, ENTITY_TREE);
	assert_int_equal(t->pid, 100);
	assert_int_equal(t->members, 2);
	assert_int_equal(t->series.n, 6);
	assert_close(t->cpu.mean, 500.0 / 6, 1e-9); /* 10 20 80 140 150 100 */
	assert_close(t->cpu.max, 150, 0);
	assert_close(t->rss.mean, 7.5e6, 1e-6); /* 1 2 7 12 17 6 MB */
	assert_close(t->rss.max, 17e6, 0);
	assert_close(t->rss_end, 6e6, 0);
	assert_close(t->fds_max, 9, 0);
	assert_close(t->cpu_s, 0.32, 1e-9);
	assert_close(t->counter[C_MINOR_FAULTS], 360, 0);
	assert_false(t->exited);
	report_free(r);
	recording_free(rec);
	fixture_rmdir(dir);
}

static void test_machine_statistics(void **state)
{
	(void)state;
	char *dir;
	struct recording *rec = fixture_load(fixture_samples, fixture_system, &dir);
	struct report *r;
	assert_int_equal(report_build(rec, &r), 0);
	const struct machine *m = &r->machine;
	assert_true(m->have);
	assert_int_equal(m->ncores, 2);
	assert_close(m->cpu.mean, 35, 1e-9);
	assert_close(m->core[0].mean, 45, 1e-9);
	assert_close(m->core[0].max, 70, 0);
	assert_close(m->core[1].mean, 25, 1e-9);
	assert_close(stats_acc_mean(&m->mem_used), 3500, 1e-9);
	assert_true(m->have_energy);
	assert_close(m->energy_j, 5, 1e-9);
	assert_close(m->power_w, 10, 1e-6);
	report_free(r);
	recording_free(rec);
	fixture_rmdir(dir);
}

/* One pid, two processes: the second started after the first exited. The child belongs to
 * the incarnation that existed when it started. */
static void test_pid_reuse(void **state)
{
	(void)state;
	const char *samples =
		SAMPLES_HEADER "7,old,1,1000,1,100.000,200.0,0,1,S,1,0,0,1,0,0,0,0,0,0,0,0,0\n"
			       "7,old,1,1000,1,100.000,200.1,0,1,Z,1,0,0,1,0,0,0,0,0,0,0,0,0\n"
			       "7,new,1,2000,1,200.150,200.2,0,1,S,1,0,0,1,0,0,0,0,0,0,0,0,0\n"
			       "8,kid,1,3000,1,200.180,200.2,0,7,S,1,0,0,1,0,0,0,0,0,0,0,0,0\n"
			       "7,new,1,2000,1,200.150,200.3,0,1,S,1,0,0,1,0,0,0,0,0,0,0,0,0\n"
			       "8,kid,1,3000,1,200.180,200.3,0,7,S,1,0,0,1,0,0,0,0,0,0,0,0,0\n";
	char *dir;
	struct recording *rec = fixture_load(samples, NULL, &dir);
	assert_int_equal(rec->nprocs, 3);
	assert_string_equal(rec->procs[0].name, "old");
	assert_string_equal(rec->procs[1].name, "new");
	assert_int_equal(rec->procs[0].n, 2);
	assert_int_equal(rec->procs[1].n, 2);
	assert_int_equal(rec->procs[2].parent, 1);
	assert_true(rec->procs[0].exited);
	assert_int_equal(rec->nticks, 4);
	assert_false(rec->have_system);
	recording_free(rec);
	fixture_rmdir(dir);
}

/* PROFIT's own files have only the seven first columns: they load, and what needs the rest
 * is unknown or estimated. */
static void test_profit_columns_only(void **state)
{
	(void)state;
	const char *samples =
		"pid,name,cpu_percent,mem_real,num_open_files,creation_epoch,timestamp\n"
		"5,app,100,1000,3,10.0,20.0\n"
		"5,app,50,2000,3,10.0,21.0\n"
		"5,app,0,3000,4,10.0,22.0\n";
	char *dir;
	struct recording *rec = fixture_load(samples, NULL, &dir);
	assert_false(rec->have_counter[C_READ]);
	assert_false(rec->have_ppid);
	struct report *r;
	assert_int_equal(report_build(rec, &r), 0);
	assert_true(r->procs[0].cpu_s_estimated);
	assert_close(r->procs[0].cpu_s, 0.5, 1e-12); /* 50% for 1 s, then 0% for 1 s */
	assert_true(isnan(r->procs[0].counter[C_READ]));
	assert_true(isnan(r->procs[0].vms_max));
	assert_close(r->procs[0].fds_max, 4, 0);
	report_free(r);
	recording_free(rec);
	fixture_rmdir(dir);
}

static void test_missing_values_and_crlf(void **state)
{
	(void)state;
	/* Empty fields are values that could not be read: left out, never an error. */
	const char *samples =
		"pid,name,cpu_percent,mem_real,num_open_files,creation_epoch,timestamp\r\n"
		"5,app,,1000,,,20.0\r\n"
		"5,app,50,,3,,21.0\r\n";
	char *dir;
	struct recording *rec = fixture_load(samples, NULL, &dir);
	assert_int_equal(rec->nprocs, 1); /* no creation_epoch on either row: one identity */
	struct report *r;
	assert_int_equal(report_build(rec, &r), 0);
	assert_int_equal(r->procs[0].cpu.n, 1);
	assert_close(r->procs[0].cpu.mean, 50, 0);
	assert_int_equal(r->procs[0].rss.n, 1);
	assert_close(r->procs[0].rss.max, 1000, 0);
	report_free(r);
	recording_free(rec);
	fixture_rmdir(dir);
}

static void test_truncated_last_line(void **state)
{
	(void)state;
	char samples[sizeof(fixture_samples)];
	memcpy(samples, fixture_samples, sizeof(fixture_samples));
	samples[strlen(samples) - 12] = '\0'; /* killed in the middle of the last row */
	char *dir;
	struct recording *rec = fixture_load(samples, NULL, &dir);
	assert_int_equal(rec->rows.n, 9);
	const char *w = sb_str(&rec->warnings);
	assert_non_null(strstr(w, "samples.csv:11: the last line is incomplete"));
	recording_free(rec);
	fixture_rmdir(dir);
}

static void test_bad_input_messages(void **state)
{
	(void)state;
	assert_string_equal(
		fixture_error("hello\nworld\n", NULL),
		"samples.csv:1: no column 'pid': not a profkit samples.csv (its header "
		"starts pid,name,cpu_percent,mem_real,num_open_files,creation_epoch,timestamp)");
	/* A renamed column is a missing one. */
	assert_string_equal(
		fixture_error(
			"pid,name,cpu_percent,memreal,num_open_files,creation_epoch,timestamp\n",
			NULL),
		"samples.csv:1: no column 'mem_real': not a profkit samples.csv (its header "
		"starts pid,name,cpu_percent,mem_real,num_open_files,creation_epoch,timestamp)");
	assert_string_equal(fixture_error(SAMPLES_HEADER
					  "1,a,1,x,1,1.0,2.0,0,0,S,1,0,0,0,0,0,0,0,0,0,0,0,0\n",
					  NULL),
			    "samples.csv:2:7: mem_real: 'x' is not a number");
	assert_string_equal(fixture_error(SAMPLES_HEADER
					  "1,a,1,1,1,1.0,2.0,0,0,S,1,0,0,0,0,0,0,0,0,0,0,0\n",
					  NULL),
			    "samples.csv:2: 22 fields, but the header has 23 columns");
	assert_string_equal(
		fixture_error(
			"pid,name,cpu_percent,mem_real,num_open_files,creation_epoch,timestamp\n"
			"0,a,1,1,1,1,2\n",
			NULL),
		"samples.csv:2:1: pid: not a process ID");
	assert_string_equal(
		fixture_error(
			"pid,name,cpu_percent,mem_real,num_open_files,creation_epoch,timestamp\n"
			"1.5,a,1,1,1,1,2\n",
			NULL),
		"samples.csv:2:1: pid: not a process ID");
	assert_string_equal(
		fixture_error(
			"pid,name,cpu_percent,mem_real,num_open_files,creation_epoch,timestamp\n"
			",a,1,1,1,1,2\n",
			NULL),
		"samples.csv:2:1: pid: missing value");
	assert_string_equal(
		fixture_error(
			"pid,name,cpu_percent,mem_real,num_open_files,creation_epoch,timestamp\n"
			"1,a,1,1,1,1,5\n1,a,1,1,1,1,4\n",
			NULL),
		"samples.csv:3:13: timestamp: earlier than the row before (rows must be in time "
		"order)");
	assert_string_equal(fixture_error("", NULL), "samples.csv: empty file");
	assert_string_equal(fixture_error(fixture_samples, "timestamp,x\n1,2\n"),
			    "system.csv:1: not a profkit system.csv (its header starts "
			    "timestamp,elapsed_s,cpu_percent)");
	assert_string_equal(fixture_error(fixture_samples, SYSTEM_HEADER "1,0,abc,1,1,1,1,1,1,1\n"),
			    "system.csv:2:5: cpu_percent: 'abc' is not a number");
	/* A counter that says nonsense in the row that matters is an error too. */
	assert_string_equal(fixture_error(SAMPLES_HEADER
					  "1,a,1,1,1,1.0,2.0,0,0,S,1,0,0,0,0,0,0,0,0,0,0,0,0\n"
					  "1,a,1,1,1,1.0,3.0,0,0,S,1,0,0,0,0,0,zz,0,0,0,0,0,0\n",
					  NULL),
			    "samples.csv:3:37: write_bytes: 'zz' is not a number");
}

static void test_paths(void **state)
{
	(void)state;
	char err[1024];
	struct recording *rec;
	char *dir = fixture_dir();
	assert_int_equal(recording_load(dir, &rec, err, sizeof(err)), -ENOENT);
	assert_non_null(
		strstr(err, ": no samples.csv in this directory (not a profkit recording?)"));
	fixture_write(dir, "samples.csv", fixture_samples);
	fixture_write(dir, "system.csv", fixture_system);
	/* samples.csv given directly brings its system.csv along. */
	char path[600];
	snprintf(path, sizeof(path), "%s/samples.csv", dir);
	assert_int_equal(recording_load(path, &rec, err, sizeof(err)), 0);
	assert_true(rec->have_system);
	recording_free(rec);
	/* Under another name it is read alone. */
	snprintf(path, sizeof(path), "%s/copy.csv", dir);
	fixture_write(dir, "copy.csv", fixture_samples);
	assert_int_equal(recording_load(path, &rec, err, sizeof(err)), 0);
	assert_false(rec->have_system);
	recording_free(rec);
	/* system.csv is not a samples file. */
	snprintf(path, sizeof(path), "%s/system.csv", dir);
	assert_int_equal(recording_load(path, &rec, err, sizeof(err)), -EINVAL);
	assert_non_null(
		strstr(err, "system.csv: this is a system.csv; give the recording directory"));
	snprintf(path, sizeof(path), "%s/none", dir);
	assert_int_equal(recording_load(path, &rec, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "none: No such file or directory"));
	fixture_rmdir(dir);
}

/* A made-up file where two processes are each other's parent must not hang the tree walk. */
static void test_parent_cycle(void **state)
{
	(void)state;
	const char *samples = SAMPLES_HEADER "1,a,1,1,1,5.0,9.0,0,2,S,1,0,0,0,0,0,0,0,0,0,0,0,0\n"
					     "2,b,1,1,1,5.0,9.0,0,1,S,1,0,0,0,0,0,0,0,0,0,0,0,0\n"
					     "3,c,1,1,1,5.0,9.0,0,3,S,1,0,0,0,0,0,0,0,0,0,0,0,0\n";
	char *dir;
	struct recording *rec = fixture_load(samples, NULL, &dir);
	int roots = 0;
	for (size_t i = 0; i < rec->nprocs; i++)
		roots += rec->procs[i].parent < 0;
	assert_int_equal(roots, 2); /* the cycle cut once; 3 is not its own parent */
	struct report *r;
	assert_int_equal(report_build(rec, &r), 0);
	assert_int_equal(r->nprocs, 3);
	assert_int_equal(r->ntrees, 1);
	report_free(r);
	recording_free(rec);
	fixture_rmdir(dir);
}

static void test_header_only(void **state)
{
	(void)state;
	char *dir;
	struct recording *rec = fixture_load(SAMPLES_HEADER, NULL, &dir);
	assert_int_equal(rec->nprocs, 0);
	assert_non_null(strstr(sb_str(&rec->warnings), "no samples (only a header)"));
	struct report *r;
	assert_int_equal(report_build(rec, &r), 0);
	assert_int_equal(r->nprocs, 0);
	report_free(r);
	recording_free(rec);
	fixture_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_fixture),
		cmocka_unit_test(test_process_statistics),
		cmocka_unit_test(test_uncounted_memory),
		cmocka_unit_test(test_tree_statistics),
		cmocka_unit_test(test_machine_statistics),
		cmocka_unit_test(test_pid_reuse),
		cmocka_unit_test(test_profit_columns_only),
		cmocka_unit_test(test_missing_values_and_crlf),
		cmocka_unit_test(test_truncated_last_line),
		cmocka_unit_test(test_bad_input_messages),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_parent_cycle),
		cmocka_unit_test(test_header_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
