#!/usr/bin/env python3
"""A multiprocessing workload with known parts, for ``profkit py --subprocesses``.

A pool of worker processes runs two kinds of task; each worker times its own calls, and
the parent prints the truth when the pool is done:

    task PID crunch 0.2512       one line per task: the worker's PID, the function, its time
    crunch 1.507 s                the total of each function over all workers
    nap 1.501 s
    after_pool 0.301 s            the parent's own work once the workers are gone

    crunch       pure-Python CPU work (in the workers)
    nap          sleeping (in the workers)
    after_pool   CPU work in the parent after the pool has closed

Workers come and go while it runs (each one retires after --per-child tasks and the pool
starts another), so a profiler that follows child processes must find new ones, and let
old ones leave. ``--method`` picks multiprocessing's start method (fork, spawn,
forkserver). Standard library only; runs on CPython 3.8 to 3.13.
"""

import argparse
import multiprocessing
import os
import time

CPU_ITERATIONS = 3_000_000  # crunch, per unit of size (~0.25 s on CPython 3.11)
NAP_S = 0.25                # nap, per unit of size


def crunch(size):
    x = 0
    for i in range(int(CPU_ITERATIONS * size)):
        x = (x * 31 + i) % 1000003
    return x


def nap(size):
    time.sleep(NAP_S * size)


def run_task(task):
    """In a worker: one call, timed around it."""
    name, size = task
    fn = crunch if name == "crunch" else nap
    start = time.perf_counter()
    fn(size)
    return os.getpid(), name, time.perf_counter() - start


def after_pool(size):
    """The same work as crunch, under its own name (crunch's time is the workers')."""
    x = 0
    for i in range(int(CPU_ITERATIONS * size)):
        x = (x * 31 + i) % 1000003
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--method", default="fork", choices=("fork", "spawn", "forkserver"))
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--tasks", type=int, default=6, help="tasks of each kind")
    ap.add_argument("--per-child", type=int, default=2, help="tasks before a worker retires")
    ap.add_argument("--size", type=float, default=1.0)
    ap.add_argument("--settle", type=float, default=0.3,
                    help="seconds between starting the pool and giving it work")
    args = ap.parse_args()

    ctx = multiprocessing.get_context(args.method)
    tasks = [("crunch", args.size), ("nap", args.size)] * args.tasks
    print("parent %d" % os.getpid(), flush=True)
    with ctx.Pool(args.workers, maxtasksperchild=args.per_child) as pool:
        time.sleep(args.settle)
        results = pool.map(run_task, tasks, chunksize=1)
    totals = {}
    for pid, name, seconds in results:
        print("task %d %s %.4f" % (pid, name, seconds))
        totals[name] = totals.get(name, 0.0) + seconds
    for name in sorted(totals):
        print("%s %.4f s" % (name, totals[name]))
    start = time.perf_counter()
    after_pool(args.size)
    print("after_pool %.4f s" % (time.perf_counter() - start), flush=True)


if __name__ == "__main__":
    main()
