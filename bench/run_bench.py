#!/usr/bin/env python3
"""profkit's performance benchmarks, side by side with what a user would pick instead.

    python3 bench/run_bench.py --build build [--quick | --long] [--only ac] [--json FILE]

a  1 process at 50 ms: profkit watch PID vs the bare C loop (bench/floor.c) vs a psutil
   loop by PID vs pidstat (at its 1 s minimum, compared per process per tick)
b  by name at 50 ms: profkit watch NAME vs a psutil loop that finds the name every tick
i  the same with idle `sleep` processes added up to 100 processes on the machine (where
   the issue measured psutil by name at 5-7 ms per tick)
B  the same with idle `sleep` processes added up to 500 processes on the machine
c  1,000 processes at 1 s: profkit watch PID... vs the bare C loop vs pidstat -C NAME
d  drift: profkit at 10 ms for 60 s; mean period from summary.json and samples.csv
e  memory: profkit's own RSS over a recording at 1 ms (60 s; 10 minutes with --long)

CPU per tick is measured by difference, so that start-up (Python's import of psutil,
opening 1,000 processes) does not count as sampling: every sampler runs twice, short and
long, and its cost per tick is (CPU_long - CPU_short) / (ticks_long - ticks_short), with
CPU = user + system time from wait4's rusage and ticks as the sampler reports them
(profkit: summary.json; floor and the psutil loop: their last line; pidstat: count + 1).
The samplers of one benchmark run at the same time, against the same target processes,
their starts staggered by a fraction of the interval so that their ticks do not collide;
a, b and c repeat this for several rounds and report medians.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
IDLE_NAME = "pk_bench_idle"
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with python3-psutil


def python_with_psutil():
    """An interpreter that can import psutil (pyenv's python3 may not have it)."""
    for exe in (sys.executable, SYSTEM_PYTHON):
        probe = subprocess.run([exe, "-c", "import psutil"], stderr=subprocess.DEVNULL)
        if probe.returncode == 0:
            return exe
    sys.exit("run_bench: no Python with psutil: apt-get install python3-psutil")


# ---- running samplers ---------------------------------------------------------------------

@dataclass
class Sampler:
    """A command whose CPU time is measured. argv(duration, outdir) builds its command
    line; ticks(outdir, stdout, duration) tells how many ticks it took."""
    label: str
    argv: object
    ticks: object
    runs: list = field(default_factory=list)       # (duration, cpu_s, ticks, wall_s)
    estimates: list = field(default_factory=list)  # us per process per tick, per round

    @property
    def cost(self):
        return statistics.median(self.estimates)


def ratio(a, b):
    """How many times a costs b: the median over rounds of the ratio within each round
    (both ran at the same time, so each round's ratio is a like-for-like comparison)."""
    return statistics.median(x / y for x, y in zip(a.estimates, b.estimates))


def profkit_sampler(label, profkit, interval, targets):
    def argv(duration, outdir):
        return [profkit, "watch", "-q", "--force", "-i", str(interval), "-d", str(duration),
                "-o", str(outdir), *map(str, targets)]

    def ticks(outdir, _stdout, _duration):
        return json.loads((outdir / "summary.json").read_text())["ticks"]
    return Sampler(label, argv, ticks)


def ticks_line(_outdir, stdout, _duration):
    for line in reversed(stdout.splitlines()):
        if line.startswith("ticks "):
            return int(line.split()[1])
    raise RuntimeError("no 'ticks N' line in the sampler's output")


def floor_sampler(floor, interval, pids, write=False, epoll=False, mmap=False, timeout=False):
    """write: floor -w, which also writes rows of profkit's size every tick; epoll:
    floor -e, which waits on a timerfd in epoll as profkit did; mmap: floor -m, the rows
    copied into shared mappings of the files; timeout: floor -t, epoll_pwait2 timing out
    at the deadline, as profkit's loop does now."""
    label = "bare C loop" + (" + writes" if write else "") + (" (mmap)" if mmap else "") + \
        (" + epoll" if epoll else "") + (" + epoll timeout" if timeout else "")

    def argv(duration, outdir):
        opts = (["-e"] if epoll else []) + (["-t"] if timeout else [])
        if write:
            outdir.mkdir()
            opts += ["-w", str(outdir)] + (["-m"] if mmap else [])
        return [floor, *opts, str(interval), str(duration), *map(str, pids)]
    return Sampler(label if write or epoll else "bare C loop (floor)", argv, ticks_line)


def psutil_sampler(label, python, interval, pids=None, name=None):
    script = str(HERE / "psutil_loop.py")
    which = ["--pid", *map(str, pids)] if pids else ["--name", name]
    return Sampler(label, lambda d, _o: [python, script, str(interval), str(d), *which],
                   ticks_line)


def pidstat_count(duration):
    return max(1, round(duration))


def pidstat_sampler(label, select):
    """pidstat's interval is whole seconds: 1 s, COUNT reports from COUNT + 1 reads."""
    def argv(duration, _outdir):
        return ["pidstat", *select, "-u", "-r", "-d", "-w", "-h", "1",
                str(pidstat_count(duration))]
    return Sampler(label, argv, lambda _o, _s, d: pidstat_count(d) + 1)


def run_side_by_side(samplers, duration, workdir, stagger):
    """Starts the samplers stagger seconds apart (so that their ticks do not collide on
    the CPUs), each for duration, waits for all; appends (duration, cpu_s, ticks, wall_s)
    to each sampler's runs. CPU is user + system time from wait4."""
    env = dict(os.environ, LC_ALL="C")
    started = []
    for i, s in enumerate(samplers):
        if i:
            time.sleep(stagger)
        outdir = workdir / f"run-{time.monotonic_ns()}-{i}"
        outdir.mkdir()
        out = open(outdir / "stdout", "w+")
        err = open(outdir / "stderr", "w+")
        proc = subprocess.Popen(s.argv(duration, outdir / "rec"), stdout=out, stderr=err,
                                env=env)
        started.append((s, outdir, out, err, proc, time.monotonic()))
    for s, outdir, out, err, proc, t0 in started:
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.monotonic() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
        out.close()
        err.close()
        if proc.returncode != 0:
            raise RuntimeError(f"{s.label} failed ({proc.returncode}): {stderr.strip()}")
        s.runs.append((duration, ru.ru_utime + ru.ru_stime,
                       s.ticks(outdir / "rec", stdout, duration), wall))
        shutil.rmtree(outdir)


def measure(samplers, short, long, ctx, interval, nprocs=1):
    """Per round: all samplers short, then all long; each sampler's estimate is
    (CPU_long - CPU_short) / (ticks_long - ticks_short) / nprocs, in microseconds."""
    stagger = interval / len(samplers)
    for _ in range(ctx.cfg["rounds"]):
        run_side_by_side(samplers, short, ctx.workdir, stagger)
        run_side_by_side(samplers, long, ctx.workdir, stagger)
        for s in samplers:
            (_, cpu0, t0, _), (_, cpu1, t1, _) = s.runs[-2], s.runs[-1]
            s.estimates.append((cpu1 - cpu0) / (t1 - t0) / nprocs * 1e6)


# ---- targets -------------------------------------------------------------------------------

class Targets:
    """The target processes: idle ones named pk_bench_idle, and for B background
    `sleep`s. All are killed at the end of each benchmark."""

    def __init__(self, idle):
        self.idle = idle
        self.procs = []

    def spawn(self, n, argv=None):
        new = [subprocess.Popen(argv or [self.idle]) for _ in range(n)]
        self.procs += new
        time.sleep(0.2)
        return [p.pid for p in new]

    def kill_all(self):
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            p.wait()
        self.procs = []


def count_processes():
    return sum(1 for e in os.listdir("/proc") if e.isdigit())


def live_processes_named(name):
    """PIDs of processes called name that are not zombies: a stray one (from a run that was
    interrupted) would be followed by the by-name samplers too, and skew b, i and B."""
    out = []
    for e in os.listdir("/proc"):
        try:
            stat = open(f"/proc/{e}/stat").read() if e.isdigit() else ""
        except OSError:
            continue
        comm, _, rest = stat.partition("(")[2].rpartition(")")
        if comm == name and rest.split()[:1] != ["Z"]:
            out.append(int(e))
    return out


# ---- tables ----------------------------------------------------------------------------------

class Report:
    def __init__(self):
        self.checks = []  # (benchmark, target text, measured text, ok)
        self.data = {}

    def check(self, bench, what, measured, ok):
        self.checks.append((bench, what, measured, ok))
        print(f"  {'PASS' if ok else 'FAIL'}  {what:<56} {measured}")

    def ratio_at_most(self, bench, what, a, b, limit):
        r = ratio(a, b)
        self.check(bench, f"{what} <= {limit:g}x", f"{r:.2f}x", r <= limit)

    def ratio_at_least(self, bench, what, a, b, limit):
        r = ratio(a, b)
        self.check(bench, f"{what} >= {limit:g}x", f"{r:.2f}x", r >= limit)

    def ratio_above(self, bench, what, a, b, limit):
        r = ratio(a, b)
        self.check(bench, f"{what} > {limit:g}x", f"{r:.2f}x", r > limit)


def print_samplers(title, samplers, reference):
    n = len(reference.estimates)
    print(f"\n{title}")
    print(f"  {'sampler':<28} {'ticks':>11}  {'us per process per tick':<30} {'vs profkit':>10}")
    print(f"  {'':<28} {'short/long':>11}  {f'median (min-max, {n} rounds)':<30}")
    for s in samplers:
        t0, t1 = s.runs[-2][2], s.runs[-1][2]
        spread = f"{s.cost:.2f} ({min(s.estimates):.1f}-{max(s.estimates):.1f})"
        print(f"  {s.label:<28} {t0:>5}/{t1:<5}  {spread:<30} {ratio(s, reference):>9.2f}x")


def sampler_data(samplers, reference):
    return {s.label: {"per_proc_tick_us": round(s.cost, 3),
                      "estimates_us": [round(e, 3) for e in s.estimates],
                      "vs_profkit": round(ratio(s, reference), 3),
                      "runs": [{"duration_s": d, "cpu_s": round(c, 6), "ticks": t,
                                "wall_s": round(w, 3)} for d, c, t, w in s.runs]}
            for s in samplers}


# ---- the benchmarks --------------------------------------------------------------------------

def bench_a(ctx, rep):
    interval, long = 0.05, ctx.cfg["a_seconds"]
    pid = ctx.targets.spawn(1)[0]
    pk = profkit_sampler("profkit watch PID", ctx.profkit, interval, [pid])
    fl = floor_sampler(ctx.floor, interval, [pid])
    flw = floor_sampler(ctx.floor, interval, [pid], write=True)
    flwe = floor_sampler(ctx.floor, interval, [pid], write=True, epoll=True)
    flwt = floor_sampler(ctx.floor, interval, [pid], write=True, timeout=True)
    flmt = floor_sampler(ctx.floor, interval, [pid], write=True, mmap=True, timeout=True)
    ps = psutil_sampler("psutil loop by PID", ctx.python, interval, pids=[pid])
    pstat = pidstat_sampler("pidstat -p PID (at 1 s)", ["-p", str(pid)])
    samplers = [fl, flw, flwe, flwt, flmt, pk, ps, pstat]
    measure(samplers, 1.0, long, ctx, interval)
    print_samplers(f"a. 1 process at 50 ms for {long:g} s (pidstat at 1 s), side by side",
                   samplers, pk)
    rep.ratio_at_most("a", "profkit / floor, 1 process at 50 ms", pk, fl, 1.2)
    rep.ratio_at_least("a", "psutil by PID / profkit", ps, pk, 3)
    rep.ratio_above("a", "pidstat / profkit, per process per tick", pstat, pk, 1)
    rep.data["a"] = sampler_data(samplers, pk)
    ctx.targets.kill_all()


def bench_b(ctx, rep, background=0):
    """background: extra idle processes (named sleep) so that the machine has that many
    more processes for both samplers to look through."""
    interval, long = 0.05, ctx.cfg["b_seconds"]
    if background:
        ctx.targets.spawn(background, ["sleep", "3600"])
    pid = ctx.targets.spawn(1)[0]
    pk = profkit_sampler("profkit watch NAME", ctx.profkit, interval, [IDLE_NAME])
    pkpid = profkit_sampler("(profkit watch PID)", ctx.profkit, interval, [pid])
    ps = psutil_sampler("psutil loop by name", ctx.python, interval, name=IDLE_NAME)
    samplers = [pkpid, pk, ps]
    nproc = count_processes()
    measure(samplers, 1.0, long, ctx, interval)
    key = "b" if not background else f"b+{background}"
    print_samplers(f"{key}. by name, 1 matching process among {nproc} on the machine, "
                   f"50 ms for {long:g} s", samplers, pk)
    rep.ratio_at_least(key, f"psutil by name / profkit ({nproc} processes)", ps, pk, 20)
    rep.data[key] = dict(sampler_data(samplers, pk), processes_on_machine=nproc)
    ctx.targets.kill_all()


def bench_b_busy(ctx, rep):
    bench_b(ctx, rep, background=max(0, ctx.cfg["b_busy_total"] - count_processes()))


def bench_b_issue(ctx, rep):
    """The machine the issue measured on: psutil's loop by name took 5-7 ms per tick, which
    its ~55 µs per process puts at 90-130 processes; idle ones are added up to the low end."""
    bench_b(ctx, rep, background=max(0, ctx.cfg["b_issue_total"] - count_processes()))


def bench_c(ctx, rep):
    n, long, short = ctx.cfg["c_procs"], ctx.cfg["c_seconds"], 3
    pids = ctx.targets.spawn(n)
    pk = profkit_sampler("profkit watch PID...", ctx.profkit, 1, pids)
    fl = floor_sampler(ctx.floor, 1, pids)
    flw = floor_sampler(ctx.floor, 1, pids, write=True)
    pstat = pidstat_sampler(f"pidstat -C {IDLE_NAME}", ["-C", IDLE_NAME])
    samplers = [fl, flw, pk, pstat]
    measure(samplers, short, long, ctx, 1.0, nprocs=n)
    print_samplers(f"c. {n} processes at 1 s for {long:g} s, side by side", samplers, pk)
    rep.ratio_at_most("c", f"profkit / floor, {n} processes at 1 s", pk, fl, 1.2)
    rep.ratio_above("c", "pidstat / profkit, per process per tick", pstat, pk, 1)
    rep.data["c"] = dict(sampler_data(samplers, pk), processes=n)
    ctx.targets.kill_all()


def samples_periods(path):
    stamps = []
    with open(path) as f:
        header = f.readline().rstrip("\n").split(",")
        col = header.index("timestamp")
        for line in f:
            stamps.append(float(line.split(",")[col]))
    return [b - a for a, b in zip(stamps, stamps[1:])]


def settle():
    """Lets the machine finish tearing down the previous benchmark's processes."""
    time.sleep(3)


def bench_d(ctx, rep):
    interval, seconds = 0.01, ctx.cfg["d_seconds"]
    settle()
    pid = ctx.targets.spawn(1)[0]
    out = ctx.workdir / "drift"
    subprocess.run([ctx.profkit, "watch", "-q", "-i", str(interval), "-d", str(seconds),
                    "-o", str(out), str(pid)], check=True)
    summ = json.loads((out / "summary.json").read_text())
    periods = samples_periods(out / "samples.csv")
    csv_mean = statistics.fmean(periods)
    sum_mean = summ["mean_period_s"]
    print(f"\nd. drift: profkit at 10 ms for {seconds:g} s")
    print(f"  ticks {summ['ticks']}, wall {summ['wall_s']:.6f} s")
    print(f"  mean period, summary.json      {sum_mean * 1e3:.6f} ms "
          f"({(sum_mean / interval - 1) * 100:+.4f} %)")
    print(f"  mean period, samples.csv       {csv_mean * 1e3:.6f} ms "
          f"({(csv_mean / interval - 1) * 100:+.4f} %)")
    print(f"  period min / median / max      {min(periods) * 1e3:.3f} / "
          f"{statistics.median(periods) * 1e3:.3f} / {max(periods) * 1e3:.3f} ms")
    print(f"  late ticks {summ['late_ticks']}, missed slots {summ['missed_slots']}, "
          f"worst lateness {summ['max_lateness_s'] * 1e3:.3f} ms")
    # Drift proper: the time from first to last tick over the slots it spans, missed ones
    # included. A missed slot (the machine did not run profkit for a whole interval)
    # lengthens the mean period by interval / ticks, by design, but is not drift.
    slots = summ["ticks"] - 1 + summ["missed_slots"]
    per_slot = sum(periods) / slots
    print(f"  time per slot (missed included) {per_slot * 1e3:.6f} ms "
          f"({(per_slot / interval - 1) * 100:+.4f} %): the schedule itself")
    if summ["missed_slots"]:
        print(f"  ({summ['missed_slots']} missed slots add "
              f"{summ['missed_slots'] / (summ['ticks'] - 1) * 100:.4f} % to the mean period)")
    worst = max(abs(sum_mean / interval - 1), abs(csv_mean / interval - 1))
    rep.check("d", f"mean period within 0.1% of 10 ms over {seconds:g} s",
              f"{worst * 100:.4f} %", worst <= 0.001)
    rep.check("d", "late ticks counted (summary.json)",
              f"late {summ['late_ticks']}, missed {summ['missed_slots']}",
              all(k in summ for k in ("late_ticks", "missed_slots", "max_lateness_s")))
    rep.data["d"] = {"seconds": seconds, "ticks": summ["ticks"],
                     "mean_period_summary_s": sum_mean, "mean_period_csv_s": csv_mean,
                     "time_per_slot_s": per_slot,
                     "period_min_s": min(periods), "period_max_s": max(periods),
                     "late_ticks": summ["late_ticks"], "missed_slots": summ["missed_slots"],
                     "max_lateness_s": summ["max_lateness_s"]}
    shutil.rmtree(out)
    ctx.targets.kill_all()


def status_kb(pid, keys=("VmRSS", "VmHWM")):
    vals = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in keys:
                vals[k] = int(v.split()[0])
    return vals


def bench_e(ctx, rep):
    interval, seconds = 0.001, ctx.cfg["e_seconds"]
    settle()
    pid = ctx.targets.spawn(1)[0]
    out = ctx.workdir / "memory"
    proc = subprocess.Popen([ctx.profkit, "watch", "-q", "-i", str(interval), "-d",
                             str(seconds), "-o", str(out), str(pid)])
    readings = []  # (elapsed, VmRSS, VmHWM) every second while it runs
    t0 = time.monotonic()
    while proc.poll() is None:
        try:
            v = status_kb(proc.pid)
            if "VmRSS" in v:
                readings.append((time.monotonic() - t0, v["VmRSS"], v["VmHWM"]))
        except OSError:
            pass
        time.sleep(1.0)
    proc.wait()
    summ = json.loads((out / "summary.json").read_text())
    # "start": after one second, once the first ticks have touched the buffers.
    start = next((r for r in readings if r[0] >= 1.0), readings[0])
    end = readings[-1]
    growth = end[1] - start[1]
    print(f"\ne. memory: profkit's own RSS, recording at 1 ms for {seconds:g} s "
          f"({summ['ticks']} ticks, {summ['late_ticks']} late, {summ['missed_slots']} missed)")
    steady = readings[readings.index(start):]
    step = max(1, len(steady) // 6)
    print("  VmRSS over time: " + ", ".join(f"{t:.0f} s {rss} KiB"
                                           for t, rss, _ in steady[::step] + [end]))
    print(f"  VmRSS at {start[0]:.0f} s: {start[1]} KiB; at {end[0]:.0f} s: {end[1]} KiB "
          f"({growth:+d} KiB); peak VmHWM {end[2]} KiB")
    rep.check("e", f"own memory flat at 1 ms over {seconds:g} s (growth <= 64 KiB)",
              f"{growth:+d} KiB (peak {end[2]} KiB)", growth <= 64)
    rep.data["e"] = {"seconds": seconds, "ticks": summ["ticks"],
                     "late_ticks": summ["late_ticks"], "missed_slots": summ["missed_slots"],
                     "rss_start_kib": start[1], "rss_end_kib": end[1], "hwm_kib": end[2],
                     "readings": readings}
    shutil.rmtree(out)
    ctx.targets.kill_all()


BENCHES = {"a": bench_a, "b": bench_b, "i": bench_b_issue, "B": bench_b_busy, "c": bench_c,
           "d": bench_d, "e": bench_e}

CONFIGS = {  # seconds of the long run of each benchmark, rounds of a, b and c
    "quick": dict(rounds=1, a_seconds=6, b_seconds=6, b_busy_total=500, b_issue_total=100,
                  c_seconds=8,
                  c_procs=1000, d_seconds=10, e_seconds=10),
    "full": dict(rounds=3, a_seconds=20, b_seconds=20, b_busy_total=500, b_issue_total=100,
                 c_seconds=30,
                 c_procs=1000, d_seconds=60, e_seconds=60),
}


@dataclass
class Context:
    profkit: str
    floor: str
    python: str
    targets: Targets
    workdir: Path
    cfg: dict


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build", help="Meson build directory (default build)")
    ap.add_argument("--quick", action="store_true", help="short runs (about a minute)")
    ap.add_argument("--long", action="store_true",
                    help="memory benchmark over 10 minutes, as the target asks")
    ap.add_argument("--only", default="abiBcde", help="benchmarks to run, e.g. 'ad'")
    ap.add_argument("--rounds", type=int, help="rounds of a, b and c (median taken)")
    ap.add_argument("--procs", type=int, help="processes of benchmark c (default 1000)")
    ap.add_argument("--drift-seconds", type=float, help="length of benchmark d")
    ap.add_argument("--memory-seconds", type=float, help="length of benchmark e")
    ap.add_argument("--json", help="also write the measurements to this file")
    args = ap.parse_args()

    build = Path(args.build)
    profkit, floor, idle = build / "profkit", build / "bench/floor", build / f"bench/{IDLE_NAME}"
    for exe in (profkit, floor, idle):
        if not os.access(exe, os.X_OK):
            sys.exit(f"run_bench: {exe} is missing: build first (ninja -C {build})")
    if "a" in args.only or "c" in args.only:
        if not shutil.which("pidstat"):
            sys.exit("run_bench: pidstat is missing: apt-get install sysstat")
    cfg = dict(CONFIGS["quick" if args.quick else "full"])
    if args.long:
        cfg["e_seconds"] = 600
    for key, val in (("rounds", args.rounds), ("c_procs", args.procs), ("d_seconds", args.drift_seconds),
                     ("e_seconds", args.memory_seconds)):
        if val is not None:
            cfg[key] = val

    stray = live_processes_named(IDLE_NAME)
    if stray:
        sys.exit(f"run_bench: {IDLE_NAME} already runs (PID {', '.join(map(str, stray))}): "
                 "stop it first, the by-name benchmarks would follow it too")
    print(f"profkit benchmarks ({'quick' if args.quick else 'full'}): {os.uname().release}, "
          f"{os.cpu_count()} CPUs, build {build}")
    rep = Report()
    targets = Targets(str(idle))
    workdir = Path(tempfile.mkdtemp(prefix="profkit-bench-"))
    ctx = Context(str(profkit.resolve()), str(floor.resolve()), python_with_psutil(),
                  targets, workdir, cfg)
    try:
        for key in args.only:
            BENCHES[key](ctx, rep)
    finally:
        targets.kill_all()
        shutil.rmtree(workdir, ignore_errors=True)

    print("\nTargets")
    for bench, what, measured, ok in rep.checks:
        print(f"  {bench}  {'PASS' if ok else 'FAIL'}  {what:<52} {measured}")
    failed = sum(not ok for *_, ok in rep.checks)
    print(f"{len(rep.checks) - failed} passed, {failed} failed")
    if args.json:
        rep.data["config"] = cfg
        rep.data["checks"] = [dict(bench=b, target=w, measured=m, ok=ok)
                              for b, w, m, ok in rep.checks]
        Path(args.json).write_text(json.dumps(rep.data, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
