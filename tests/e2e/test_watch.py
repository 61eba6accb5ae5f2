"""`profkit watch`: following running processes by PID, by name and by --match, including
ones that start late, recycled PIDs, names no shell would like, and clean ends."""

import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import (Recording, assert_one_error_line, finish, profkit, spawn_profkit,
                      target, wait_for_line)


def start_named(procs, name, seconds, *extra):
    p = procs([target("named"), name, seconds, *extra])
    wait_for_line(p)
    return p


def test_watch_pid_ends_when_target_exits(procs, outdir):
    before = time.time()
    p = procs([target("named"), "pk_wpid", "1.0"])
    after = time.time()
    wait_for_line(p)
    time.sleep(0.2)  # so that it started before the first tick's window
    t0 = time.monotonic()
    r = profkit("watch", "-q", "-i", "0.1", "-o", outdir, p.pid)
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stderr_text
    assert r.stderr_text == "" and r.stdout == b""
    assert took < 1.5
    rec = Recording(outdir)
    sm = rec.summary
    assert sm["mode"] == "watch"
    assert sm["targets"] == [p.pid]
    assert sm["ended_by"] == "targets_gone"
    assert rec.pids() == {p.pid}
    assert all(row["name"] == "pk_wpid" for row in rec.samples)
    assert rec.process(p.pid)["exited"] is True
    assert not (outdir / "stdout.txt").exists()
    # creation_epoch is the real start time (the kernel keeps it in 10 ms ticks).
    ce = float(rec.samples[0]["creation_epoch"])
    assert before - 0.015 <= ce <= after + 0.005, (before, ce, after)
    assert abs(ce - before) < 0.05
    # The first row of a process that started long before the recording has no CPU
    # window: its cpu_percent is unknown (empty), not 0; later rows have a value.
    assert rec.samples[0]["cpu_percent"] == ""
    assert all(row["cpu_percent"] != "" for row in rec.samples[1:])


def test_watch_several_pids_until_the_last_is_gone(procs, outdir):
    a = start_named(procs, "pk_wa", "0.3")
    b = start_named(procs, "pk_wb", "0.9")
    r = profkit("watch", "-q", "-i", "0.05", "-o", outdir, a.pid, b.pid)
    assert r.returncode == 0, r.stderr_text
    assert r.stderr_text == ""
    rec = Recording(outdir)
    last_a = max(float(x["elapsed_s"]) for x in rec.rows_of(a.pid))
    last_b = max(float(x["elapsed_s"]) for x in rec.rows_of(b.pid))
    assert last_a < 0.5 and 0.6 < last_b < 1.2, (last_a, last_b)
    assert rec.summary["ended_by"] == "targets_gone"


def test_watch_duration_schedule(procs, outdir):
    p = start_named(procs, "pk_wdur", "10")
    r = profkit("watch", "-q", "-i", "0.5", "-d", "1.2", "-o", outdir, p.pid)
    assert r.returncode == 0, r.stderr_text
    assert r.stderr_text == ""
    rec = Recording(outdir)
    els = [float(x["elapsed_s"]) for x in rec.system]
    assert len(els) == 4
    for got, want in zip(els, [0, 0.5, 1.0, 1.2]):
        assert abs(got - want) < 0.03, els
    assert [float(x["elapsed_s"]) for x in rec.samples] == els
    assert rec.summary["ended_by"] == "duration"
    assert p.poll() is None, "watch never touches its targets"


def test_watch_name_follows_all_including_late_ones(procs, outdir):
    a = start_named(procs, "pk_triple", "2")
    b = start_named(procs, "pk_triple", "2")
    decoy = start_named(procs, "pk_triple2", "2")
    decoy2 = start_named(procs, "pk_tripl", "2")
    w = spawn_profkit("watch", "-q", "-i", "0.1", "-d", "1.2", "-o", outdir, "pk_triple")
    time.sleep(0.5)
    c = start_named(procs, "pk_triple", "2")
    rc, out, err = finish(w)
    assert rc == 0, err
    assert err == ""
    rec = Recording(outdir)
    assert rec.pids() == {a.pid, b.pid, c.pid}
    assert decoy.pid not in rec.pids() and decoy2.pid not in rec.pids()
    first_c = min(float(x["elapsed_s"]) for x in rec.rows_of(c.pid))
    assert 0.4 <= first_c <= 0.8, first_c
    for p in (a, b):
        assert len(rec.rows_of(p.pid)) == len(rec.system)
    assert rec.summary["targets"] == ["pk_triple"]


