#!/usr/bin/env python3
"""A small workload with known parts, for profkit's demo and for checking profilers.

Each function does one kind of work; the program prints how long each one really took,
measured around the call, e.g. ``heavy_computation 0.812 s``. A profiler's numbers for
these functions can be checked against those lines.

    heavy_computation  pure-Python CPU work
    disk_io            file writes with fsync, in a temporary directory that is removed
    network_request    a TCP round trip over loopback to a server thread that answers late
    leaky              grows a module-level list that is never freed (with --leak)

``--size N`` scales the work (size 1 takes about 2-3 s in all). Standard library only;
runs on CPython 3.8 to 3.13.
"""

import argparse
import os
import socket
import sys
import tempfile
import threading
import time

# heavy_computation: loop iterations per unit of size (~0.8 s on CPython 3.11).
CPU_ITERATIONS = 16_000_000
# disk_io: bytes written per unit of size, in chunks, with an fsync every few chunks.
DISK_BYTES = 96 * 1024 * 1024
DISK_CHUNK = 64 * 1024
DISK_FSYNC_EVERY = 4
# network_request: how long the server thinks before it answers, per unit of size.
SERVER_DELAY_S = 0.8
# leaky: bytes kept per call.
LEAK_CHUNK = 1024 * 1024

_leaked = []


def heavy_computation(size):
    """CPU-bound: an integer recurrence that no cache or shortcut can skip."""
    x = 0
    for i in range(int(CPU_ITERATIONS * size)):
        x = (x * 31 + i) % 1000003
    return x


def disk_io(size):
    """Writes DISK_BYTES * size bytes to a temporary file, fsyncing as it goes."""
    chunk = os.urandom(DISK_CHUNK)
    total = int(DISK_BYTES * size)
    written = 0
    with tempfile.TemporaryDirectory(prefix="workload-") as tmp:
        path = os.path.join(tmp, "data.bin")
        with open(path, "wb", buffering=0) as f:
            n = 0
            while written < total:
                written += f.write(chunk[: min(DISK_CHUNK, total - written)])
                n += 1
                if n % DISK_FSYNC_EVERY == 0:
                    os.fsync(f.fileno())
            os.fsync(f.fileno())
    return written


def _serve_once(listener, delay):
    conn, _ = listener.accept()
    with conn:
        request = b""
        while not request.endswith(b"\n"):
            data = conn.recv(4096)
            if not data:
                return
            request += data
        time.sleep(delay)  # the "server" takes its time: off-CPU for the client
        conn.sendall(b"reply to " + request)


def network_request(size):
    """One request/reply over a real loopback TCP connection; the server answers after
    SERVER_DELAY_S * size seconds."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    server = threading.Thread(target=_serve_once, args=(listener, SERVER_DELAY_S * size),
                              daemon=True)
    server.start()
    try:
        with socket.create_connection(listener.getsockname(), timeout=30) as s:
            s.sendall(b"GET /work\n")
            reply = b""
            while True:
                data = s.recv(4096)
                if not data:
                    break
                reply += data
    finally:
        server.join(timeout=30)
        listener.close()
    return reply


def leaky():
    """Keeps LEAK_CHUNK more bytes alive for good, on every call."""
    block = bytearray(LEAK_CHUNK)
    for i in range(0, LEAK_CHUNK, 4096):  # touch every page so it is resident
        block[i] = 1
    _leaked.append(block)
    return len(_leaked)


def timed(name, fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    print("%s %.3f s" % (name, time.perf_counter() - start), flush=True)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=float, default=1.0,
                        help="scale of the work; 1 takes about 2-3 s (default 1)")
    parser.add_argument("--leak", action="store_true",
                        help="also call leaky() repeatedly, growing memory steadily")
    args = parser.parse_args(argv)
    if args.size <= 0:
        parser.error("--size must be positive")

    total = time.perf_counter()
    timed("heavy_computation", heavy_computation, args.size)
    timed("disk_io", disk_io, args.size)
    timed("network_request", network_request, args.size)
    if args.leak:
        calls = max(1, int(40 * args.size))

        def leak_repeatedly():
            for _ in range(calls):
                leaky()
                time.sleep(0.02)
            return calls

        timed("leaky", leak_repeatedly)
        print("leaked %d MiB" % (len(_leaked) * LEAK_CHUNK // (1024 * 1024)), flush=True)
    print("total %.3f s" % (time.perf_counter() - total), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
