#!/usr/bin/env python3
"""profkit record against perf record (+ perf script), side by side in the same run.

    python3 bench/record_bench.py --build build [--seconds 10] [--rounds 3]

A  on-CPU at 49 Hz, 1 busy thread: slowdown of a fixed amount of work (bench/cpuwork.c)
   under `profkit record -F 49` and `perf record -F 49 -g`, against the work alone
B  999 Hz with DWARF user stacks, 2 busy threads: slowdown under `profkit record -F 999`
   and `perf record -F 999 --call-graph dwarf`; bytes written by each
C  from the end of the recording to the flamegraph: profkit's time after the target
   exited (it has written every file when it exits) against `perf script` alone on B's
   perf.data (perf would still need stackcollapse + flamegraph.pl)
D  CPU of the whole job: profkit (recording + every output) against perf record +
   perf script, the target's own CPU subtracted (cpuwork prints it)

Slowdown = wall time of the work under the profiler / wall time alone - 1; each number is
the median of --rounds rounds, run interleaved so that the machine's load hits all alike.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


last_exit = 0.0  # time.monotonic() (CLOCK_MONOTONIC) when run_rusage's command exited


def run_rusage(cmd, cwd=None):
    """Runs cmd with wait4: (wall s, user+sys CPU s of it and its children, stdout)."""
    t0 = time.monotonic()
    out_path = tempfile.mktemp()
    with open(out_path, "wb") as out:
        pid = os.fork()
        if pid == 0:
            os.chdir(cwd or ".")
            os.dup2(out.fileno(), 1)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.execvp(cmd[0], cmd)
        _, status, ru = os.wait4(pid, 0)
    global last_exit
    last_exit = time.monotonic()
    wall = last_exit - t0
    data = Path(out_path).read_bytes()
    os.unlink(out_path)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("record_bench: %s failed: %s" % (" ".join(cmd), data[-2000:]))
    return wall, ru.ru_utime + ru.ru_stime, data


def work_result(out):
    m = re.search(rb"wall ([\d.]+) cpu ([\d.]+)", out)
    if not m:
        sys.exit("record_bench: cpuwork printed %r" % out[-500:])
    return float(m.group(1)), float(m.group(2))


def calibrate(cpuwork, seconds):
    _, _, out = run_rusage([cpuwork, "1", "20000"])
    wall, _ = work_result(out)
    return max(1000, int(20000 * seconds / wall))


def dir_bytes(path):
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def median(v):
    return statistics.median(v) if v else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    build = Path(a.build).resolve()
    profkit = str(build / "profkit")
    cpuwork = str(build / "bench" / "cpuwork")
    perf = shutil.which("perf")
    if not perf:
        sys.exit("record_bench: perf is not installed (apt-get install linux-perf)")
    iters = calibrate(cpuwork, a.seconds)
    print("cpuwork: %d iterations per thread ~ %.0f s" % (iters, a.seconds))
    res = {k: [] for k in ("alone1", "pk49", "perf49", "alone2", "pk999", "perf999",
                           "pk_bytes", "perf_bytes", "pk_after", "perf_script",
                           "pk_cpu", "perf_cpu")}
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(a.rounds):
            w1 = [cpuwork, "1", str(iters)]
            w2 = [cpuwork, "2", str(iters)]
            res["alone1"].append(work_result(run_rusage(w1)[2])[0])
            res["pk49"].append(work_result(run_rusage(
                [profkit, "record", "-q", "-F", "49", "-o", tmp + "/a", "--"] + w1)[2])[0])
            res["perf49"].append(work_result(run_rusage(
                [perf, "record", "-q", "-F", "49", "-g", "-o", tmp + "/a.data", "--"] + w1)[2])[0])
            res["alone2"].append(work_result(run_rusage(w2)[2])[0])
            prefix = tmp + "/b%d" % rnd
            wall, cpu, out = run_rusage([profkit, "record", "-q", "-F", "999", "-o", prefix, "--"] + w2)
            twall, tcpu = work_result(out)
            res["pk999"].append(twall)
            res["pk_after"].append(last_exit - float(re.search(rb"end ([\d.]+)", out).group(1)))
            res["pk_cpu"].append(cpu - tcpu)
            res["pk_bytes"].append(sum(Path(p).stat().st_size for p in Path(tmp).glob("b%d*" % rnd)
                                       if Path(p).is_file()) + (dir_bytes(prefix) if Path(prefix).is_dir() else 0))
            data = tmp + "/b%d.data" % rnd
            wall, cpu, out = run_rusage([perf, "record", "-q", "-F", "999", "--call-graph", "dwarf",
                                         "-o", data, "--"] + w2)
            twall, tcpu = work_result(out)
            res["perf999"].append(twall)
            res["perf_bytes"].append(Path(data).stat().st_size)
            swall, scpu, _ = run_rusage([perf, "script", "-i", data])
            res["perf_script"].append(swall)
            res["perf_cpu"].append(cpu - tcpu + scpu)
            Path(data).unlink()
            print("round %d done" % (rnd + 1), flush=True)

    def slow(key, alone):
        return 100.0 * (median(res[key]) / median(res[alone]) - 1)

    print()
    print("A  49 Hz, 1 thread:  profkit +%.2f%%   perf record -g +%.2f%%   (target < 1%%)"
          % (slow("pk49", "alone1"), slow("perf49", "alone1")))
    print("B  999 Hz DWARF, 2 threads: profkit +%.2f%%   perf --call-graph dwarf +%.2f%%"
          % (slow("pk999", "alone2"), slow("perf999", "alone2")))
    print("   bytes written: profkit %.1f MB, perf.data %.1f MB (ratio %.4f)"
          % (median(res["pk_bytes"]) / 1e6, median(res["perf_bytes"]) / 1e6,
             median(res["pk_bytes"]) / median(res["perf_bytes"])))
    print("C  end to SVG: profkit %.3f s after the target exited; perf script alone %.3f s "
          "(%.1fx)" % (median(res["pk_after"]), median(res["perf_script"]),
                        median(res["perf_script"]) / max(median(res["pk_after"]), 1e-6)))
    print("D  CPU of the whole job: profkit %.2f s, perf record + perf script %.2f s (ratio %.2f)"
          % (median(res["pk_cpu"]), median(res["perf_cpu"]),
             median(res["pk_cpu"]) / median(res["perf_cpu"])))


if __name__ == "__main__":
    main()
