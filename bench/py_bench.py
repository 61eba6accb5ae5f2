#!/usr/bin/env python3
"""bench/py_bench.py: the cost of `profkit py` at a 100 µs interval, in one run.

For every installed CPython (pyenv's 3.8-3.13, Debian's /usr/bin/python3.11), each round
runs the same single-threaded target (a fixed amount of pure-Python work, started on a
signal so that the profiler is attached before it begins) four ways, one after another:

  base    alone: the target's own CPU time for the work, with nothing attached;
  profkit `profkit py -p PID --batch -i INTERVAL`: samples/s achieved, deadlines skipped,
          the target's CPU time, profkit's CPU time per sample (wait4 rusage), reads and
          bytes per sample (from PREFIX.json's "sampler");
  bare    bench/py_tick (build/bench/py_tick): a timer loop that only sleeps and wakes at
          the same period (timerfd + epoll, as profkit), for as long as the profkit run,
          next to the same target: its CPU per wake-up is the floor of any sampler that
          sleeps;
  austin  Debian's `austin -i INTERVAL -p PID` on CPython 3.8 only (the packaged Austin
          1.0 reads nothing newer), when /usr/bin/austin exists.

A round ends with a second base run: the target's CPU growth under a sampler is its CPU
time over the mean of the round's two base runs, so that the machine's drift between rounds
(this VM's speed for the same work swings by up to 2x) cancels within a round. With two or
more CPUs the target is pinned to the last one and every sampler to the first (--no-pin:
anywhere), so that neither migrates. Medians over the rounds are printed as a Markdown table
(docs/performance-py.md). The machine is shared: run several rounds and read medians, not
single figures.

  python3 bench/py_bench.py [--build build] [--rounds 5] [--interval 0.0001] [--work 1.5]
                            [--versions 3.8,3.12] [--no-prefetch 3.8,3.12] [--strace]
                            [--no-pin]

--no-prefetch also runs profkit with PROFKIT_PY_NO_PREFETCH=1 on those versions: one
process_vm_readv per step of the walk, as before the prefetch (docs/py.md), for the
comparison in the same run.

--strace adds one traced profkit run (strace -c -f) on the newest version, for the
syscalls per sample; tracing slows profkit, so only its counts are used.
"""

import argparse
import glob
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The work every benchmark target does (py_slowdown.py too): work() calling step() in a
# loop, and calibrate(seconds): the n for which work(n) takes that much of the thread's CPU.
WORK = r"""
import sys, time
def step(x, i):
    return (x * 31 + i) % 1000003
def work(n):
    x = 0
    for i in range(n):
        x = step(x, i)
    return x
def calibrate(seconds):
    n, t = 1000, 0.0
    while t < 0.05:
        n *= 2
        t0 = time.thread_time(); work(n); t = time.thread_time() - t0
    return int(n * seconds / t)
"""

TARGET = WORK + r"""
n = calibrate(float(sys.argv[1])) if len(sys.argv) > 1 and sys.argv[1] != "-n" else int(sys.argv[2])
print(n, flush=True)
sys.stdin.readline()                  # the profiler is attached: go
c0, w0 = time.process_time(), time.monotonic()
work(n)
print("%.6f %.6f" % (time.process_time() - c0, time.monotonic() - w0), flush=True)
"""


def interpreters():
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    if not os.path.isdir(root):
        root = "/root/.pyenv"
    out = {}
    for m in range(8, 14):
        found = sorted(glob.glob("%s/versions/3.%d.*/bin/python3" % (root, m)))
        if found:
            out["3.%d" % m] = found[-1]
    if os.path.exists("/usr/bin/python3.11"):
        out["3.11-debian"] = "/usr/bin/python3.11"
    return out


def setup(args):
    """args.profkit and args.tick from args.build (exits when not built); the interpreters
    to run, by args.versions (comma-separated; all installed when empty)."""
    args.profkit = os.path.join(args.build, "profkit")
    args.tick = os.path.join(args.build, "bench", "py_tick")
    for f in (args.profkit, args.tick):
        if not os.access(f, os.X_OK):
            sys.exit("%s: not built (ninja -C %s)" % (f, args.build))
    pys = interpreters()
    if args.versions:
        pys = {v: pys[v] for v in args.versions.split(",") if v in pys}
    return pys


