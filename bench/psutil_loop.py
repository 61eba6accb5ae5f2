"""The sampler a Python user would write instead of profkit: the psrecord/PROFIT loop.

    psutil_loop.py INTERVAL DURATION --pid PID...
    psutil_loop.py INTERVAL DURATION --name NAME

Every tick it asks psutil, for each followed process, what profkit's samples.csv holds
(cpu_percent, memory_info, num_fds, num_threads, io_counters, num_ctx_switches) and, for
the system row, psutil.cpu_percent(percpu=True) and virtual_memory(). With --name it finds
the processes by name every tick with psutil.process_iter(['name']), as such scripts do.
The values are dropped: writing them out would only add to the loop's cost, so this is a
lower bound for such a script. It uses Process.oneshot(), psutil's own fast path.

It keeps profkit's pace (absolute deadlines on the monotonic clock, one last tick at the
end of the duration) and prints "ticks N" at exit.
"""
import argparse
import sys
import time

import psutil


def sample(proc):
    """One process's row; None when it is gone."""
    try:
        with proc.oneshot():
            return (proc.cpu_percent(), proc.memory_info(), proc.num_fds(),
                    proc.num_threads(), proc.io_counters(), proc.num_ctx_switches())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("interval", type=float)
    ap.add_argument("duration", type=float)
    target = ap.add_mutually_exclusive_group(required=True)
    target.add_argument("--pid", type=int, nargs="+")
    target.add_argument("--name")
    args = ap.parse_args()

    procs = [psutil.Process(pid) for pid in args.pid] if args.pid else []
    start = time.monotonic()
    end = start + args.duration
    deadline, k, ticks = start, 0, 0
    while True:
        if args.name:
            procs = [p for p in psutil.process_iter(["name"])
                     if p.info["name"] == args.name]
        for proc in procs:
            sample(proc)
        psutil.cpu_percent(percpu=True)
        psutil.virtual_memory()
        ticks += 1
        if deadline >= end:
            break
        now = time.monotonic()
        k += 1
        if start + k * args.interval <= now:  # late: skip the slots that passed
            k = int((now - start) / args.interval) + 1
        deadline = min(start + k * args.interval, end)
        time.sleep(max(0.0, deadline - time.monotonic()))
    print(f"ticks {ticks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
