#!/usr/bin/env python3
"""bench/py_slowdown.py: how much `profkit py` at 100 µs slows its target, phase by phase.

py_bench.py compares whole runs of the same work (alone, with profkit, with a bare timer
loop), one after another. On this VM that comparison drowns: the host runs the same work at
two speeds, in episodes of minutes, and a run lands in either (docs/performance-py.md). This
benchmark instead interleaves the states inside one run of the target, in phases far
shorter than those episodes:

  off -> profkit -> off -> bare -> off -> profkit -> ...   (--phase seconds each)

Both samplers are attached for the whole run; the one not in its phase is held with
SIGSTOP, so it neither wakes nor reads. The target repeats a fixed amount of pure-Python
work (a chunk, ~10 ms) and records each chunk's own thread CPU time (CLOCK_THREAD_CPUTIME_ID)
and its start and end on CLOCK_MONOTONIC, which the harness shares. A chunk counts for a
phase when it lies wholly inside it, after a guard (--guard) that lets the switch settle.

For each state the target's CPU per chunk is compared with the off phases next to it, cycle
by cycle (a cycle = off, profkit, off, bare): the growth is the median of those paired
ratios, with the interquartile range beside it. The target is pinned to the last CPU and
both samplers to the first, as in py_bench.py.

  python3 bench/py_slowdown.py [--build build] [--seconds 40] [--phase 0.4]
                               [--interval 0.0001] [--versions 3.8,3.12]
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from py_bench import WORK, setup  # noqa: E402

TARGET = WORK + r"""
n = calibrate(float(sys.argv[1]))
print(n, flush=True)
sys.stdin.readline()                  # the samplers are attached: go
end = time.monotonic() + float(sys.argv[2])
rows = []
while True:
    w0 = time.monotonic(); c0 = time.thread_time()
    work(n)
    c1 = time.thread_time(); w1 = time.monotonic()
    rows.append((w0, w1, c1 - c0))
    if w1 > end:
        break
for r in rows:
    print("%.6f %.6f %.9f" % r)
