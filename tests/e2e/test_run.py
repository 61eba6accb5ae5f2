"""`profkit run`: real programs with known behaviour, and the numbers profkit records for
them checked against what is known to be true."""

import os
import re
import signal
import subprocess
import time

import pytest

from conftest import (MIB, PROFKIT, PYTHON, REPO, Recording, finish, median,
                      num, profkit, spawn_profkit, target)


def run_ok(outdir, *cmd, opts=("-i", "0.05")):
    """profkit run -q OPTS -o OUTDIR -- CMD; must exit 0 with nothing on stderr."""
    p = profkit("run", "-q", *opts, "-o", outdir, "--", *cmd)
    assert p.returncode == 0, p.stderr_text
    assert p.stderr_text == "", p.stderr_text
    return p, Recording(outdir)


def usage_truth(stdout):
    """The "cpu X wall Y" line that spin and spin_threads print: CPU % they really used."""
    m = re.search(rb"cpu ([0-9.]+) wall ([0-9.]+)", stdout)
    assert m, stdout
    return 100.0 * float(m.group(1)) / float(m.group(2))


def steady_rows(rec, pid):
    """Rows of a process between its first and its exit: each has a full interval."""
    rows = [r for r in rec.rows_of(pid) if r["state"] not in ("Z", "X")]
    return rows[1:-1]


def test_schema_and_summary(outdir):
    w = spawn_profkit("run", "-q", "-i", "0.05", "-o", outdir, "--", target("spin"), "0.3")
    rc, out, err = finish(w)
    assert rc == 0 and err == "", err
    rec = Recording(outdir)
    assert len(rec.samples) >= 5
    assert len(rec.system) == rec.summary["ticks"] >= 6
    sm = rec.summary
    assert sm["mode"] == "run"
    assert sm["command"] == [target("spin"), "0.3"]
    assert sm["exit_status"] == 0 and sm["exit_signal"] is None
    assert sm["ended_by"] == "targets_gone"
    assert sm["interval_s"] == 0.05
    assert 0.28 < sm["wall_s"] < 1.5
    assert len(sm["processes"]) == 1
    proc = sm["processes"][0]
    assert proc["name"] == "spin" and proc["exited"] is True
    assert proc["samples"] == len(rec.samples)
    for r in rec.samples:
        assert r["name"] == "spin"
        assert int(r["ppid"]) == w.pid, "launched by profkit itself, no shell between"
        assert int(r["num_threads"]) == 1
        assert r["state"] in ("R", "S", "D", "Z")
    # The energy source this machine lacks is reported, not faked.
    assert sm["energy"]["available"] is False
    assert sm["energy"]["reason"]
    assert all(r["energy_j"] == "" and r["power_w"] == "" for r in rec.system)
    # System columns: per-core CPU, memory.
    for r in rec.system[1:]:
        assert 0 <= float(r["cpu_percent"]) <= 100.5
        assert int(r["mem_available"]) > 0 and int(r["mem_used"]) > 0
    # elapsed_s and timestamp agree with each other and with summary's start.
    start = sm["start_epoch"]
    for r in rec.system:
        assert abs(float(r["timestamp"]) - start - float(r["elapsed_s"])) < 0.005
    # stdout.txt and stderr.txt are there even when run is quiet.
    assert (outdir / "stdout.txt").read_bytes() == out
    assert (outdir / "stderr.txt").read_bytes() == b""


def test_summary_text_on_stderr(outdir):
    p = profkit("run", "-i", "0.05", "-o", outdir, "--", target("spin"), "0.2")
    assert p.returncode == 0
    err = p.stderr_text
    assert "exited with status 0" in err
    assert "energy: unavailable on this machine (" in err
    assert str(outdir) in err
    assert "\r" not in err, "no status line when stderr is not a terminal"


def test_memory_200_mib(outdir):
    p, rec = run_ok(outdir, target("alloc"), "200", "0.6", opts=("-i", "0.1"))
    assert p.stdout == b"ready\n"
    peak = max(int(r["mem_real"]) for r in rec.samples)
    assert abs(peak - 200 * MIB) < 0.10 * 200 * MIB, peak / MIB
    assert rec.summary["processes"][0]["mem_real_peak"] == peak
    held = [int(r["mem_real"]) for r in rec.samples if int(r["mem_real"]) > 150 * MIB]
    assert len(held) >= 3, "the 200 MiB were held for 0.6 s: several samples see them"
    for r in rec.samples:
        assert int(r["mem_virtual"]) >= int(r["mem_real"])
        assert r["mem_swap"] in ("0", "")  # this machine has no swap
    # Touching 200 MiB is about 51200 minor faults.
    faults = max(int(r["minor_faults"]) for r in rec.samples)
    assert faults > 0.9 * 200 * MIB / 4096


