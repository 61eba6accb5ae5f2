/* samples.csv and system.csv columns (DESIGN.md "Output files"). */
#include "unit.h"

#include <math.h>
#include <string.h>
#include "output/rows.h"

#define PROFIT_COLUMNS "pid,name,cpu_percent,mem_real,num_open_files,creation_epoch,timestamp"
#define REQUIRED_COLUMNS                                                                      \
	"elapsed_s,ppid,state,num_threads,cpu_user_s,cpu_system_s,mem_virtual,mem_swap,"     \
	"read_bytes,write_bytes,ctx_voluntary,ctx_involuntary,minor_faults,major_faults"

static size_t count_char(const char *s, char c)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == c;
	return n;
}

/* A sample where every value was read. */
static struct proc_sample full_sample(void)
{
	struct proc_sample s = { 0 };
	s.have = SAMPLE_HAVE_STATUS | SAMPLE_HAVE_IO | SAMPLE_HAVE_FDS | SAMPLE_HAVE_CTX |
		 SAMPLE_HAVE_PSS | SAMPLE_HAVE_RSS;
	/* mem_real is rss_bytes (status's VmRSS), not stat's approximate rss pages. */
	s.stat = (struct proc_stat){ .pid = 42, .state = 'R', .ppid = 1, .minflt = 7, .majflt = 8,
				     .utime = 250, .stime = 50, .num_threads = 3,
				     .vsize = 1000000, .rss = 90 };
	s.rss_bytes = 409600;
	s.status.have = STATUS_HAVE_SWAP;
	s.status.vm_swap_kb = 2;
	s.io = (struct proc_io){ .rchar = 33, .wchar = 44, .read_bytes = 11, .write_bytes = 22 };
	s.ctx_voluntary = 5;
	s.ctx_involuntary = 6;
	s.num_fds = 7;
	s.pss = (struct proc_pss){ .pss = 12288, .uss = 8192 };
	return s;
}

static struct proc_row row_of(const struct proc_sample *s, const char *name)
{
	return (struct proc_row){ .s = s, .name = name, .cpu_percent = 99.5,
				  .creation_epoch = 1700000000.25, .timestamp = 1700000010.5,
				  .elapsed_s = 10.25, .page_size = 4096, .clk_tck = 100 };
}

/* -e: counter columns after the others; an uncounted event, or a process without counters
 * of its own, gives empty fields; a name with a comma is quoted in the header. */
static void test_counter_columns(void **state)
{
	const char *const names[] = { "page-faults", "instructions", "a,b" };
	struct strbuf head = STRBUF_INIT, line = STRBUF_INIT, none = STRBUF_INIT;
	rows_samples_header(&head, false, names, 3);
	const char *h = sb_str(&head);
	assert_non_null(strstr(h, ",major_faults,read_chars,write_chars,page-faults,"
				  "instructions,\"a,b\"\n"));
	struct proc_sample s = full_sample();
	struct proc_row row = row_of(&s, "p");
	const uint64_t values[] = { 1234, 99, 7 };
	const bool have[] = { true, false, true };
	row.ncounters = 3;
	row.counters = values;
	row.counter_have = have;
	rows_samples_row(&line, &row, false);
	const char *l = sb_str(&line);
	assert_true(strlen(l) > 10);
	assert_string_equal(l + strlen(l) - strlen(",1234,,7\n"), ",1234,,7\n");
	row.counters = NULL;
	rows_samples_row(&none, &row, false);
	const char *n = sb_str(&none);
	assert_string_equal(n + strlen(n) - strlen(",,,\n"), ",,,\n");
	sb_free(&head);
	sb_free(&line);
	sb_free(&none);
}

static void test_samples_header_order(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	rows_samples_header(&sb, false, NULL, 0);
	const char *want = PROFIT_COLUMNS "," REQUIRED_COLUMNS;
	assert_int_equal(strncmp(sb_str(&sb), want, strlen(want)), 0);
	assert_int_equal(sb.buf[sb.len - 1], '\n');
	sb_reset(&sb);
	rows_samples_header(&sb, true, NULL, 0);
	assert_int_equal(strncmp(sb_str(&sb), want, strlen(want)), 0);
	const char *pss_tail = ",mem_pss,mem_uss\n";
	assert_string_equal(sb.buf + sb.len - strlen(pss_tail), pss_tail);
	sb_free(&sb);
}

