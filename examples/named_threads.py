#!/usr/bin/env python3
"""Named threads, for checking the thread names a profiler shows.

    io-worker    threading.Thread(name="io-worker"): waits for I/O (sleeps) in io_wait
    cruncher     busy in crunch; gives itself its OS name only after --late seconds
    plain-py     named in Python only: its OS thread keeps the process's name
    MainThread   sleeps in main_wait

CPython 3.8-3.13 keep a thread's name to themselves: the kernel, and every tool that looks
from outside, sees the process's name for every thread. CPython 3.14 passes it on to the
OS thread (truncated to 15 bytes). This program does what 3.14 does, through prctl(2), for
every thread but plain-py, so that the names can be checked on any version.

Prints "thread NAME NATIVE_ID" for each thread, then "ready"; runs for --seconds.
Standard library only; CPython 3.8 and newer, Linux.
"""

import argparse
import ctypes
import threading
import time

PR_SET_NAME = 15
libc = ctypes.CDLL(None, use_errno=True)


def name_os_thread():
    """Gives the calling OS thread the Python thread's name, as CPython 3.14 does."""
    name = threading.current_thread().name.encode("utf-8")[:15]
    libc.prctl(PR_SET_NAME, ctypes.c_char_p(name), 0, 0, 0)


def io_wait():
    time.sleep(0.002)


def crunch():
    x = 0
    for i in range(20000):
        x = (x * 31 + i) % 1000003


def io_loop(end):
    while time.time() < end:
        io_wait()


def crunch_loop(end, late):
    named_at = time.time() + late
    while time.time() < end:
        if named_at and time.time() >= named_at:
            name_os_thread()
            named_at = 0
        crunch()


def main_wait(end):
    while time.time() < end:
        time.sleep(0.01)


started = []  # (name, native id), as the threads come up
started_lock = threading.Lock()


def start(name, fn, *args, os_name=True):
    def body():
        if os_name:
            name_os_thread()
        with started_lock:
            started.append((name, threading.get_native_id()))
        fn(*args)
    t = threading.Thread(target=body, name=name, daemon=True)
    t.start()
    return t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--late", type=float, default=1.0,
                    help="seconds before cruncher names its OS thread")
    args = ap.parse_args()
    end = time.time() + args.seconds
    threads = [start("io-worker", io_loop, end),
               start("cruncher", crunch_loop, end, args.late, os_name=False),
               start("plain-py", io_loop, end, os_name=False)]
    while len(started) < len(threads):
        time.sleep(0.01)
    for name, tid in started + [("MainThread", threading.get_native_id())]:
        print("thread %s %d" % (name, tid))
    print("ready", flush=True)
    main_wait(end)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