def test_watch_long_name_beyond_comm(procs, tmp_path, outdir):
    """comm keeps 15 bytes; a longer program name is matched by its full argv[0]."""
    exe = tmp_path / "pk_longname_abcdefghij"
    shutil.copy(target("spin"), exe)
    p = procs([exe, "1.5"])
    other = tmp_path / "pk_longname_abcXYZ"
    shutil.copy(target("spin"), other)
    q = procs([other, "1.5"])
    time.sleep(0.1)
    r = profkit("watch", "-q", "-i", "0.1", "-d", "0.3", "-o", outdir, exe.name)
    assert r.returncode == 0, r.stderr_text
    rec = Recording(outdir)
    assert rec.pids() == {p.pid}
    assert {x["name"] for x in rec.samples} == {exe.name}


@pytest.mark.parametrize("name", ['a b,(c)"d\ne', "x,y", "(sd-pam)", "tab\there", "  "])
def test_hostile_names_are_escaped(name, procs, outdir):
    p = start_named(procs, name, "2")
    r = profkit("watch", "-q", "-i", "0.1", "-d", "0.2", "-o", outdir, name)
    assert r.returncode == 0, r.stderr_text
    assert r.stderr_text == ""
    rec = Recording(outdir)
    assert rec.pids() == {p.pid}
    assert {x["name"] for x in rec.samples} == {name}
    assert rec.process(p.pid)["name"] == name
    assert rec.summary["targets"] == [name]


def test_run_picks_up_a_new_name(outdir):
    """A command that renames itself (prctl) shows the new name from then on."""
    name = 'a b,(c)"d\ne'
    r = profkit("run", "-q", "-i", "0.05", "-o", outdir, "--", target("named"), name, "0.3")
    assert r.returncode == 0, r.stderr_text
    rec = Recording(outdir)
    names = [x["name"] for x in rec.samples]
    assert names[-1] == name
    assert set(names) <= {"named", name}


def test_watch_match_regex(procs, outdir):
    a = start_named(procs, "pk_m_alpha", "2")
    g = start_named(procs, "pk_m_gamma", "2")
    w = spawn_profkit("watch", "-q", "-i", "0.1", "-d", "0.8", "-o", outdir, "--match",
                      "named pk_m_(alpha|beta) ")
    time.sleep(0.3)
    b = start_named(procs, "pk_m_beta", "2")
    rc, out, err = finish(w)
    assert rc == 0, err
    assert err == ""
    rec = Recording(outdir)
    assert rec.pids() == {a.pid, b.pid}
    assert g.pid not in rec.pids()


def test_watch_wait_for_a_name_that_starts_later(procs, outdir):
    w = spawn_profkit("watch", "-q", "--wait", "-i", "0.1", "-d", "1.2", "-o", outdir,
                      "pk_waitme")
    time.sleep(0.4)
    p = start_named(procs, "pk_waitme", "0.3")
    rc, out, err = finish(w)
    assert rc == 0, err
    assert err == ""
    rec = Recording(outdir)
    assert rec.pids() == {p.pid}
    assert rec.summary["ended_by"] == "duration"
    assert rec.process(p.pid)["exited"] is True
    # It keeps recording after the target is gone, until the duration.
    assert float(rec.system[-1]["elapsed_s"]) == pytest.approx(1.2, abs=0.03)