def vm_rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for PID %d" % pid)


def test_memory_is_exact(procs, outdir):
    """mem_real is the kernel's exact RSS (status's VmRSS): /proc/PID/stat's rss is an
    approximate per-CPU-batched counter that can read tens of pages low."""
    p = procs([target("alloc"), "32", "5"])
    assert p.stdout.readline() == b"ready\n"
    before = vm_rss_bytes(p.pid)
    r = profkit("watch", "-q", "-i", "0.05", "-d", "0.3", "-o", outdir, p.pid)
    assert r.returncode == 0, r.stderr_text
    after = vm_rss_bytes(p.pid)
    rows = Recording(outdir).rows_of(p.pid)
    assert len(rows) >= 5
    if before == after:  # the process held its memory still all along
        assert {int(row["mem_real"]) for row in rows} == {before}


def test_memory_right_after_exec(outdir):
    """Right after exec, stat's rss often reads 0 for a process that has memory; the
    first row of each short command must show its real, non-zero RSS."""
    for _ in range(5):
        _, rec = run_ok(outdir, "sleep", "0.15", opts=("-i", "0.05", "--force"))
        first = rec.samples[0]
        assert first["state"] != "Z" and int(first["mem_real"]) > 0, first


def test_busy_loop_near_100_percent(outdir):
    p, rec = run_ok(outdir, target("spin"), "1.2", opts=("-i", "0.1"))
    truth = usage_truth(p.stdout)
    pid = rec.summary["processes"][0]["pid"]
    values = [num(r, "cpu_percent") for r in steady_rows(rec, pid)]
    assert len(values) >= 8
    assert all(v is not None for v in values), values
    # On a busy machine the share varies from row to row: the mean over the rows is what
    # the truth (CPU time over wall time) is compared with; the median must be near 100
    # when the machine was not busy with something else.
    mean = sum(values) / len(values)
    assert abs(mean - truth) < 10, (mean, truth)
    if truth > 90:
        assert 85 <= median(values) <= 105, values
    summary_mean = rec.summary["processes"][0]["cpu_percent_mean"]
    assert abs(summary_mean - truth) < 10, (summary_mean, truth)
    # cpu_user_s + cpu_system_s at the end is the process's CPU time (10 ms ticks).
    last = rec.rows_of(pid)[-1]
    cpu = float(last["cpu_user_s"]) + float(last["cpu_system_s"])
    assert abs(cpu - truth / 100 * 1.2) < 0.1, cpu


def test_two_busy_threads_near_200_percent(outdir):
    p, rec = run_ok(outdir, target("spin_threads"), "2", "1.2", opts=("-i", "0.1"))
    truth = usage_truth(p.stdout)
    pid = rec.summary["processes"][0]["pid"]
    rows = steady_rows(rec, pid)
    values = [num(r, "cpu_percent") for r in rows]
    mean = sum(values) / len(values)
    assert abs(mean - truth) < 15, (mean, truth)
    if truth > 180:
        assert 170 <= median(values) <= 210, values
    assert max(int(r["num_threads"]) for r in rows) == 3
    # Context switches summed over threads.
    assert all(r["ctx_voluntary"] != "" for r in rows)


def test_write_50_mib(tmp_path, outdir):
    data = tmp_path / "data.bin"
    run_ok(outdir, target("writer"), data, "50", "0.4", opts=("-i", "0.1"))
    assert data.stat().st_size == 50 * MIB
    rec = Recording(outdir)
    pid = rec.summary["processes"][0]["pid"]
    rows = [r for r in rec.rows_of(pid) if r["write_bytes"] != ""]
    wb = max(int(r["write_bytes"]) for r in rows)
    assert abs(wb - 50 * MIB) < 0.10 * 50 * MIB, wb / MIB
    wc = max(int(r["write_chars"]) for r in rows)
    assert 50 * MIB <= wc < 50 * MIB + 65536
    assert rec.summary["processes"][0]["write_bytes"] == int(rows[-1]["write_bytes"])
    wbs = [int(r["write_bytes"]) for r in rows]
    assert wbs == sorted(wbs), "write_bytes is cumulative"


