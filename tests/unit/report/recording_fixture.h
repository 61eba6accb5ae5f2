/* Small recordings written into a temporary directory, for the loader and output tests. */
#ifndef PK_TESTS_RECORDING_FIXTURE_H
#define PK_TESTS_RECORDING_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "report/recording.h"

#define SAMPLES_HEADER                                                                             \
	"pid,name,cpu_percent,mem_real,num_open_files,creation_epoch,timestamp,elapsed_s,ppid,"    \
	"state,num_threads,cpu_user_s,cpu_system_s,mem_virtual,mem_swap,read_bytes,"               \
	"write_bytes,ctx_voluntary,ctx_involuntary,minor_faults,major_faults,read_chars,"          \
	"write_chars\n"

#define SYSTEM_HEADER                                                                              \
	"timestamp,elapsed_s,cpu_percent,cpu0_percent,cpu1_percent,mem_used,mem_available,"        \
	"swap_used,energy_j,power_w\n"

/* A recording of `make` (pid 100, started before the recording) and its child, a compiler
 * with a hostile name (pid 101), which starts at tick 2 and is a zombie at tick 5. */
static const char fixture_samples[] = SAMPLES_HEADER
	"100,make,10.00,1000000,5,1000.000,2000.000000,0.000000,1,S,1,5.00,1.00,9000000,0,100,10,"
	"50,5,1000,2,0,0\n"
	"100,make,20.00,2000000,5,1000.000,2000.100000,0.100000,1,S,1,5.01,1.00,9000000,0,200,20,"
	"51,5,1010,2,0,0\n"
	"100,make,30.00,3000000,6,1000.000,2000.200000,0.200000,1,S,2,5.02,1.01,9100000,0,300,30,"
	"52,6,1020,2,0,0\n"
	"101,\"cc, \"\"the\"\" "
	"<b>compiler</"
	"b>\",50.00,4000000,3,2000.150,2000.200000,0.200000,100,R,1,0.01,0.00,7000000,,0,0,1,1,100,"
	"0,0,0\n"
	"100,make,40.00,4000000,6,1000.000,2000.300000,0.300000,1,S,2,5.03,1.01,9100000,0,400,40,"
	"53,6,1030,3,0,0\n"
	"101,\"cc, \"\"the\"\" "
	"<b>compiler</"
	"b>\",100.00,8000000,3,2000.150,2000.300000,0.300000,100,R,1,0.11,0.00,7000000,,0,0,1,3,"
	"200,0,0,0\n"
	"100,make,50.00,5000000,,1000.000,2000.400000,0.400000,1,S,2,5.04,1.02,9200000,0,500,50,54,"
	"6,1040,3,0,0\n"
	"101,\"cc, \"\"the\"\" "
	"<b>compiler</"
	"b>\",100.00,12000000,3,2000.150,2000.400000,0.400000,100,R,1,0.21,0.00,7000000,,0,0,1,5,"
	"300,0,0,0\n"
	"100,make,60.00,6000000,6,1000.000,2000.500000,0.500000,1,S,2,5.05,1.02,9200000,0,600,60,"
	"55,6,1050,3,0,0\n"
	"101,\"cc, \"\"the\"\" "
	"<b>compiler</"
	"b>\",40.00,0,,2000.150,2000.500000,0.500000,100,Z,1,0.25,0.00,0,,0,0,2,5,310,0,0,0\n";

/* Memory that is not a measurement: python (pid 5) reads RSS 0 in its first sample, just
 * after exec, with 7.5 MB of address space (Linux's per-CPU RSS counter had not counted it
 * yet), and is a zombie with 0 bytes in its last; a kernel thread (pid 6, no address space)
 * and a process swapped out (pid 7) really hold 0 bytes. */
