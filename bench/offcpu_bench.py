#!/usr/bin/env python3
"""Off-CPU tracing cost and accuracy: profkit's eBPF collector against libbpf-tools'
offcputime, on the worst case for both, a pipe ping-pong between two threads pinned to one
CPU (every round trip is two context switches of the target).

For each run, in rotating order: the ping-pong alone, with bench/offcpu_bench (profkit's
collector, src/bpf) following it, and with offcputime -p following it. The tracers run on
the other CPU. Printed: switches per second (median over the runs), the throughput drop of
each tracer and their ratio, and the off-CPU time each tracer measured against the truth,
which the ping-pong's threads measure themselves: wall time minus thread CPU time.

usage: bench/offcpu_bench.py [--build DIR] [--round-trips N] [--runs R] [--min-us US]
(root; run from the source tree after `ninja -C DIR`)"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time

OFFCPUTIME = "/usr/sbin/offcputime"


def has_bpf_link(pid):
    """Whether the process holds a BPF link, i.e. its programs are attached."""
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:bpf_link":
                    return True
            except OSError:
                pass
    except OSError:
        pass
    return False


def start_pingpong(build, n):
    p = subprocess.Popen(["taskset", "-c", "0", os.path.join(build, "bench", "pingpong"), str(n)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().split()
    assert line[0] == "pid", line
    return p, int(line[1])


def finish_pingpong(p, n):
    p.stdin.write("go\n")
    p.stdin.flush()
    out, _ = p.communicate(timeout=600)
    threads, rate = [], None
    for line in out.splitlines():
        f = line.split()
        if f[0] == "thread":
            threads.append(tuple(int(x) for x in f[1:]))
        elif f[0] == "rate":
            rate = float(f[1])
    # the truth: each thread's wall time minus its CPU time
    truth = sum(end - start - cpu for _, start, end, cpu in threads)
    # CPU per switch: the cost, whatever else shares CPU 0 (a busy machine slows the rate)
    cpu_per_switch = sum(t[3] for t in threads) / (2 * n)
    return rate, truth, min(t[1] for t in threads), cpu_per_switch


def start_tracer(kind, build, pid, min_us):
    if kind == "profkit":
        cmd = [os.path.join(build, "bench", "offcpu_bench"), "-m", str(min_us), str(pid)]
    else:
        cmd = [OFFCPUTIME, "-p", str(pid)]
    t = subprocess.Popen(["taskset", "-c", "1"] + cmd, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    if kind == "profkit":
        assert t.stdout.readline().strip() == "ready"
    else:
        while not has_bpf_link(t.pid):
            if t.poll() is not None or time.monotonic() > deadline:
                sys.exit("offcputime did not start: " + t.stderr.read())
            time.sleep(0.05)
        time.sleep(0.5)  # every link attached
    return t


def stop_tracer(kind, t, window_start):
    t.send_signal(signal.SIGINT)
    out, err = t.communicate(timeout=600)
    total = 0
    if kind == "profkit":
        for line in out.splitlines():
            f = line.split()
            if f[0] == "event" and int(f[2]) >= window_start:
                total += int(f[3])  # a record: a block of at least min_us
            elif f[0] == "stats":
                total += int(f[5])  # the blocks below min_us, summed in the kernel
    else:
        # a stack, then "    -   comm (pid)", then its total in microseconds
        lines = out.splitlines()
        for i, line in enumerate(lines[1:], 1):
            if lines[i - 1].lstrip().startswith("- ") and line.strip().isdigit():
                total += int(line) * 1000
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--round-trips", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--min-us", type=int, default=1000,
                    help="profkit's min block (shorter blocks are summed, not recorded)")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("offcpu_bench.py: needs root (eBPF)")
    if not os.access(OFFCPUTIME, os.X_OK):
        sys.exit(f"offcpu_bench.py: {OFFCPUTIME} missing (Debian's libbpf-tools)")
    modes = ["none", "profkit", "offcputime"]
    rates = {m: [] for m in modes}
    cpus = {m: [] for m in modes}
    acc = {m: [] for m in modes}
    for r in range(a.runs):
        for m in modes[r % 3:] + modes[:r % 3]:
            p, pid = start_pingpong(a.build, a.round_trips)
            t = start_tracer(m, a.build, pid, a.min_us) if m != "none" else None
            rate, truth, window_start, cpu = finish_pingpong(p, a.round_trips)
            rates[m].append(rate)
            cpus[m].append(cpu)
            line = f"run {r + 1} {m:10s} {rate:9.0f} switches/s {cpu:6.0f} ns CPU/switch"
            if t:
                measured = stop_tracer(m, t, window_start)
                acc[m].append(measured / truth)
                line += (f"  off-CPU {measured / 1e9:6.3f} s for {truth / 1e9:6.3f} s true"
                         f" ({measured / truth:5.3f})")
            print(line, flush=True)
    med = {m: statistics.median(v) for m, v in rates.items()}
    cpu = {m: statistics.median(v) for m, v in cpus.items()}
    drop = {m: 1 - med[m] / med["none"] for m in modes}
    print(f"\npipe ping-pong on one CPU, {a.round_trips} round trips, median of {a.runs} runs")
    print(f"  alone       {med['none']:9.0f} switches/s  {cpu['none']:5.0f} ns CPU/switch")
    for m in ("profkit", "offcputime"):
        print(f"  {m:11s} {med[m]:9.0f} switches/s  {cpu[m]:5.0f} ns CPU/switch"
              f" (+{cpu[m] - cpu['none']:4.0f})  throughput drop {drop[m] * 100:5.1f}%"
              f"  off-CPU measured/true {statistics.median(acc[m]):5.3f}")
    if drop["offcputime"] > 0:
        print(f"  throughput drop profkit/offcputime: {drop['profkit'] / drop['offcputime']:.2f}")
    extra = {m: cpu[m] - cpu["none"] for m in modes}
    if extra["offcputime"] > 0:
        print(f"  added CPU per switch profkit/offcputime: "
              f"{extra['profkit'] / extra['offcputime']:.2f}")


if __name__ == "__main__":
    main()