def test_watch_wait_without_duration_warns_and_ends_on_signal(outdir):
    w = spawn_profkit("watch", "-q", "--wait", "-i", "0.1", "-o", outdir, "pk_never_here")
    time.sleep(0.5)
    w.send_signal(signal.SIGINT)
    rc, out, err = finish(w, timeout=10)
    assert rc == 0, err
    assert_one_error_line(err, "warning", "--wait")
    rec = Recording(outdir)
    assert rec.samples == []
    assert len(rec.system) >= 4
    assert rec.summary["ended_by"] == "signal"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signal_ends_watch_cleanly(sig, procs, outdir):
    p = start_named(procs, "pk_wsig", "-1")
    w = spawn_profkit("watch", "-q", "-i", "0.05", "-o", outdir, p.pid)
    time.sleep(0.6)
    t_sig = time.time()
    w.send_signal(sig)
    rc, out, err = finish(w, timeout=10)
    assert rc == 0, err
    assert err == ""
    rec = Recording(outdir)
    assert rec.summary["ended_by"] == "signal"
    assert len(rec.samples) >= 10
    assert len(rec.samples) == len(rec.system)
    # A last sample at the signal.
    assert abs(float(rec.samples[-1]["timestamp"]) - t_sig) < 0.1
    assert rec.process(p.pid)["exited"] is False
    assert p.poll() is None, "the watched process is left alone"


def test_watch_children(procs, outdir):
    p = procs([target("forker"), "2", "1.0"])
    kids = []
    for _ in range(3):
        line = p.stdout.readline().split()
        if line[0] == b"fk_child":
            kids.append(int(line[1]))
    r = profkit("watch", "-q", "--children", "-i", "0.05", "-d", "0.3", "-o", outdir, p.pid)
    assert r.returncode == 0, r.stderr_text
    rec = Recording(outdir)
    assert p.pid in rec.pids()
    for k in kids:
        assert k in rec.pids()
        assert all(int(x["ppid"]) == p.pid for x in rec.rows_of(k))

    r = profkit("watch", "-q", "-i", "0.05", "-d", "0.2", "-o", outdir.with_name("nochildren"),
                p.pid)
    assert r.returncode == 0, r.stderr_text
    assert Recording(outdir.with_name("nochildren")).pids() == {p.pid}


def _spawn_with_pid(argv, pid, tries=50):
    """Starts argv as PID `pid`, by setting the kernel's last PID just before the fork."""
    for _ in range(tries):
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(pid - 1))
        p = subprocess.Popen([str(a) for a in argv], stdout=subprocess.PIPE)
        if p.pid == pid:
            return p
        p.kill()
        p.wait()
        p.stdout.close()
    pytest.fail("could not get PID %d" % pid)


def _free_pid():
    pid_max = int(open("/proc/sys/kernel/pid_max").read())
    for cand in range(pid_max - 2000, pid_max - 10, 37):
        if not os.path.exists("/proc/%d" % cand):
            return cand
    pytest.fail("no free PID")


def _recycle(outdir, between, second_life):
    """Two processes named pk_recyc, one after the other, with the same PID; `between`
    runs in the gap. Returns the recording and the PID."""
    if not os.access("/proc/sys/kernel/ns_last_pid", os.W_OK):
        pytest.skip("needs root to set /proc/sys/kernel/ns_last_pid")
    pid = _free_pid()
    w = spawn_profkit("watch", "-q", "--wait", "-i", "0.05", "-d", 0.6 + second_life, "-o",
                      outdir, "pk_recyc")
    time.sleep(0.1)
    first = _spawn_with_pid([target("named"), "pk_recyc", "0.25"], pid)
    wait_for_line(first)
    first.wait()
    first.stdout.close()
    between()
    second = _spawn_with_pid([target("named"), "pk_recyc", second_life], pid)
    t_second = time.time()
    wait_for_line(second)
    second.wait()
    second.stdout.close()
    rc, out, err = finish(w)
    assert rc == 0, err
    assert err == ""
    rec = Recording(outdir)
    mine = [x for x in rec.samples if int(x["pid"]) == pid]
    epochs = sorted({x["creation_epoch"] for x in mine}, key=float)
    assert len(epochs) == 2, epochs
    assert float(epochs[1]) - float(epochs[0]) >= 0.25
    assert abs(float(epochs[1]) - t_second) < 0.05
    # The two identities are two processes in the summary, each with its own rows.
    entries = [p for p in rec.summary["processes"] if p["pid"] == pid]
    assert len(entries) == 2, entries
    assert all(e["exited"] for e in entries)
    assert sum(e["samples"] for e in entries) == len(mine)
    assert {e["creation_epoch"] for e in entries} == {float(e) for e in epochs}
    # Rows of the first end before the second was born.
    last_first = max(float(x["timestamp"]) for x in mine if x["creation_epoch"] == epochs[0])
    assert last_first <= float(epochs[1]) + 0.01
    first_second = min(float(x["timestamp"]) for x in mine if x["creation_epoch"] == epochs[1])
    return first_second - t_second


