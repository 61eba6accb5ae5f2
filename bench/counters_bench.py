#!/usr/bin/env python3
"""Benchmarks of profkit's counters (issue 4), side by side with perf in the same run.

    python3 bench/counters_bench.py [--build build] [--seconds 60] [--runs 7]

1. read cost: pk_counters_read() of a 4-counter group against the bare read() syscall
   (bench/counters_bench, built in the build directory's bench/).
2. schedule: `profkit stat -a -I 1 -d SECONDS`: rows expected vs written, lateness of each
   row against its 1 ms slot, and the drift (lateness of the last rows).
3. overhead on the target: a fixed CPU-bound workload (tests/unit/perf/perf_workload) run
   bare, under `profkit stat -I 10` and under `perf stat -I 10`, alternating; the best of
   RUNS wall times each, and the slowdown of each tool against bare.
Prints a Markdown summary (pasted into docs/counters.md)."""

import argparse
import csv
import io
import os
import shutil
import statistics
import subprocess
import sys
import time

EVENTS = "task-clock,page-faults,context-switches"


def timed(cmd):
    t0 = time.monotonic()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.monotonic() - t0


def read_cost(build):
    out = subprocess.run([os.path.join(build, "bench", "counters_bench"), "400000"],
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    return dict(kv.split("=") for kv in out.split())


def schedule(build, seconds):
    p = subprocess.run([os.path.join(build, "profkit"), "stat", "-a", "-e", "cpu-clock",
                        "-I", "1", "-d", str(seconds)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=seconds + 60)
    if p.returncode != 0:
        sys.exit("profkit stat failed: " + p.stderr)
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    el = [float(r["elapsed_s"]) for r in rows]
    expected = int(seconds * 1000)
    late = []
    for e in el:
        slot = int(e * 1000)  # the 1 ms deadline the row was taken after
        late.append(e * 1000 - slot)
    late_ms = sorted(late)
    tail = late[-1000:]
    return {
        "rows": len(rows), "expected": expected,
        "median_late_ms": statistics.median(late_ms),
        "p99_late_ms": late_ms[int(0.99 * (len(late_ms) - 1))],
        "max_late_ms": late_ms[-1],
        "drift_last_1000_ms": statistics.median(tail),
        "last_elapsed_s": el[-1],
    }


def overhead(build, runs):
    work = [os.path.join(build, "tests", "unit", "perf", "perf_workload"), "0", "0", "400", "0"]
    tools = {
        "bare": work,
        "profkit stat -I 10": [os.path.join(build, "profkit"), "stat", "-e", EVENTS, "-I", "10",
                               "-o", "/dev/null", "--"] + work,
    }
    if shutil.which("perf"):
        tools["perf stat -I 10"] = ["perf", "stat", "-e", EVENTS, "-I", "10", "-o", "/dev/null",
                                    "--"] + work
    times = {k: [] for k in tools}
    for _ in range(runs):
        for k, cmd in tools.items():
            times[k].append(timed(cmd))
    best = {k: min(v) for k, v in times.items()}
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    rc = read_cost(a.build)
    print("## read cost of a group of 4 counters\n")
    print("| bare read() | pk_counters_read() | ratio |\n|---|---|---|")
    print("| %s ns | %s ns | %s |\n" % (rc["bare_ns"], rc["pk_ns"], rc["ratio"]))
    ov = overhead(a.build, a.runs)
    print("## overhead on the target (best of %d, fixed CPU-bound work)\n" % a.runs)
    print("| run | wall s | vs bare |\n|---|---|---|")
    for k, v in ov.items():
        print("| %s | %.4f | %+.2f%% |" % (k, v, 100 * (v / ov["bare"] - 1)))
    print()
    sc = schedule(a.build, a.seconds)
    print("## `stat -a -I 1 -d %g`: the schedule\n" % a.seconds)
    print("| rows | expected | median late | p99 late | max late | drift (median lateness "
          "of the last 1000 rows) |\n|---|---|---|---|---|---|")
    print("| %d | %d | %.3f ms | %.3f ms | %.3f ms | %.3f ms |" % (
        sc["rows"], sc["expected"], sc["median_late_ms"], sc["p99_late_ms"], sc["max_late_ms"],
        sc["drift_last_1000_ms"]))


if __name__ == "__main__":
    main()
