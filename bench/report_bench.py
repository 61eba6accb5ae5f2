#!/usr/bin/env python3
"""profkit report on a large samples.csv, timed side by side with pandas.

Generates a samples.csv of ROWS rows (default 1,000,000: 50 processes over 20,000 ticks,
with every column profkit writes), then measures in the same run:

  profkit   `profkit report FILE` (text), and `--format json`
  pandas    read_csv(FILE) + describe(): the quick look a user would take instead
  pandas    read_csv(FILE) + groupby(['pid', 'creation_epoch']).describe(): closer to what
            report computes per process (still less: no trend, no trees, no counters)

CPU time is user + system of the child process (resource.getrusage(RUSAGE_CHILDREN)), the
best of --repeat runs. Prints the ratio; the targets are under 1 s of CPU for profkit and
at least 5x less than pandas.

    bench/report_bench.py --profkit build/profkit [--rows 1000000] [--repeat 3]

pandas comes from Debian: apt-get install python3-pandas (run with /usr/bin/python3).
"""

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time

HEADER = ("pid,name,cpu_percent,mem_real,num_open_files,creation_epoch,timestamp,elapsed_s,"
          "ppid,state,num_threads,cpu_user_s,cpu_system_s,mem_virtual,mem_swap,read_bytes,"
          "write_bytes,ctx_voluntary,ctx_involuntary,minor_faults,major_faults,read_chars,"
          "write_chars\n")

PANDAS_DESCRIBE = r"""
import sys
import pandas as pd
df = pd.read_csv(sys.argv[1])
sys.stdout.write(df.describe(percentiles=[0.5, 0.95]).to_string()[:100])
"""

PANDAS_GROUPBY = r"""
import sys
import pandas as pd
df = pd.read_csv(sys.argv[1])
stats = df.groupby(["pid", "creation_epoch"])[["cpu_percent", "mem_real", "mem_virtual",
    "num_open_files", "num_threads"]].describe(percentiles=[0.5, 0.95])
sys.stdout.write(stats.to_string()[:100])
"""


def generate(path, rows, procs=50):
    """Writes rows rows: procs processes sampled every 50 ms, one leaking."""
    rng = random.Random(1)
    ticks = rows // procs
    t0 = 1795371783.5
    lines = [HEADER]
    with open(path, "w") as f:
        for tick in range(ticks):
            ts = t0 + tick * 0.05
            for p in range(procs):
                pid = 1000 + p
                rss = 50_000_000 + p * 1_000_000 + (tick * 4096 if p == 0 else rng.randrange(0, 409600))
                cpu = rng.random() * 100
                lines.append("%d,worker-%d,%.2f,%d,%d,%.3f,%.6f,%.6f,%d,S,%d,%.2f,%.2f,%d,0,%d,%d,%d,%d,%d,0,%d,%d\n" % (
                    pid, p, cpu, rss, 5 + p % 3, t0 - 1, ts, tick * 0.05, 999 if p else 1, 1 + p % 4,
                    tick * 0.02, tick * 0.005, rss * 3, tick * 4096, tick * 512, tick, tick // 10,
                    tick * 7, tick * 5000, tick * 600))
            if len(lines) > 20000:
                f.write("".join(lines))
                lines = []
        f.write("".join(lines))
    return ticks * procs


def cpu_of(argv, stdout=subprocess.DEVNULL):
    """Runs argv; returns (cpu seconds, wall seconds) of that child alone."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    subprocess.run(argv, check=True, stdout=stdout)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def best(argv, repeat):
    runs = [cpu_of(argv) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profkit", default=os.environ.get("PROFKIT", "build/profkit"))
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--python", default="/usr/bin/python3", help="the Python that has pandas")
    ap.add_argument("--keep", help="write the generated file here and keep it")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or os.path.join(tmp, "samples.csv")
        rows = generate(path, args.rows)
        size = os.path.getsize(path)
        print("samples.csv: %d rows, %.1f MB" % (rows, size / 1e6))

        pk_cpu, pk_wall = best([args.profkit, "report", path], args.repeat)
        pk_json_cpu, _ = best([args.profkit, "report", "--format", "json", path], args.repeat)
        print("profkit report                         %6.3f s CPU  %6.3f s wall" % (pk_cpu, pk_wall))
        print("profkit report --format json           %6.3f s CPU" % pk_json_cpu)

        has_pandas = subprocess.run([args.python, "-c", "import pandas"],
                                    stderr=subprocess.DEVNULL).returncode == 0
        if not has_pandas:
            print("pandas: not installed for %s (apt-get install python3-pandas)" % args.python)
            return 0 if pk_cpu < 1.0 else 1
        pd_cpu, pd_wall = best([args.python, "-c", PANDAS_DESCRIBE, path], args.repeat)
        gb_cpu, gb_wall = best([args.python, "-c", PANDAS_GROUPBY, path], args.repeat)
        print("pandas read_csv + describe()          %6.3f s CPU  %6.3f s wall" % (pd_cpu, pd_wall))
        print("pandas read_csv + groupby().describe() %6.3f s CPU  %6.3f s wall" % (gb_cpu, gb_wall))
        ratio = pd_cpu / pk_cpu if pk_cpu > 0 else float("inf")
        print("ratio: profkit uses %.1fx less CPU than read_csv + describe(), %.1fx less than "
              "the groupby (targets: >= 5x, profkit < 1 s)" % (ratio, gb_cpu / pk_cpu))
        return 0 if pk_cpu < 1.0 and ratio >= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