static const char fixture_uncounted_samples[] =
	SAMPLES_HEADER "5,py,,0,5,99.990,100.0,0,1,R,1,0.00,0.00,7503872,0,0,0,0,1,32,0,0,0\n"
		       "6,kthread,0,0,,50.000,100.0,0,2,S,1,0.00,0.00,0,,0,0,0,0,0,0,0,0\n"
		       "7,swapped,0,0,3,50.000,100.0,0,1,S,1,0.00,0.00,9000000,8000000,0,0,0,0,0,"
		       "0,0,0\n"
		       "5,py,30.00,9936896,6,99.990,100.1,0.1,1,S,1,0.02,0.00,15884288,0,0,0,1,1,"
		       "900,0,0,0\n"
		       "6,kthread,0,0,,50.000,100.1,0.1,2,S,1,0.00,0.00,0,,0,0,0,0,0,0,0,0\n"
		       "7,swapped,0,0,3,50.000,100.1,0.1,1,S,1,0.00,0.00,9000000,8000000,0,0,0,0,"
		       "0,0,0,0\n"
		       "5,py,20.00,12095488,5,99.990,100.2,0.2,1,R,2,0.04,0.01,17891328,0,0,0,2,2,"
		       "1600,0,0,0\n"
		       "5,py,40.00,0,,99.990,100.25,0.25,1,Z,1,0.05,0.01,0,,0,0,3,2,1700,0,0,0\n";

static const char fixture_system[] =
	SYSTEM_HEADER "2000.000000,0.000000,10.00,20.00,0.00,1000,9000,0,0.000000,\n"
		      "2000.100000,0.100000,20.00,30.00,10.00,2000,8000,0,1.000000,10.000\n"
		      "2000.200000,0.200000,30.00,40.00,20.00,3000,7000,0,2.000000,10.000\n"
		      "2000.300000,0.300000,40.00,50.00,30.00,4000,6000,0,3.000000,10.000\n"
		      "2000.400000,0.400000,50.00,60.00,40.00,5000,5000,0,4.000000,10.000\n"
		      "2000.500000,0.500000,60.00,70.00,50.00,6000,4000,0,5.000000,10.000\n";

static inline void fixture_write(const char *dir, const char *name, const char *content)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		fail_msg("cannot write %s", path);
	fputs(content, f);
	fclose(f);
}

/* A new temporary directory (removed by fixture_rmdir). */
static inline char *fixture_dir(void)
{
	char *dir = strdup("/tmp/profkit-report-test.XXXXXX");
	if (!mkdtemp(dir))
		fail_msg("mkdtemp failed");
	return dir;
}

static inline void fixture_rmdir(char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fail_msg("cannot remove %s", dir);
	free(dir);
}

/* Writes samples (and system, when not NULL) into a new directory and loads it; fails the
 * test when loading fails. */
static inline struct recording *fixture_load(const char *samples, const char *system,
					     char **ret_dir)
{
	char *dir = fixture_dir();
	fixture_write(dir, "samples.csv", samples);
	if (system)
		fixture_write(dir, "system.csv", system);
	struct recording *rec = NULL;
	char err[1024];
	if (recording_load(dir, &rec, err, sizeof(err)) < 0)
		fail_msg("loading failed: %s", err);
	*ret_dir = dir;
	return rec;
}

/* Loads samples that must fail; returns the error message (static). */
static inline const char *fixture_error(const char *samples, const char *system)
{
	static char err[1024];
	char *dir = fixture_dir();
	fixture_write(dir, "samples.csv", samples);
	if (system)
		fixture_write(dir, "system.csv", system);
	struct recording *rec = NULL;
	if (recording_load(dir, &rec, err, sizeof(err)) == 0)
		fail_msg("loading did not fail");
	/* Messages name the file by its full path; tests compare what follows the directory. */
	size_t n = strlen(dir);
	const char *rel = strncmp(err, dir, n) == 0 ? err + n + 1 : err;
	memmove(err, rel, strlen(rel) + 1);
	fixture_rmdir(dir);
	return err;
}

#endif