def test_open_files_grow(outdir):
    p, rec = run_ok(outdir, target("fdleak"), "12", "0.06", opts=("-i", "0.03"))
    pid = rec.summary["processes"][0]["pid"]
    fds = [int(r["num_open_files"]) for r in rec.rows_of(pid) if r["num_open_files"] != ""]
    # stdin, stdout, stderr + 12 (files, sockets and pipes all count).
    assert max(fds) == 3 + 12, fds
    assert fds[-1] == 15
    assert fds == sorted(fds), fds
    assert len(set(fds)) >= 8, "the growth is seen step by step"
    assert rec.summary["processes"][0]["num_open_files_max"] == 15


def test_schedule_interval_and_duration(outdir):
    """DESIGN: interval 5, duration 7 gives samples at t=0, 5, 7. Scaled: 0.5 and 1.2."""
    p = profkit("run", "-q", "-i", "0.5", "-d", "1.2", "-o", outdir, "--",
                target("named"), "pk_sched", "1.6")
    rec = Recording(outdir)
    els = [float(r["elapsed_s"]) for r in rec.system]
    assert len(els) == 4, els
    for got, want in zip(els, [0, 0.5, 1.0, 1.2]):
        assert abs(got - want) < 0.03, els
    assert rec.summary["ticks"] == 4
    assert rec.summary["ended_by"] == "duration"
    assert [float(r["elapsed_s"]) for r in rec.samples] == els
    # The command outlives the recording: it is ended like timeout(1) ends it, with
    # SIGTERM, and its status is profkit's.
    assert rec.summary["exit_signal"] == signal.SIGTERM
    assert rec.summary["exit_status"] == 128 + signal.SIGTERM
    assert p.returncode == 128 + signal.SIGTERM
    assert p.stderr_text == ""
    assert rec.summary["wall_s"] < 1.5


def test_schedule_short_duration(outdir):
    """interval 0.25, duration 0.35: t = 0, 0.25, 0.35 (the DESIGN's 5 and 7, scaled)."""
    p = profkit("run", "-q", "-i", "0.25", "-d", "0.35", "-o", outdir, "--",
                target("spin"), "1")
    assert p.returncode == 128 + signal.SIGTERM, p.stderr_text
    rec = Recording(outdir)
    els = [float(r["elapsed_s"]) for r in rec.system]
    assert len(els) == 3, els
    for got, want in zip(els, [0, 0.25, 0.35]):
        assert abs(got - want) < 0.03, els


def test_duration_zero_takes_one_sample(outdir):
    p = profkit("run", "-q", "-d", "0", "-o", outdir, "--", target("spin"), "1")
    assert p.returncode == 128 + signal.SIGTERM, p.stderr_text
    rec = Recording(outdir)
    assert len(rec.system) == 1 and len(rec.samples) == 1