def test_recycled_pid_is_a_new_identity(outdir):
    """The usual case: other processes were made between the two (here, one)."""
    def between():
        subprocess.run(["true"])
        time.sleep(0.1)

    delay = _recycle(outdir, between, 0.4)
    assert delay < 0.15, "found at the next tick or so, not %.3f s later" % delay


def test_recycled_pid_with_the_same_last_pid(outdir):
    """The kernel's last PID is the same at two scans (nothing else was made): profkit
    re-reads every name at least once a second, so it finds the second process then."""
    delay = _recycle(outdir, lambda: time.sleep(0.1), 1.3)
    assert delay < 1.15, delay


def _watch_late_name(procs, outdir, delay, life):
    """A shell that sleeps `delay` s, then execs into `named pk_late LIFE`. Returns the
    rows of its PID and how long after it took the name profkit first saw it."""
    w = spawn_profkit("watch", "-q", "--wait", "-i", "0.05", "-d", delay + life + 0.3, "-o",
                      outdir, "pk_late")
    time.sleep(0.1)
    sh = procs(["/bin/sh", "-c", "sleep %s; exec %s pk_late %s" % (delay, target("named"),
                                                                   life)])
    wait_for_line(sh)
    t_named = time.time()
    rc, out, err = finish(w)
    assert rc == 0, err
    assert err == ""
    rec = Recording(outdir)
    assert rec.pids() == {sh.pid}
    rows = rec.rows_of(sh.pid)
    assert {x["name"] for x in rows} == {"pk_late"}
    return rows, float(rows[0]["timestamp"]) - t_named


def test_watch_name_taken_by_exec_soon_after_fork(procs, outdir):
    """Every fork + exec starts under its parent's name: a process seen under another
    name shortly after its start and that then takes the watched name is followed from
    its next tick, not missed (here it lives 0.4 s under the name)."""
    rows, late = _watch_late_name(procs, outdir, 0.2, 0.4)
    assert late < 0.12, "found %.3f s after it took the name" % late
    assert len(rows) >= 6


def test_watch_name_taken_by_exec_much_later(procs, outdir):
    """An older process that execs into the watched name is found by the re-reading of
    every name once a second."""
    rows, late = _watch_late_name(procs, outdir, 0.8, 1.2)
    assert late < 1.1, "found %.3f s after it took the name" % late


def test_watch_name_taken_by_rename_much_later(procs, outdir):
    """An older process that renames itself (prctl, no exec) into the watched name is found
    by the re-check of every name once a second, which reads each other process's comm
    from a file kept open."""
    w = spawn_profkit("watch", "-q", "--wait", "-i", "0.05", "-d", "3.2", "-o", outdir,
                      "pk_renamed")
    script = ("import ctypes, sys, time; time.sleep(1.5); "
              "ctypes.CDLL(None).prctl(15, b'pk_renamed', 0, 0, 0); "
              "print('ready', flush=True); time.sleep(1.4)")
    p = procs(["/usr/bin/python3", "-c", script])
    wait_for_line(p)
    t_named = time.time()
    rc, out, err = finish(w)
    assert rc == 0, err
    rec = Recording(outdir)
    assert rec.pids() == {p.pid}
    rows = rec.rows_of(p.pid)
    assert {x["name"] for x in rows} == {"pk_renamed"}
    late = float(rows[0]["timestamp"]) - t_named
    assert late < 1.1, "found %.3f s after it took the name" % late
