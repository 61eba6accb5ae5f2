"""Hostile conditions: no permission, a full disk, and processes that come and go faster
than a sample. profkit reports each problem in one line, keeps what it recorded, and never
writes a torn row."""

import csv
import io
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import (PROFKIT, Recording, assert_one_error_line, profkit, target,
                      wait_for_line)

NOBODY = 65534
AS_NOBODY = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"]


@pytest.fixture
def shared_dir():
    """A directory under /tmp that an unprivileged user can reach (pytest's own tmp_path
    is private to root)."""
    d = tempfile.mkdtemp(prefix="profkit-e2e-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def need_unprivileged():
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to an unprivileged user")
    if not shutil.which("setpriv"):
        pytest.skip("needs setpriv (util-linux)")
    # profkit itself must be reachable by the unprivileged user.
    probe = subprocess.run(AS_NOBODY + [PROFKIT, "--version"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    if probe.returncode != 0:
        pytest.skip("profkit at %s is not executable by an unprivileged user" % PROFKIT)


def as_nobody(*args, timeout=30):
    p = subprocess.run(AS_NOBODY + [PROFKIT] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    p.stderr_text = p.stderr.decode("utf-8", "replace")
    return p


def test_output_dir_not_writable(shared_dir, procs):
    need_unprivileged()
    # shared_dir belongs to root, mode 755: nobody may not create in it.
    out = os.path.join(shared_dir, "out")
    p = as_nobody("run", "-q", "-o", out, "--", "true")
    assert p.returncode == 1, p.stderr_text
    assert_one_error_line(p.stderr_text, out, "permission denied")
    assert not os.path.exists(out)
    # An existing, empty directory that is not writable (watching a process of nobody's,
    # so that the one line is about the directory).
    t = procs(AS_NOBODY + [target("named"), "pk_nobodys", "5"])
    wait_for_line(t)
    p = as_nobody("watch", "-q", "-o", shared_dir, t.pid)
    assert p.returncode == 1, p.stderr_text
    assert_one_error_line(p.stderr_text, shared_dir, "permission denied")
    assert os.listdir(shared_dir) == []


def test_target_of_another_user(shared_dir, procs):
    """nobody watching a root process can read its stat and status but not its fds and
    I/O: those columns are empty, with one warning per process, and the rest is there."""
    need_unprivileged()
    os.chown(shared_dir, NOBODY, NOBODY)
    a = procs([target("named"), "pk_rootowned", "3", "spin"])
    wait_for_line(a)
    b = procs([target("named"), "pk_rootowned", "3"])
    wait_for_line(b)
    out = os.path.join(shared_dir, "out")
    p = as_nobody("watch", "-q", "-i", "0.1", "-d", "0.5", "-o", out, "pk_rootowned")
    assert p.returncode == 0, p.stderr_text
    lines = [l for l in p.stderr_text.splitlines() if l.strip()]
    assert len(lines) == 2, p.stderr_text
    for proc in (a, b):
        mine = [l for l in lines if "PID %d " % proc.pid in l]
        assert len(mine) == 1, lines
        assert "permission denied" in mine[0] and mine[0].startswith("profkit: warning:")
    rec = Recording(out)
    assert rec.pids() == {a.pid, b.pid}
    assert os.stat(os.path.join(out, "samples.csv")).st_uid == NOBODY
    for r in rec.samples:
        for col in ("num_open_files", "read_bytes", "write_bytes", "read_chars",
                    "write_chars"):
            assert r[col] == "", (col, r)
        assert int(r["mem_real"]) > 0 and r["state"] in "RSD"
        assert r["ctx_voluntary"] != "" and r["minor_faults"] != ""
    # CPU is still measured for the busy one (and more than for the idle one, whatever
    # else the machine is doing).
    busy = [float(r["cpu_percent"]) for r in rec.rows_of(a.pid)[1:]]
    idle = [float(r["cpu_percent"]) for r in rec.rows_of(b.pid)[1:]]
    assert min(busy) > 5 and min(busy) > max(idle), (busy, idle)
    assert rec.process(a.pid)["num_open_files_max"] is None
    assert rec.process(a.pid)["write_bytes"] is None


@pytest.fixture
def tiny_fs():
    """A 64 KiB tmpfs, unmounted at teardown."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs")
    d = tempfile.mkdtemp(prefix="profkit-e2e-full-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d],
                       stderr=subprocess.PIPE)
    if r.returncode != 0:
        os.rmdir(d)
        pytest.skip("cannot mount a tmpfs: %s" % r.stderr.decode().strip())
    yield d
    subprocess.run(["umount", "-l", d])
    os.rmdir(d)


def complete_rows(path):
    raw = open(path, "rb").read()
    assert raw == b"" or raw.endswith(b"\n"), "%s ends in a torn row" % path
    rows = list(csv.reader(io.StringIO(raw.decode(), newline="")))
    if rows:
        for r in rows[1:]:
            assert len(r) == len(rows[0]), r
    return rows


@pytest.mark.parametrize("mode", ["run", "watch"])
def test_output_filesystem_fills_up(tiny_fs, procs, mode):
    out = os.path.join(tiny_fs, "out")
    t0 = time.monotonic()
    if mode == "run":
        p = profkit("run", "-q", "-i", "0.001", "-o", out, "--", target("spin"), "0.6")
    else:
        s = procs([target("named"), "pk_full", "-1"])
        wait_for_line(s)
        p = profkit("watch", "-q", "-i", "0.001", "-o", out, s.pid)
    took = time.monotonic() - t0
    assert p.returncode == 1, p.stderr_text
    line = assert_one_error_line(p.stderr_text, "no space left on device")
    assert "samples.csv" in line or "system.csv" in line
    if mode == "watch":
        assert took < 2, "watch stops when it cannot write"
    else:
        assert b"cpu " in p.stdout, "the command ran to its end and its output came through"
    samples = complete_rows(os.path.join(out, "samples.csv"))
    system = complete_rows(os.path.join(out, "system.csv"))
    assert len(samples) > 20 and len(system) > 20
    assert ",".join(samples[0]).startswith("pid,name,cpu_percent,mem_real,")
    # summary.json, if there was room for it, is whole.
    summary = os.path.join(out, "summary.json")
    if os.path.exists(summary):
        import json
        sm = json.load(open(summary))
        assert sm["ended_by"] == "write_error"


def test_processes_that_come_and_go_fast(outdir):
    """A shell spawning short-lived processes as fast as it can, sampled every 1 ms:
    processes vanish between listing and reading, mid-read, or exec while being read.
    profkit must neither crash nor write a torn row."""
    script = ('end=$(($(date +%s) + 2)); while [ $(date +%s) -lt $end ]; do '
              '/bin/true; (exit 0); sh -c ":" & /bin/echo x > /dev/null; done; wait')
    p = profkit("run", "-q", "-i", "0.001", "-o", outdir, "--", "/bin/sh", "-c", script,
                timeout=60)
    assert p.returncode == 0, p.stderr_text
    assert p.stderr_text == ""
    rec = Recording(outdir)  # checks every row's field count and every number
    assert len(rec.pids()) > 50, "it did see many short-lived processes"
    assert len(rec.system) > 500
    names = {r["name"] for r in rec.samples}
    assert "sh" in names
    assert names & {"true", "echo", "date"}
    root = rec.summary["processes"][0]["pid"]
    for r in rec.samples:
        if int(r["pid"]) != root and int(r["ppid"]) <= 0:
            # The kernel shows ppid 0 and no threads for a process that is being reaped
            # at the moment it is read; nothing else may lack a parent here.
            assert r["state"] in ("Z", "X") and r["num_threads"] == "0", r


def test_watch_name_with_fast_churn(procs, outdir):
    """watch by name while many other processes are being made: only the watched ones
    are recorded, and nothing breaks."""
    keep = procs([target("named"), "pk_churnwatch", "3"])
    wait_for_line(keep)
    churn = procs(["/bin/sh", "-c", 'end=$(($(date +%s) + 2)); while [ $(date +%s) -lt $end ]; '
                   'do /bin/true; done'])
    p = profkit("watch", "-q", "-i", "0.002", "-d", "1", "-o", outdir, "pk_churnwatch")
    assert p.returncode == 0, p.stderr_text
    assert p.stderr_text == ""
    rec = Recording(outdir)
    assert rec.pids() == {keep.pid}
    assert len(rec.samples) == len(rec.system) > 200


def test_output_filesystem_fills_up_with_the_commands_output(tiny_fs):
    """The command's own output fills the disk: it still passes through whole, the
    recording stops with one line, and what was written is kept."""
    unit = (b"text line\n" + bytes(range(256)) +
            b"\r\ncaf\xc3\xa9 \xff\xfe\xc3\x28 end\x00tail")
    out = os.path.join(tiny_fs, "out")
    p = profkit("run", "-q", "-i", "0.05", "-o", out, "--", target("echo_bytes"), "0", "400")
    assert p.returncode == 1, p.stderr_text
    assert p.stdout == unit * 400, "passed through whole"
    err = p.stderr_text
    assert err.startswith("warning: \x00\ufffd on stderr\n") or "on stderr" in err
    line = assert_one_error_line(err.replace("warning: \x00\ufffd on stderr\n", ""),
                                 "stdout.txt", "no space left on device")
    saved = open(os.path.join(out, "stdout.txt"), "rb").read()
    assert 0 < len(saved) < len(unit * 400) and (unit * 400).startswith(saved)
    complete_rows(os.path.join(out, "samples.csv"))
    complete_rows(os.path.join(out, "system.csv"))