"""


def pinned(cpu):
    return (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None


def quartiles(xs):
    q = statistics.quantiles(xs, n=4)
    return q[0], statistics.median(xs), q[2]


def run_version(args, py, script, cpus):
    target_cpu, sampler_cpu = (cpus[-1], cpus[0]) if len(cpus) >= 2 else (None, None)
    t = subprocess.Popen([py, script, str(args.chunk), str(args.seconds)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                         preexec_fn=pinned(target_cpu))
    t.stdout.readline()
    tmp = tempfile.mkdtemp(prefix="py_slowdown.")
    pk = subprocess.Popen([args.profkit, "py", "-p", str(t.pid), "--batch", "-q", "-i",
                           str(args.interval), "-o", os.path.join(tmp, "pk"), "-f", "work",
                           "step"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          preexec_fn=pinned(sampler_cpu))
    procs = {"pk": pk, "bare": subprocess.Popen(
        [args.tick, str(args.interval), str(args.seconds + 30)], stdout=subprocess.DEVNULL,
        preexec_fn=pinned(sampler_cpu))}
    if args.control:
        # memory traffic from the samplers' CPU: 64 MiB copies through the kernel
        procs["control"] = subprocess.Popen(
            ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M"], stderr=subprocess.DEVNULL,
            preexec_fn=pinned(sampler_cpu))
    time.sleep(0.5)  # profkit attaches
    for p in procs.values():
        os.kill(p.pid, signal.SIGSTOP)
    t.stdin.write("go\n")
    t.stdin.flush()
    phases = []  # (state, start, end)
    order = [x for s in procs for x in ("off", s)]
    end = time.monotonic() + args.seconds
    k = 0
    while time.monotonic() < end:
        state = order[k % len(order)]
        if state != "off":
            os.kill(procs[state].pid, signal.SIGCONT)
        t0 = time.monotonic()
        time.sleep(args.phase)
        if state != "off":
            os.kill(procs[state].pid, signal.SIGSTOP)
        phases.append((state, t0, time.monotonic()))
        k += 1
    rows = [tuple(map(float, line.split())) for line in t.stdout]
    t.wait()
    for p in procs.values():
        os.kill(p.pid, signal.SIGCONT)
        if p is not pk:
            p.kill()
        p.wait()
    return phases, rows


def chunks_in(rows, t0, t1, guard):
    return [c for w0, w1, c in rows if w0 >= t0 + guard and w1 <= t1]


def analyse(phases, rows, guard):
    """Per cycle (off, pk, off, bare): each state's mean chunk CPU over the mean of the off
    phases on both sides of it."""
    means = []
    for state, t0, t1 in phases:
        cs = chunks_in(rows, t0, t1, guard)
        means.append((state, statistics.mean(cs) if cs else None, len(cs)))
    ratios = {"pk": [], "bare": [], "control": []}
    for i in range(1, len(means) - 1):
        state, m, _ = means[i]
        before, after = means[i - 1][1], means[i + 1][1]
        if state != "off" and m and before and after:
            ratios[state].append(m / ((before + after) / 2) - 1)
    counts = {s: sum(n for st, _, n in means if st == s) for s in ("off", "pk", "bare", "control")}
    return ratios, counts


def low_quantile_growth(phases, rows, guard, state, q=0.1):
    """The state's q-quantile chunk CPU over the off phases' (all chunks of the run), in %.
    When the host switches speed within phases, pairs of neighbouring phases disagree; the
    fast chunks of either state are still comparable."""
    def quantile(st):
        cs = sorted(c for s, t0, t1 in phases if s == st for c in chunks_in(rows, t0, t1, guard))
        return cs[int(q * (len(cs) - 1))] if cs else float("nan")
    return 100 * (quantile(state) / quantile("off") - 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "build"))
    ap.add_argument("--seconds", type=float, default=40)
    ap.add_argument("--phase", type=float, default=0.4)
    ap.add_argument("--guard", type=float, default=0.03)
    ap.add_argument("--chunk", type=float, default=0.01, help="seconds of CPU per chunk")
    ap.add_argument("--interval", type=float, default=0.0001)
    ap.add_argument("--versions", default="")
    ap.add_argument("--control", action="store_true",
                    help="a third state that must show: dd copying 64 MiB blocks on the "
                         "samplers' CPU (memory traffic), to see that the method detects")
    args = ap.parse_args()
    pys = setup(args)
    cpus = sorted(os.sched_getaffinity(0))
    tmp = tempfile.mkdtemp(prefix="py_slowdown.")
    script = os.path.join(tmp, "target.py")
    open(script, "w").write(TARGET)
    print("interval %g µs, phases of %g s over %g s per version, load average %s\n" % (
        args.interval * 1e6, args.phase, args.seconds,
        " ".join(open("/proc/loadavg").read().split()[:3])))
    print("| CPython | chunks off / profkit / bare | target CPU +%, profkit: median (IQR) "
          "| target CPU +%, bare loop: median (IQR) | profkit above bare (points) "
          "| fastest 10 %: profkit / bare | quartile 1: profkit / bare | all chunks' median: profkit / bare |")
    print("|---|---|---|---|---|---|---|---|")
    for v, py in pys.items():
        phases, rows = run_version(args, py, script, cpus)
        ratios, counts = analyse(phases, rows, args.guard)
        pq = [100 * x for x in quartiles(ratios["pk"])]
        bq = [100 * x for x in quartiles(ratios["bare"])]
        qs = [low_quantile_growth(phases, rows, args.guard, st, q)
              for q in (0.1, 0.25, 0.5) for st in ("pk", "bare")]
        print("| %s | %d / %d / %d | %+.2f (%+.2f .. %+.2f) | %+.2f (%+.2f .. %+.2f) | %+.2f "
              "| %+.2f / %+.2f | %+.2f / %+.2f | %+.2f / %+.2f |" % (
                  v, counts["off"], counts["pk"], counts["bare"], pq[1], pq[0], pq[2], bq[1],
                  bq[0], bq[2], pq[1] - bq[1], *qs), flush=True)
        if args.control and ratios["control"]:
            cq = [100 * x for x in quartiles(ratios["control"])]
            print("| %s, control (dd on the samplers' CPU) | %d chunks | %+.2f (%+.2f .. %+.2f) "
                  "| | | %+.2f | %+.2f | %+.2f |" % (
                      v, counts["control"], cq[1], cq[0], cq[2],
                      *[low_quantile_growth(phases, rows, args.guard, "control", q)
                        for q in (0.1, 0.25, 0.5)]), flush=True)


if __name__ == "__main__":
    main()
