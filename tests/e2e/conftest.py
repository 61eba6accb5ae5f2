"""Shared helpers for profkit's end-to-end tests.

The tests run the real `profkit` binary on real processes (the small C programs of
tests/targets) and check the numbers it records against what is known to be true.

Environment:
    PROFKIT  the profkit binary (default: build/profkit in the repository)
    TARGETS  the directory of built test targets (default: build/tests/targets)
"""

import csv
import io
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROFKIT = os.path.abspath(os.environ.get("PROFKIT", str(REPO / "build" / "profkit")))
TARGETS = Path(os.path.abspath(os.environ.get("TARGETS", str(REPO / "build" / "tests" / "targets"))))
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
MIB = 1024 * 1024

SAMPLES_HEAD = "pid,name,cpu_percent,mem_real,num_open_files,creation_epoch,timestamp"
SAMPLES_REQUIRED = (SAMPLES_HEAD + ",elapsed_s,ppid,state,num_threads,cpu_user_s,cpu_system_s,"
                    "mem_virtual,mem_swap,read_bytes,write_bytes,ctx_voluntary,"
                    "ctx_involuntary,minor_faults,major_faults").split(",")
SAMPLES_TEXT_COLUMNS = {"name", "state"}


def target(name):
    path = TARGETS / name
    if not path.exists():
        pytest.fail("test target %s is not built (set TARGETS=<build>/tests/targets)" % path)
    return str(path)


def profkit(*args, timeout=60, input=None, **kw):
    """Runs profkit to completion. Returns CompletedProcess with bytes stdout and text
    stderr."""
    kw.setdefault("stdout", subprocess.PIPE)
    p = subprocess.run([PROFKIT] + [str(a) for a in args], stderr=subprocess.PIPE,
                       timeout=timeout, input=input, **kw)
    p.stderr_text = p.stderr.decode("utf-8", "replace")
    return p


def spawn_profkit(*args, prefix=(), **kw):
    """Starts profkit in the background (optionally behind a prefix such as setpriv)."""
    return subprocess.Popen(list(prefix) + [PROFKIT] + [str(a) for a in args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def finish(p, timeout=60):
    """Waits for a background profkit; returns (returncode, stdout bytes, stderr text)."""
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        pytest.fail("profkit did not finish within %s s; stderr: %s" % (timeout, err))
    return p.returncode, out, err.decode("utf-8", "replace")


def error_lines(stderr):
    return [l for l in stderr.splitlines() if l.strip()]


def assert_one_error_line(stderr, *words):
    """A failure is reported as exactly one line, starting with 'profkit', that names
    the problem."""
    lines = error_lines(stderr)
    assert len(lines) == 1, "expected one error line, got: %r" % stderr
    assert lines[0].startswith("profkit"), lines
    for w in words:
        assert w.lower() in lines[0].lower(), "%r not in %r" % (w, lines[0])
    return lines[0]


def wait_for_line(proc, prefix=b"ready", timeout=10):
    """Reads the child's stdout until a line starting with prefix appears."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(prefix):
            return line
    pytest.fail("target did not print %r" % prefix)


def _is_number(s):
    try:
        v = float(s)
    except ValueError:
        return False
    return math.isfinite(v)


class Recording:
    """An output directory, parsed and checked against the schema of DESIGN.md."""

    def __init__(self, path):
        self.path = Path(path)
        self.samples_header, self.samples = self._read_csv("samples.csv")
        self.system_header, self.system = self._read_csv("system.csv")
        self.summary = json.loads((self.path / "summary.json").read_text())
        self.lint()

    def _read_csv(self, name):
        raw = (self.path / name).read_bytes()
        assert raw.endswith(b"\n"), "%s does not end with a complete row" % name
        reader = csv.reader(io.StringIO(raw.decode("utf-8"), newline=""))
        rows = list(reader)
        assert rows, "%s has no header" % name
        header = rows[0]
        for i, r in enumerate(rows[1:], start=2):
            assert len(r) == len(header), "%s row %d has %d fields, header %d: %r" % (
                name, i, len(r), len(header), r)
        return header, [dict(zip(header, r)) for r in rows[1:]]

    def lint(self):
        h = self.samples_header
        assert ",".join(h).startswith(SAMPLES_HEAD + ","), h
        assert h[:len(SAMPLES_REQUIRED)] == SAMPLES_REQUIRED, h
        assert len(set(h)) == len(h), "duplicate columns: %r" % h
        for r in self.samples:
            for col, v in r.items():
                if col in SAMPLES_TEXT_COLUMNS or v == "":
                    continue
                assert _is_number(v), "samples.csv %s=%r is not a number: %r" % (col, v, r)
            assert r["pid"] and r["timestamp"] and r["creation_epoch"], r
            assert int(r["pid"]) > 0
            assert len(r["state"]) <= 1
        ts = [float(r["timestamp"]) for r in self.samples]
        assert ts == sorted(ts), "samples.csv timestamps go backwards"

        s = self.system_header
        ncpu = len([c for c in s if c.startswith("cpu") and c.endswith("_percent")
                    and c != "cpu_percent"])
        assert ncpu >= 1
        expect = (["timestamp", "elapsed_s", "cpu_percent"]
                  + ["cpu%d_percent" % i for i in range(ncpu)]
                  + ["mem_used", "mem_available", "swap_used", "energy_j", "power_w"])
        assert s == expect, s
        for r in self.system:
            for col, v in r.items():
                assert v == "" or _is_number(v), "system.csv %s=%r" % (col, v)
            assert r["timestamp"] and r["elapsed_s"], r
        sts = [float(r["timestamp"]) for r in self.system]
        assert all(b > a for a, b in zip(sts, sts[1:])), "system.csv timestamps not increasing"
        els = [float(r["elapsed_s"]) for r in self.system]
        assert all(b > a for a, b in zip(els, els[1:])), "system.csv elapsed_s not increasing"
        if self.system:
            assert els[0] == 0.0

        sm = self.summary
        for key in ("mode", "interval_s", "ticks", "rows", "processes", "energy", "ended_by",
                    "system"):
            assert key in sm, key
        assert sm["ticks"] == len(self.system), (sm["ticks"], len(self.system))
        assert sm["rows"] == len(self.samples), (sm["rows"], len(self.samples))
        for k in ("available", "source", "joules", "reason"):
            assert k in sm["energy"], k
        if sm["mode"] == "run":
            assert "exit_status" in sm and "command" in sm
        for p in sm["processes"]:
            for k in ("pid", "name", "creation_epoch", "samples", "mem_real_peak"):
                assert k in p, k

    def rows_of(self, pid):
        return [r for r in self.samples if int(r["pid"]) == int(pid)]

    def pids(self):
        return {int(r["pid"]) for r in self.samples}

    def identities(self):
        return {(int(r["pid"]), r["creation_epoch"]) for r in self.samples}

    def process(self, pid):
        ps = [p for p in self.summary["processes"] if p["pid"] == int(pid)]
        assert ps, "PID %s not in summary.json" % pid
        return ps[-1]


def num(r, col):
    v = r[col]
    return float(v) if v != "" else None


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    assert n, "no values"
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


@pytest.fixture
def outdir(tmp_path):
    """A path for profkit's output directory (not created)."""
    return tmp_path / "rec"


@pytest.fixture
def procs():
    """Processes a test starts; killed and reaped at teardown."""
    started = []

    def start(argv, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        p = subprocess.Popen([str(a) for a in argv], **kw)
        started.append(p)
        return p

    yield start
    for p in started:
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if p.stdout:
            p.stdout.close()
        if getattr(p, "stderr", None):
            p.stderr.close()