def test_duration_kills_a_command_that_ignores_sigterm(outdir):
    """Like timeout(1): SIGTERM at the end of the duration, SIGKILL 2 s later."""
    t0 = time.monotonic()
    p = profkit("run", "-q", "-i", "0.05", "-d", "0.2", "-o", outdir, "--", PYTHON, "-c",
                "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                "time.sleep(30)\n")
    took = time.monotonic() - t0
    assert p.returncode == 128 + signal.SIGKILL, p.stderr_text
    assert p.stderr_text == ""
    assert 2.0 < took < 4, took
    rec = Recording(outdir)
    assert rec.summary["exit_signal"] == signal.SIGKILL
    assert rec.summary["ended_by"] == "duration"
    assert max(float(r["elapsed_s"]) for r in rec.system) == pytest.approx(0.2, abs=0.03)


def test_default_interval_is_paced(outdir):
    p, rec = run_ok(outdir, target("spin"), "0.5", opts=())
    els = [float(r["elapsed_s"]) for r in rec.system]
    assert rec.summary["interval_s"] == 0.05
    # Absolute deadlines: every tick lies on its slot k * 0.05 s, not drifting (a slot
    # missed under load is skipped, never taken twice).
    slots = [round(e / 0.05) for e in els[:-1]]
    assert slots == sorted(set(slots)), slots
    for k, e in zip(slots, els[:-1]):
        assert abs(e - 0.05 * k) < 0.025, (k, e)  # within its own slot, late or not
    assert len(slots) - 1 + rec.summary["missed_slots"] == slots[-1]
    assert abs(rec.summary["mean_period_s"] - 0.05) < 0.005


def test_final_sample_at_exit(outdir):
    """A target that exits gets a last sample when it exits, not at the next tick."""
    p, rec = run_ok(outdir, target("spin"), "0.25", opts=("-i", "1"))
    pid = rec.summary["processes"][0]["pid"]
    rows = rec.rows_of(pid)
    assert len(rows) == 2, rows
    assert 0.2 < float(rows[-1]["elapsed_s"]) < 0.5
    assert rec.summary["wall_s"] < 0.6


def test_stdout_stderr_byte_for_byte(outdir):
    expect_out = (b"text line\n" + bytes(range(256)) +
                  b"\r\ncaf\xc3\xa9 \xff\xfe\xc3\x28 end\x00tail")
    expect_err = b"warning: \x00\xff on stderr\n"
    p = profkit("run", "-q", "-o", outdir, "--", target("echo_bytes"), "0")
    assert p.returncode == 0
    assert p.stdout == expect_out
    assert p.stderr == expect_err
    assert (outdir / "stdout.txt").read_bytes() == expect_out
    assert (outdir / "stderr.txt").read_bytes() == expect_err
    Recording(outdir)


def test_large_output_passes_through(outdir):
    """4 MB of output, more than any pipe buffer, arrives whole and in order."""
    unit = (b"text line\n" + bytes(range(256)) +
            b"\r\ncaf\xc3\xa9 \xff\xfe\xc3\x28 end\x00tail")
    p = profkit("run", "-q", "-o", outdir, "--", target("echo_bytes"), "0", "14000")
    assert p.returncode == 0
    assert p.stdout == unit * 14000
    assert (outdir / "stdout.txt").read_bytes() == unit * 14000


def test_arguments_arrive_verbatim(outdir):
    """No shell: spaces, quotes, globs and $ reach the command untouched."""
    args = ["a b", "'q'", '"d"', "*", "$HOME", ";", "", "\\n"]
    p = profkit("run", "-q", "-o", outdir, "--", PYTHON, "-c",
                "import sys; sys.stdout.write(repr(sys.argv[1:]))", *args)
    assert p.returncode == 0, p.stderr_text
    assert p.stdout.decode() == repr(args)


@pytest.mark.parametrize("code", [0, 1, 3, 255])
def test_exit_status_passed_through(code, outdir):
    p = profkit("run", "-q", "-o", outdir, "--", target("echo_bytes"), str(code))
    assert p.returncode == code
    assert p.stderr == b"warning: \x00\xff on stderr\n"
    rec = Recording(outdir)
    assert rec.summary["exit_status"] == code
    assert rec.summary["exit_signal"] is None


def test_killed_by_sigkill_exits_137(outdir):
    p = profkit("run", "-q", "-o", outdir, "--", "/bin/sh", "-c", "kill -KILL $$")
    assert p.returncode == 137
    assert p.stderr_text == ""
    rec = Recording(outdir)
    assert rec.summary["exit_status"] == 137
    assert rec.summary["exit_signal"] == 9


def test_killed_summary_text(outdir):
    p = profkit("run", "-o", outdir, "--", "/bin/sh", "-c", "kill -SEGV $$")
    assert p.returncode == 128 + 11
    assert "killed by signal 11" in p.stderr_text


def test_descendants_followed(outdir):
    p, rec = run_ok(outdir, target("forker"), "3", "0.6", opts=("-i", "0.05"))
    # forker prints "NAME PID PPID" for each process it makes.
    procs = [l.split() for l in p.stdout.decode().splitlines()]
    root = int(procs[0][1])
    children = [int(pid) for name, pid, ppid in procs if name == "fk_child"]
    orphan = [int(pid) for name, pid, ppid in procs if name == "fk_orphan"]
    assert len(children) == 3 and len(orphan) == 1
    assert rec.summary["processes"][0]["pid"] == root
    pids = rec.pids()
    for c in children:
        assert c in pids
        rows = rec.rows_of(c)
        assert all(int(r["ppid"]) == root for r in rows)
        assert any(r["name"] == "fk_child" for r in rows)
        # each child spun for 0.3 s (wall: less CPU on a busy machine), then slept
        cpu = max(float(r["cpu_user_s"]) + float(r["cpu_system_s"]) for r in rows)
        assert 0.01 <= cpu <= 0.33, cpu
    # The grandchild, orphaned when its parent exited, is still followed: profkit is its
    # subreaper, and the recording lasts until it exits, after the root.
    o = orphan[0]
    assert o in pids
    orows = rec.rows_of(o)
    assert max(float(r["timestamp"]) for r in orows) > max(
        float(r["timestamp"]) for r in rec.rows_of(root)) + 0.2
    assert any(r["name"] == "fk_orphan" for r in orows)
    assert rec.process(o)["exited"] is True
    assert rec.summary["exit_status"] == 0
    assert rec.summary["wall_s"] > 0.9


def test_no_children_follows_only_the_root(outdir):
    p, rec = run_ok(outdir, target("forker"), "3", "0.4", opts=("--no-children", "-i", "0.05"))
    root = int(p.stdout.decode().splitlines()[0].split()[1])
    assert rec.pids() == {root}
    assert len(rec.summary["processes"]) == 1
    assert rec.summary["wall_s"] < 0.9, "ends with the root, not with the orphan"


def test_creation_epoch_of_launched_command(outdir):
    before = time.time()
    p, rec = run_ok(outdir, target("spin"), "0.1")
    first = float(rec.samples[0]["timestamp"])
    ce = float(rec.samples[0]["creation_epoch"])
    assert before - 0.02 <= ce <= first + 0.01, (before, ce, first)
    assert ce - before < 0.1


def test_sigint_forwarded_to_command(outdir):
    p = spawn_profkit("run", "-q", "-i", "0.05", "-o", outdir, "--", "sleep", "30")
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    rc, out, err = finish(p, timeout=10)
    assert time.monotonic() - t0 < 2
    assert rc == 128 + signal.SIGINT, err
    assert err == ""
    rec = Recording(outdir)
    assert rec.summary["exit_signal"] == signal.SIGINT
    assert rec.summary["ended_by"] == "signal"
    assert len(rec.samples) >= 8


def test_sigterm_forwarded_to_command(outdir):
    p = spawn_profkit("run", "-q", "-i", "0.05", "-o", outdir, "--", "sleep", "30")
    time.sleep(0.3)
    p.send_signal(signal.SIGTERM)
    rc, out, err = finish(p, timeout=10)
    assert rc == 128 + signal.SIGTERM, err
    assert err == ""
    rec = Recording(outdir)
    assert rec.summary["exit_signal"] == signal.SIGTERM


def test_command_that_ignores_sigint_is_killed_by_second(outdir):
    p = spawn_profkit("run", "-q", "-i", "0.05", "-o", outdir, "--", PYTHON, "-c",
                      "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                      "print('ready', flush=True)\ntime.sleep(30)\n")
    assert p.stdout.readline() == b"ready\n"
    p.send_signal(signal.SIGINT)
    time.sleep(0.3)
    assert p.poll() is None, "the command ignored the first Ctrl-C"
    p.send_signal(signal.SIGINT)
    rc, out, err = finish(p, timeout=10)
    assert rc == 128 + signal.SIGKILL, err
    assert err == ""
    Recording(outdir)


def test_make_demo_workload(outdir):
    """What `make demo` does: profile the example workload."""
    p = profkit("run", "-i", "0.05", "-o", outdir, "--", PYTHON,
                str(REPO / "examples" / "workload.py"), "--size", "1", timeout=60)
    assert p.returncode == 0, p.stderr_text
    out = p.stdout.decode()
    times = dict(re.findall(r"^(\w+) ([0-9.]+) s$", out, re.M))
    for fn in ("heavy_computation", "disk_io", "network_request", "total"):
        assert fn in times, out
    assert 0.7 < float(times["network_request"]) < 1.5
    rec = Recording(outdir)
    assert rec.summary["exit_status"] == 0
    assert (outdir / "stdout.txt").read_bytes() == p.stdout
    proc = rec.summary["processes"][0]
    assert proc["write_bytes"] >= 90 * MIB  # disk_io writes 96 MiB and fsyncs
    # heavy_computation is pure CPU work: about 0.9 s of CPU time on this machine, however
    # long it took on the wall clock of a busy machine.
    assert proc["cpu_s"] >= 0.5
    assert proc["cpu_s"] <= float(times["total"]) * 1.5
    assert "exited with status 0" in p.stderr_text


def _read_pty(fd, until, timeout):
    """Reads a pty master until `until` appears or the timeout; returns the bytes."""
    import select
    data = b""
    end = time.monotonic() + timeout
    while until not in data and time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            data += chunk
    return data


def test_ctrl_c_on_a_terminal(outdir):
    """A real Ctrl-C on a terminal reaches the whole foreground process group: the
    command dies of it once (profkit does not send it a second one), the recording ends
    cleanly, and the status line shown on the terminal is cleared."""
    import pty
    pid, fd = pty.fork()
    if pid == 0:  # the child: a session leader with the pty as its terminal
        try:
            os.execv(PROFKIT, [PROFKIT, "run", "-i", "0.05", "-o", str(outdir), "--",
                               target("named"), "pk_tty", "30"])
        finally:
            os._exit(127)
    try:
        seen = _read_pty(fd, b"ready", 10)
        assert b"ready" in seen, seen
        seen += _read_pty(fd, b"samples", 3)
        os.write(fd, b"\x03")  # ^C: the terminal driver sends SIGINT to the group
        seen += _read_pty(fd, b"output: ", 10)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.WIFEXITED(status), status
    assert os.WEXITSTATUS(status) == 128 + signal.SIGINT, seen
    text = seen.decode("utf-8", "replace")
    assert re.search(r"profkit: [0-9.]+ s, [0-9]+ samples, 1 of 1 process alive", text), text
    assert "was killed by signal 2" in text
    rec = Recording(outdir)
    assert rec.summary["exit_signal"] == signal.SIGINT
    assert rec.summary["ended_by"] == "signal"


def test_chatty_command_does_not_starve_the_sampler(outdir):
    """`yes` writes faster than anything can read: profkit still samples on schedule
    while it passes that output through."""
    p = profkit("run", "-q", "-i", "0.05", "-d", "0.5", "-o", outdir, "--", "yes",
                stdout=subprocess.DEVNULL)
    try:
        assert p.returncode == 128 + signal.SIGTERM, p.stderr_text
        assert p.stderr_text == ""
        rec = Recording(outdir)
        assert rec.summary["ticks"] == 11, rec.summary
        assert rec.summary["max_lateness_s"] < 0.04, rec.summary
        assert (outdir / "stdout.txt").stat().st_size > 1024 * 1024
    finally:
        (outdir / "stdout.txt").unlink()


def test_pss_columns(outdir):
    p, rec = run_ok(outdir, target("alloc"), "64", "0.4", opts=("--pss", "-i", "0.1"))
    assert rec.samples_header[-2:] == ["mem_pss", "mem_uss"]
    held = [r for r in rec.samples if r["mem_pss"] and int(r["mem_real"]) > 60 * MIB]
    assert held
    for r in held:
        # Private memory: proportional and unique sizes are the resident size, or near.
        assert abs(int(r["mem_uss"]) - 64 * MIB) < 0.1 * 64 * MIB, r
        assert int(r["mem_uss"]) <= int(r["mem_pss"]) <= int(r["mem_real"])


@pytest.mark.parametrize("cmd", [["run", "-q", "-o", None], ["stat"], ["stat", "-I", "100"]])
def test_command_keeps_its_timer_slack(cmd, tmp_path):
    """profkit's loop wakes at its deadlines (timer slack 1 ns), but the command it launches
    runs with the slack it would have had without profkit: timer slack survives fork and
    exec, and changes how a program's own sleeps are timed."""
    ours = open("/proc/self/timerslack_ns").read().strip()
    args = [str(tmp_path / "out") if a is None else a for a in cmd]
    r = profkit(*args, "--", "cat", "/proc/self/timerslack_ns")
    assert r.returncode == 0, r.stderr_text
    assert r.stdout.decode().splitlines()[0] == ours


def test_command_keeps_its_open_files_limit(tmp_path):
    """run raises its own soft RLIMIT_NOFILE to the hard limit (a followed process keeps
    several descriptors open), but the command it launches gets the soft limit profkit was
    started with."""
    import resource

    def lower_soft_limit():
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 512), hard))

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard > 512  # otherwise nothing is raised and the test could not fail
    out = tmp_path / "out"
    r = profkit("run", "-q", "-o", out, "--", "sh", "-c", "ulimit -Sn",
                preexec_fn=lower_soft_limit)
    assert r.returncode == 0, r.stderr_text
    assert r.stdout.decode().split() == ["512"], r.stdout
