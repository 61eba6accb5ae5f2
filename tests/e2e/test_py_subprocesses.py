"""profkit py --subprocesses end to end: child Python processes (multiprocessing pools,
with each start method) are found as they start, sampled into the same profile, and let
go when they end; their functions' times add up to the true times the workers measured
themselves (examples/pool_workload.py prints them).
"""

import json
import re
import subprocess
import time

import pytest

from conftest import profkit
from test_py import ALL, REPO, interpreter, read_outputs, true_times

POOL = str(REPO / "examples" / "pool_workload.py")


def pool_truth(text):
    """({function: total seconds}, {worker PID: [function...]}) from the workload."""
    tasks = {}
    for line in text.splitlines():
        m = re.match(r"^task (\d+) (\w+) (\d+\.\d+)$", line)
        if m:
            tasks.setdefault(int(m.group(1)), []).append(m.group(2))
    return true_times(text), tasks


def check_pool(j, funcs, folded, truth, tasks, parent):
    # The workers' functions, summed over every worker, against what they measured.
    for name in ("crunch", "nap"):
        f = funcs[name]
        assert f["samples"], (name, f)
        err = abs(f["wall_s"] - truth[name])
        assert err <= 0.10 * truth[name], "%s: measured %.3f s, true %.3f s" % (
            name, f["wall_s"], truth[name])
    assert funcs["nap"]["cpu_s"] < 0.05 * funcs["nap"]["wall_s"], funcs["nap"]
    assert 0 < funcs["crunch"]["cpu_s"] <= 1.02 * funcs["crunch"]["wall_s"], funcs["crunch"]
    # The parent's own work after the workers left: still sampled, and the run ended
    # with the parent, cleanly.
    assert abs(funcs["after_pool"]["wall_s"] - truth["after_pool"]) <= 0.1 * truth["after_pool"]
    # Every worker that ran a task was followed: its threads are in the list, labelled
    # with its PID, and its stacks are in the folded file under that label.
    pids = {t["pid"] for t in j["thread_list"]}
    assert parent in pids
    assert set(tasks) <= pids, (sorted(tasks), sorted(pids))
    assert j["processes"] == len(pids) >= 1 + len(tasks)
    for pid in tasks:
        assert re.search(r"^[^;\n]* \(%d/\d+\);.*(crunch|nap) \(pool_workload\.py:\d+\) \d+$" % pid,
                         folded, re.M), (pid, folded[:600])
        labels = [t["label"] for t in j["thread_list"] if t["pid"] == pid]
        assert labels and all("(%d/" % pid in l for l in labels), labels
    assert re.search(r"and \d+ child process", j["target"]), j["target"]


@pytest.mark.parametrize("version", ALL)
def test_pool_fork(version, tmp_path):
    """The launch form on every version, a fork pool whose workers retire and are
    replaced while it runs."""
    py = interpreter(version)
    prefix = str(tmp_path / "pool")
    p = profkit("py", "--batch", "--subprocesses", "-i", "0.001", "-o", prefix, "-f", "crunch",
                "nap", "after_pool", "--", py, POOL, "--method", "fork", timeout=120)
    assert p.returncode == 0, p.stderr_text
    assert not p.stderr_text.strip(), p.stderr_text  # workers leaving is not an error
    out = p.stdout.decode()
    truth, tasks = pool_truth(out)
    assert len(tasks) >= 4, tasks  # three workers, each retiring after two tasks
    parent = int(re.search(r"^parent (\d+)$", out, re.M).group(1))
    j, funcs, _, folded = read_outputs(prefix)
    check_pool(j, funcs, folded, truth, tasks, parent)
    assert "target exited" in out
    table_head = [l for l in out.splitlines() if " sampled, " in l][0]
    assert re.search(r"of \d+ threads in \d+ processes", table_head), table_head


@pytest.mark.parametrize("version,method", [("3.8", "spawn"), ("3.12", "spawn"),
                                            ("3.11-debian", "forkserver"), ("3.13", "forkserver")])
def test_pool_attach_exec(version, method, tmp_path):
    """Attached by PID to a parent whose workers are started by exec'ing a new
    interpreter (spawn), or by a fork server (grandchildren): the same truths."""
    py = interpreter(version)
    prefix = str(tmp_path / "pool")
    target = subprocess.Popen([py, POOL, "--method", method, "--settle", "1.5"],
                              stdout=subprocess.PIPE)
    try:
        line = target.stdout.readline().decode()
        parent = int(line.split()[1])
        p = profkit("py", "-p", parent, "--batch", "--subprocesses", "-i", "0.001", "-o", prefix,
                    "-f", "crunch", "nap", "after_pool", timeout=120)
        out = target.stdout.read().decode()
        target.wait(timeout=30)
    finally:
        if target.poll() is None:
            target.kill()
            target.wait()
    assert p.returncode == 0, p.stderr_text
    assert not p.stderr_text.strip(), p.stderr_text
    truth, tasks = pool_truth(out)
    j, funcs, _, folded = read_outputs(prefix)
    check_pool(j, funcs, folded, truth, tasks, parent)


def test_without_the_option(tmp_path):
    """Without --subprocesses only the process attached to is sampled: the workers'
    functions have no data, the parent's are measured."""
    py = interpreter("3.12")
    prefix = str(tmp_path / "pool")
    p = profkit("py", "--batch", "-o", prefix, "-f", "crunch", "after_pool", "--", py, POOL,
                "--tasks", "2", timeout=120)
    assert p.returncode == 0, p.stderr_text
    j, funcs, _, _ = read_outputs(prefix)
    assert funcs["crunch"]["samples"] is None
    assert funcs["after_pool"]["samples"]
    assert j["processes"] == 1
    assert "child process" not in j["target"]


def test_help_and_status(tmp_path):
    """--subprocesses is documented in --help; the prompt's status names the children."""
    p = profkit("py", "--help")
    assert b"--subprocesses" in p.stdout
    from test_py import Pty
    py = interpreter("3.12")
    target = subprocess.Popen([py, POOL, "--settle", "3", "--tasks", "1"], stdout=subprocess.PIPE)
    term = None
    try:
        parent = int(target.stdout.readline().split()[1])
        term = Pty(["py", "-p", parent, "--subprocesses", "-f", "crunch"])
        term.expect("profkit> ")
        out = ""
        for _ in range(50):  # the pool's three workers are found within a few scans
            time.sleep(0.1)
            out = term.command("status")
            if re.search(r"children: 3 followed now \(PID \d+ \d+ \d+\)", out):
                break
        assert re.search(r"children: 3 followed now \(PID \d+ \d+ \d+\), 3 in all", out), out
        assert "version:  from Py_Version" in out, out
        term.send("exit")
        assert term.close() == 0
        term = None
    finally:
        if term:
            import os
            import signal
            os.kill(term.pid, signal.SIGKILL)
            term.close()
        target.kill()
        target.wait()