static void test_full_row(void **state)
{
	struct proc_sample s = full_sample();
	struct proc_row row = row_of(&s, "spin");
	struct strbuf sb = STRBUF_INIT;
	rows_samples_row(&sb, &row, true);
	assert_string_equal(sb_str(&sb),
			    "42,spin,99.50,409600,7,1700000000.250,1700000010.500000,10.250000,"
			    "1,R,3,2.50,0.50,1000000,2048,11,22,5,6,7,8,33,44,12288,8192\n");
	sb_free(&sb);
}

static void test_row_has_as_many_fields_as_header(void **state)
{
	struct proc_sample s = full_sample();
	struct proc_row row = row_of(&s, "spin");
	for (int pss = 0; pss <= 1; pss++) {
		struct strbuf head = STRBUF_INIT, line = STRBUF_INIT;
		rows_samples_header(&head, pss, NULL, 0);
		rows_samples_row(&line, &row, pss);
		assert_int_equal(count_char(sb_str(&head), ','), count_char(sb_str(&line), ','));
		sb_free(&head);
		sb_free(&line);
	}
}

static void test_unreadable_values_are_empty(void **state)
{
	struct proc_sample s = { 0 };
	s.stat = (struct proc_stat){ .pid = 7, .state = 'Z', .num_threads = 1 };
	s.status.have = STATUS_HAVE_SWAP; /* but the status sample itself is not there */
	struct proc_row row = { .s = &s, .name = "x", .cpu_percent = NAN, .creation_epoch = NAN,
				.timestamp = 1.5, .elapsed_s = 0, .page_size = 4096,
				.clk_tck = 100 };
	struct strbuf sb = STRBUF_INIT;
	rows_samples_row(&sb, &row, true);
	assert_string_equal(sb_str(&sb), "7,x,,,,,1.500000,0.000000,0,Z,1,0.00,0.00,0,,,,,,0,0,,,,\n");
	sb_free(&sb);
}

static void test_name_is_quoted(void **state)
{
	struct proc_sample s = full_sample();
	struct proc_row row = row_of(&s, "evil,\"name\"\nx");
	struct strbuf sb = STRBUF_INIT;
	rows_samples_row(&sb, &row, false);
	const char *want = "42,\"evil,\"\"name\"\"\nx\",99.50,";
	assert_int_equal(strncmp(sb_str(&sb), want, strlen(want)), 0);
	sb_free(&sb);
}

static void test_odd_state_is_empty(void **state)
{
	const char odd[] = { ',', '"', '\n', '\0', ' ', (char)0xff };
	for (size_t i = 0; i < sizeof(odd); i++) {
		struct proc_sample s = full_sample();
		s.stat.state = odd[i];
		struct proc_row row = row_of(&s, "n");
		struct strbuf sb = STRBUF_INIT;
		rows_samples_row(&sb, &row, false);
		assert_non_null(strstr(sb_str(&sb), ",1,,3,"));
		sb_free(&sb);
	}
}

static void test_system_header(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	rows_system_header(&sb, 2);
	assert_string_equal(sb_str(&sb), "timestamp,elapsed_s,cpu_percent,cpu0_percent,cpu1_percent,"
					 "mem_used,mem_available,swap_used,energy_j,power_w\n");
	sb_free(&sb);
}

static void test_system_rows(void **state)
{
	double per_core[2] = { 10, NAN };
	struct system_sample s = { .have_cpu = true, .have_mem = true, .cpu_percent = 5.125,
				   .cpu_percent_per_core = per_core,
				   .mem = { .total = 1000, .available = 400, .swap_total = 50,
					    .swap_free = 20 } };
	struct system_row row = { .s = &s, .ncpus = 2, .timestamp = 100.25, .elapsed_s = 1,
				  .energy_j = NAN, .power_w = NAN };
	struct strbuf sb = STRBUF_INIT;
	rows_system_row(&sb, &row);
	assert_string_equal(sb_str(&sb), "100.250000,1.000000,5.13,10.00,,600,400,30,,\n");

	s.have_cpu = s.have_mem = false;
	row.energy_j = 2.5;
	row.power_w = 0.75;
	sb_reset(&sb);
	rows_system_row(&sb, &row);
	assert_string_equal(sb_str(&sb), "100.250000,1.000000,,,,,,,2.500000,0.750\n");
	sb_free(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples_header_order),
		cmocka_unit_test(test_counter_columns),
		cmocka_unit_test(test_full_row),
		cmocka_unit_test(test_row_has_as_many_fields_as_header),
		cmocka_unit_test(test_unreadable_values_are_empty),
		cmocka_unit_test(test_name_is_quoted),
		cmocka_unit_test(test_odd_state_is_empty),
		cmocka_unit_test(test_system_header),
		cmocka_unit_test(test_system_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