def cpu_of(ru):
    return ru.ru_utime + ru.ru_stime


# --pin: the target on the last CPU, the sampler on the first (None: anywhere).
TARGET_CPU = None
SAMPLER_CPU = None


def on_cpu(cpu):
    return (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None


class Target:
    def __init__(self, py, script, n):
        self.p = subprocess.Popen([py, script, "-n", str(n)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True,
                                  preexec_fn=on_cpu(TARGET_CPU))
        self.p.stdout.readline()

    def go(self):
        self.p.stdin.write("go\n")
        self.p.stdin.flush()

    def result(self):
        line = self.p.stdout.readline().split()
        self.p.wait()
        return float(line[0]), float(line[1])


def wait_rusage(p):
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return ru


def run_base(py, script, n):
    t = Target(py, script, n)
    t.go()
    cpu, wall = t.result()
    return dict(cpu=cpu, wall=wall)


def run_profkit(args, py, script, n, tmp, strace=False, prefetch=True):
    t = Target(py, script, n)
    prefix = os.path.join(tmp, "pk")
    cmd = [args.profkit, "py", "-p", str(t.p.pid), "--batch", "-q", "-i", str(args.interval),
           "-o", prefix, "-f", "work", "step"]
    if strace:
        cmd = ["strace", "-c", "-f", "-o", os.path.join(tmp, "strace.txt")] + cmd
    env = dict(os.environ)
    if not prefetch:
        env["PROFKIT_PY_NO_PREFETCH"] = "1"
    w0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                         preexec_fn=on_cpu(SAMPLER_CPU))
    time.sleep(args.attach)
    t.go()
    cpu, wall = t.result()
    ru = wait_rusage(p)
    pwall = time.monotonic() - w0
    if p.returncode != 0:
        sys.exit("profkit failed: %s" % p.stderr.read().decode())
    j = json.load(open(prefix + ".json"))
    s = j["sampler"]
    return dict(cpu=cpu, wall=wall, pk_cpu=cpu_of(ru), pk_wall=pwall, ticks=s["ticks"],
                pk_user=ru.ru_utime, pk_sys=ru.ru_stime,
                rate=j["rate_hz"], skipped=s["late_skipped"], late_us=s["late_mean_us"],
                reads=s["reads_per_tick"], ranges=s.get("ranges_per_tick", float("nan")),
                bytes=s["bytes_per_tick"], dropped=j["dropped"])


def run_bare(args, py, script, n, seconds):
    t = Target(py, script, n)
    p = subprocess.Popen([args.tick, str(args.interval), "%.3f" % seconds],
                         stdout=subprocess.PIPE, text=True, preexec_fn=on_cpu(SAMPLER_CPU))
    t.go()
    cpu, wall = t.result()
    out = p.stdout.read()
    wait_rusage(p)
    m = re.search(r"ticks (\d+) cpu_us (\d+)", out)
    ticks, cpu_us = int(m.group(1)), int(m.group(2))
    return dict(cpu=cpu, wall=wall, ticks=ticks, rate=ticks / seconds,
                cpu_per=cpu_us / ticks if ticks else float("nan"))


def run_austin(args, py, script, n, tmp):
    t = Target(py, script, n)
    w0 = time.monotonic()
    p = subprocess.Popen(["austin", "-i", str(int(round(args.interval * 1e6))), "-p",
                          str(t.p.pid), "-o", os.path.join(tmp, "austin.txt")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         preexec_fn=on_cpu(SAMPLER_CPU))
    time.sleep(args.attach)
    t.go()
    cpu, wall = t.result()
    ru = wait_rusage(p)
    awall = time.monotonic() - w0
    err = p.stderr.read().decode("utf-8", "replace")
    m = re.search(r"Error rate : (\d+)/(\d+)", err)
    samples = int(m.group(2)) if m else sum(1 for _ in open(os.path.join(tmp, "austin.txt")))
    return dict(cpu=cpu, wall=wall, a_cpu=cpu_of(ru), samples=samples,
                rate=samples / awall, cpu_per=cpu_of(ru) / samples * 1e6 if samples else 0)


def growth(R, key):
    """The target's CPU time for the work with that sampler over the mean of the two base
    runs of the same round (one before, one after), in %: the median over rounds."""
    return 100 * med([x["cpu"] / ((b1["cpu"] + b2["cpu"]) / 2) - 1
                      for x, b1, b2 in zip(R[key], R["base"], R["base2"])])


def growth_min(R, key):
    """The same from the fastest runs: the least CPU time the work took with that sampler
    over the least it took alone (both base runs of every round), in %. This VM runs the
    same work at two speeds (0.66 s or 1.05 s for one loop, by the host's whim); the minimum
    over rounds is the fast one for each, where the median mixes them."""
    base = [x["cpu"] for x in R["base"] + R["base2"]]
    return 100 * (min(x["cpu"] for x in R[key]) / min(base) - 1) if R[key] else float("nan")


def med(xs):
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--interval", type=float, default=0.0001)
    ap.add_argument("--work", type=float, default=1.5, help="seconds of CPU work per run")
    ap.add_argument("--attach", type=float, default=0.3, help="seconds given to attach")
    ap.add_argument("--versions", default="")
    ap.add_argument("--strace", action="store_true")
    ap.add_argument("--no-pin", action="store_true",
                    help="do not pin the target to the last CPU and the sampler to the first")
    ap.add_argument("--no-prefetch", default="3.8,3.12",
                    help="versions also run with PROFKIT_PY_NO_PREFETCH=1 (one read per step)")
    args = ap.parse_args()
    global TARGET_CPU, SAMPLER_CPU
    cpus = sorted(os.sched_getaffinity(0))
    if not args.no_pin and len(cpus) >= 2:
        TARGET_CPU, SAMPLER_CPU = cpus[-1], cpus[0]
    pys = setup(args)
    austin = shutil.which("austin")
    tmp = tempfile.mkdtemp(prefix="py_bench.")
    script = os.path.join(tmp, "target.py")
    open(script, "w").write(TARGET)
    sizes = {v: int(subprocess.check_output([py, script, str(args.work)], input="\n",
                                            text=True).split()[0]) for v, py in pys.items()}
    res = {v: {"base": [], "pk": [], "bare": [], "austin": [], "nopf": [], "base2": []}
           for v in pys}
    ab = set(args.no_prefetch.split(",")) if args.no_prefetch else set()
    for r in range(args.rounds):
        for v, py in pys.items():
            n = sizes[v]
            res[v]["base"].append(run_base(py, script, n))
            pk = run_profkit(args, py, script, n, tmp)
            res[v]["pk"].append(pk)
            res[v]["bare"].append(run_bare(args, py, script, n, pk["pk_wall"]))
            if v in ab:
                res[v]["nopf"].append(run_profkit(args, py, script, n, tmp, prefetch=False))
            if austin and v == "3.8":
                res[v]["austin"].append(run_austin(args, py, script, n, tmp))
            res[v]["base2"].append(run_base(py, script, n))
        print("round %d/%d done" % (r + 1, args.rounds), file=sys.stderr)

    print("interval %g µs, %d rounds, medians; load average %s; %s\n" % (
        args.interval * 1e6, args.rounds, " ".join(open("/proc/loadavg").read().split()[:3]),
        "target on CPU %d, samplers on CPU %d" % (TARGET_CPU, SAMPLER_CPU)
        if TARGET_CPU is not None else "not pinned"))
    print("| CPython | tool | samples/s | deadlines skipped | late (µs) | target CPU +% | target CPU, fastest +% | "
          "tool CPU/sample (µs) | bare loop CPU/wake (µs) | above bare (µs) | reads/sample | "
          "ranges/sample | bytes/sample |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for v in pys:
        R = res[v]
        pk, bare = R["pk"], R["bare"]
        pk_per = med([x["pk_cpu"] / x["ticks"] * 1e6 for x in pk])
        bare_per = med([x["cpu_per"] for x in bare])
        above = med([a["pk_cpu"] / a["ticks"] * 1e6 - b["cpu_per"] for a, b in zip(pk, bare)])
        print("| %s | profkit | %.0f | %.0f | %.1f | %+.1f | %+.1f | %.1f | %.1f | %+.1f | %.2f | %.1f | %.0f |" % (
            v, med([x["rate"] for x in pk]), med([x["skipped"] for x in pk]),
            med([x["late_us"] for x in pk]),
            growth(R, "pk"), growth_min(R, "pk"), pk_per, bare_per, above,
            med([x["reads"] for x in pk]), med([x["ranges"] for x in pk]),
            med([x["bytes"] for x in pk])))
        if R["nopf"]:
            q = R["nopf"]
            print("| %s | profkit, no prefetch | %.0f | %.0f | %.1f | %+.1f | %+.1f | %.1f | %.1f | %+.1f | %.2f | %.1f | %.0f |" % (
                v, med([x["rate"] for x in q]), med([x["skipped"] for x in q]),
                med([x["late_us"] for x in q]),
                growth(R, "nopf"), growth_min(R, "nopf"),
                med([x["pk_cpu"] / x["ticks"] * 1e6 for x in q]), bare_per,
                med([a["pk_cpu"] / a["ticks"] * 1e6 - b["cpu_per"] for a, b in zip(q, bare)]),
                med([x["reads"] for x in q]), med([x["ranges"] for x in q]),
                med([x["bytes"] for x in q])))
        print("| %s | bare loop | %.0f | | | %+.1f | %+.1f | | %.1f | | | | |" % (
            v, med([x["rate"] for x in bare]), growth(R, "bare"), growth_min(R, "bare"),
            bare_per))
        if R["austin"]:
            A = R["austin"]
            print("| %s | austin 1.0 | %.0f | | | %+.1f | %+.1f | %.1f | %.1f | %+.1f | | | |" % (
                v, med([x["rate"] for x in A]), growth(R, "austin"), growth_min(R, "austin"),
                med([x["cpu_per"] for x in A]), bare_per, med([x["cpu_per"] for x in A]) - bare_per))
    print("\nprofkit's CPU per sample, user + system (µs), medians:")
    for v in pys:
        for key, label in (("pk", "prefetch"), ("nopf", "no prefetch")):
            q = res[v][key]
            if q:
                print("  %s %s: user %.1f + system %.1f" % (
                    v, label, med([x["pk_user"] / x["ticks"] * 1e6 for x in q]),
                    med([x["pk_sys"] / x["ticks"] * 1e6 for x in q])))
    print("\nper round (target CPU s: base / profkit / bare / base again; profkit samples/s; "
          "profkit µs/sample):")
    for v in pys:
        R = res[v]
        print("  %s: %s" % (v, "; ".join("%.3f/%.3f/%.3f/%.3f %.0f %.1f" % (
            b["cpu"], p["cpu"], t["cpu"], b2["cpu"], p["rate"], p["pk_cpu"] / p["ticks"] * 1e6)
            for b, p, t, b2 in zip(R["base"], R["pk"], R["bare"], R["base2"]))))
    if args.strace:
        v = list(pys)[-1] if "3.12" not in pys else "3.12"
        pk = run_profkit(args, pys[v], script, sizes[v], tmp, strace=True)
        print("\nstrace -c -f of one profkit run on %s (%d ticks; per tick):" % (v, pk["ticks"]))
        for line in open(os.path.join(tmp, "strace.txt")):
            f = line.split()
            if len(f) >= 5 and f[3].isdigit() and f[-1] != "total" and int(f[3]) >= pk["ticks"] / 100:
                print("  %-20s %8.2f" % (f[-1], int(f[3]) / pk["ticks"]))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
