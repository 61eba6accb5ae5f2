"""`profkit stat` and `profkit list`: counts checked against Debian's `perf stat` on the same
deterministic workload, against what the workload is known to do, and the clear errors.

PROFKIT is the binary (default build/profkit); perf_workload is built next to it in
tests/unit/perf (or PERF_WORKLOAD)."""

import csv
import io
import json
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import pytest

from conftest import PROFKIT, assert_one_error_line, profkit

WORKLOAD = os.environ.get("PERF_WORKLOAD",
                          str(Path(PROFKIT).parent / "tests" / "unit" / "perf" / "perf_workload"))
PERF = shutil.which("perf")
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"]


@pytest.fixture(scope="module", autouse=True)
def workload_built():
    if not os.path.exists(WORKLOAD):
        pytest.fail("perf_workload is not built (%s); set PERF_WORKLOAD" % WORKLOAD)


def profkit_totals(events, cmd, extra=()):
    """profkit stat --csv: {event: (value or None, status)} and the process result."""
    p = profkit("stat", "--csv", "-e", events, *extra, "--", *cmd, timeout=120)
    assert p.returncode == 0, p.stderr_text
    lines = [l for l in p.stderr_text.splitlines() if not l.startswith("profkit: warning")]
    rows = list(csv.DictReader(io.StringIO("\n".join(lines))))
    assert rows and set(rows[0]) == {"event", "value", "unit", "enabled_ns", "running_ns",
                                     "percent_running", "status"}, lines
    return {r["event"]: (float(r["value"]) if r["value"] else None, r["status"]) for r in rows}, p


def perf_totals(events, cmd):
    """perf stat -x, : {event: value or None}."""
    p = subprocess.run([PERF, "stat", "-x,", "-e", events, "--"] + list(cmd),
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    out = {}
    for line in p.stderr.splitlines():
        f = line.split(",")
        if len(f) < 3:
            continue
        out[f[2]] = None if f[0].startswith("<") else float(f[0])
    return out


def compare_with_perf(events, cmd, runs, pick):
    """Runs profkit and perf alternately on cmd; returns {event: (ours, perf)} reduced by
    pick (median for counts, min for CPU time: the run least disturbed by other load)."""
    ours, theirs = {}, {}
    for _ in range(runs):
        o, _p = profkit_totals(events, cmd)
        t = perf_totals(events, cmd)
        for name in events.split(","):
            ours.setdefault(name, []).append(o[name][0])
            theirs.setdefault(name, []).append(t[name])
    return {n: (pick(ours[n]), pick(theirs[n]), ours[n], theirs[n]) for n in ours}


@pytest.mark.skipif(PERF is None, reason="Debian's linux-perf is not installed")
def test_counts_agree_with_perf_stat():
    # 20000 page faults, 3000 sleeps (a context switch each), no busy loop: little to
    # preempt, so the involuntary switches that vary from run to run stay few.
    cmd = [WORKLOAD, "20000", "3000", "0", "0"]
    events = "page-faults:u,minor-faults:u,context-switches,page-faults,minor-faults"
    res = compare_with_perf(events, cmd, 7, statistics.median)
    for name, (a, b, all_a, all_b) in res.items():
        if name == "context-switches":
            # Other load only adds preemptions: the least disturbed run of each tool is
            # the workload's own count.
            a, b = min(all_a), min(all_b)
        assert abs(a - b) <= 0.01 * b, "%s: profkit %s, perf %s (%r vs %r)" % (
            name, a, b, all_a, all_b)
    assert res["page-faults:u"][0] >= 20000
    assert res["context-switches"][0] >= 3000
    print("profkit vs perf (medians of 7):", {n: v[:2] for n, v in res.items()})


@pytest.mark.skipif(PERF is None, reason="Debian's linux-perf is not installed")
def test_task_clock_agrees_with_perf_stat():
    # a fixed loop: the same work every run; the least disturbed run of each tool. CPU time
    # of the same work varies with the machine's other load, and this VM runs it at two
    # speeds (40 or 50+ ms here, in episodes): one tool's 7 runs can all miss the fast one
    # (CI once: profkit 49.7 and 49.8 among 7, perf never below 52.6). So up to 3 rounds
    # of 7 are run, and the least of all rounds so far is compared.
    all_a, all_b = [], []
    for attempt in range(3):
        res = compare_with_perf("task-clock", [WORKLOAD, "0", "0", "150", "0"], 7, min)
        all_a += res["task-clock"][2]
        all_b += res["task-clock"][3]
        a, b = min(all_a), min(all_b)
        if abs(a - b) <= 0.02 * b:
            break
    assert abs(a - b) <= 0.02 * b, "task-clock: profkit %s ms, perf %s ms (%r vs %r)" % (
        a, b, all_a, all_b)
    print("task-clock profkit %.3f ms, perf %.3f ms" % (a, b))


def test_child_pages_are_counted():
    values, _ = profkit_totals("page-faults,minor-faults", [WORKLOAD, "0", "0", "0", "8000"])
    assert values["page-faults"][0] >= 8000
    assert values["minor-faults"][0] >= 8000
    assert values["page-faults"][1] == "counted"


def read_series(path):
    rows = list(csv.DictReader(open(path, newline="")))
    assert rows
    return rows


def test_interval_series_sums_to_total(tmp_path):
    out = tmp_path / "counts.csv"
    events = "page-faults,context-switches,task-clock"
    p = profkit("stat", "-I", "10", "--reset", "--csv", "-o", out, "-e", events, "--",
                WORKLOAD, "40000", "800", "100", "3000", timeout=120)
    assert p.returncode == 0, p.stderr_text
    totals = {r["event"]: int(r["value"].split(".")[0]) if r["event"] != "task-clock" else
              float(r["value"]) for r in csv.DictReader(io.StringIO(p.stderr_text))}
    rows = read_series(out)
    assert list(rows[0]) == ["timestamp", "elapsed_s", "event", "value", "enabled_ns",
                             "running_ns"]
    for ev in ("page-faults", "context-switches"):
        series = [int(r["value"]) for r in rows if r["event"] == ev]
        assert len(series) >= 5
        assert sum(series) == totals[ev], (ev, sum(series), totals[ev])
    ns = sum(int(r["value"]) for r in rows if r["event"] == "task-clock")
    assert abs(ns / 1e6 - totals["task-clock"]) < 0.01
    assert totals["page-faults"] >= 43000
    # one row per event per interval, each taken just after its 10 ms deadline (a late one
    # late, never twice: no two rows in one slot)
    el = sorted({float(r["elapsed_s"]) for r in rows})[:-1]  # the last one is at the exit
    slots = [int(e * 100 + 1e-9) for e in el]
    assert len(set(slots)) == len(slots) and min(slots) >= 1
    late_ms = [(e * 100 - k) * 10 for e, k in zip(el, slots)]
    assert statistics.median(late_ms) < 2.0, late_ms
    ts = [float(r["timestamp"]) for r in rows]
    assert ts == sorted(ts) and abs(ts[0] - time.time()) < 60


def test_interval_running_totals_and_wide(tmp_path):
    out = tmp_path / "wide.csv"
    p = profkit("stat", "-I", "20", "--wide", "-o", out, "-e", "page-faults,cs,cycles", "--",
                WORKLOAD, "30000", "300", "50", "0", timeout=120)
    assert p.returncode == 0, p.stderr_text
    rows = read_series(out)
    assert list(rows[0]) == ["timestamp", "elapsed_s", "page-faults", "cs", "cycles"]
    pf = [int(r["page-faults"]) for r in rows]
    assert pf == sorted(pf) and pf[-1] >= 30000
    assert all(r["cycles"] == "" for r in rows)  # not supported here: empty, not 0
    assert "not supported on this machine" in p.stderr_text
    assert "page-faults" in p.stderr_text  # the total is still shown


def test_table_like_perf_stat_with_hardware_not_supported():
    p = profkit("stat", "-e", "{instructions,cycles},page-faults,context-switches", "--",
                WORKLOAD, "2000", "10", "10", "0")
    assert p.returncode == 0, p.stderr_text
    err = p.stderr_text
    assert "Performance counter stats for" in err
    for hw in ("instructions", "cycles"):
        assert "profkit: warning: '%s' is not counted: not supported on this machine" % hw in err
    lines = {l.split()[-1] if "<" in l else None: l for l in err.splitlines()}
    pf = [l for l in err.splitlines() if l.strip().endswith("page-faults") or
          " page-faults " in l]
    assert pf and int(pf[0].split()[0]) >= 2000
    assert err.count("<not supported>") == 2
    assert "seconds time elapsed" in err and "seconds user" in err
    del lines


def test_derived_ratios_and_exit_status():
    p = profkit("stat", "-e", "task-clock,page-faults", "--", "sh", "-c", "exit 3")
    assert p.returncode == 3
    assert "CPUs utilized" in p.stderr_text and "/sec" in p.stderr_text


def test_pid_until_it_exits():
    child = subprocess.Popen([WORKLOAD, "0", "300", "20", "0"])
    try:
        p = profkit("stat", "-p", child.pid, "-e", "context-switches,task-clock", timeout=60)
    finally:
        child.wait()
    assert p.returncode == 0, p.stderr_text
    assert "process %d" % child.pid in p.stdout.decode()


def test_pid_that_exits_at_once():
    child = subprocess.Popen(["true"])
    time.sleep(0.2)  # a zombie now, then reaped
    child.wait()
    p = profkit("stat", "-p", child.pid, "-e", "page-faults")
    assert p.returncode == 1
    assert_one_error_line(p.stderr_text, "no such process", str(child.pid))


def test_whole_machine_intervals():
    p = profkit("stat", "-a", "-e", "cpu-clock", "-I", "200", "-d", "1", timeout=30)
    assert p.returncode == 0, p.stderr_text
    rows = list(csv.DictReader(io.StringIO(p.stdout.decode())))
    assert len(rows) == 5
    ncpu = os.cpu_count()
    last = rows[-1]
    assert abs(float(last["elapsed_s"]) - 1.0) < 0.05
    assert int(last["value"]) >= 0.9 * ncpu * 1e9


@pytest.mark.parametrize("args,code,words", [
    (["-e", "page-fault", "--", "true"], 2, ["unknown event 'page-fault'", "did you mean 'page-faults'"]),
    (["-e", "{page-faults,cs", "--", "true"], 2, ["malformed event list", "unbalanced '{'"]),
    (["-e", "{page-faults,{cs}}", "--", "true"], 2, ["nested"]),
    (["-e", "msr/nope=1/", "--", "true"], 2, ["has no term 'nope'"]),
    (["-I", "0", "--", "true"], 2, ["invalid interval '0'"]),
    (["-I", "-10", "--", "true"], 2, ["invalid interval '-10'"]),
    (["-I", "abc", "--", "true"], 2, ["invalid interval 'abc'"]),
    (["-e", "cs"], 2, ["nothing to count"]),
    (["-e", "cycles,instructions", "--", "true"], 1, ["none of the events", "not supported on this machine"]),
    (["-e", "cs", "--", "/nonexistent/cmd"], 1, ["cannot execute", "command not found"]),
    (["-p", "4194000", "-e", "cs"], 1, ["no such process"]),
])
def test_bad_input(args, code, words):
    p = profkit("stat", *args)
    assert p.returncode == code, p.stderr_text
    assert_one_error_line(p.stderr_text, *words)


def test_not_permitted_names_paranoid_and_capability():
    paranoid = int(open("/proc/sys/kernel/perf_event_paranoid").read())
    if os.geteuid() != 0 or paranoid < 2:
        pytest.fail("this test needs root (to drop to nobody) and perf_event_paranoid >= 2")
    p = subprocess.run(NOBODY + [PROFKIT, "stat", "-e", "context-switches:k", "--", "true"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert p.returncode == 1
    assert_one_error_line(p.stderr, "not permitted", "perf_event_paranoid is %d" % paranoid,
                          "CAP_PERFMON")
    # without an explicit :k the fallback counts user space and says so
    p = subprocess.run(NOBODY + [PROFKIT, "stat", "--csv", "-e", "context-switches,page-faults",
                                 "--", "true"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "counting user space only: perf_event_paranoid is %d" % paranoid in p.stderr


def test_tracepoint_and_pmu_events():
    values, p = profkit_totals("sched:sched_switch,msr/tsc/,perf::PERF_COUNT_SW_PAGE_FAULTS",
                               [WORKLOAD, "3000", "100", "0", "0"])
    assert values["sched:sched_switch"][0] >= 100
    assert values["msr/tsc/"][0] > 0
    assert values["perf::PERF_COUNT_SW_PAGE_FAULTS"][0] >= 3000


def test_list_marks_what_can_be_counted():
    p = profkit("list", "--json")
    assert p.returncode == 0, p.stderr_text
    ev = {e["name"]: e for e in json.loads(p.stdout)["events"]}
    assert ev["page-faults"]["supported"] is True and ev["page-faults"]["reason"] is None
    assert ev["cpu-cycles"]["supported"] is False
    assert "not supported on this machine" in ev["cpu-cycles"]["reason"]
    assert "cycles" in ev["cpu-cycles"]["aliases"]
    assert ev["sched:sched_switch"]["supported"] is True
    assert ev["msr/tsc/"]["kind"] == "pmu"
    kinds = {e["kind"] for e in ev.values()}
    assert {"hardware", "cache", "software", "tracepoint", "pmu", "raw"} <= kinds

    p = profkit("list", "cache", "--json")
    cache = json.loads(p.stdout)["events"]
    assert len(cache) == 32 and all(e["kind"] == "cache" for e in cache)

    p = profkit("list")
    assert "software events:" in p.stdout.decode()
    assert "none of these can be counted here: not supported" in p.stdout.decode()

    p = profkit("list", "--pmus", "--json")
    pmus = {x["name"]: x for x in json.loads(p.stdout)["pmus"]}
    assert set(pmus) == set(os.listdir("/sys/bus/event_source/devices"))
    assert pmus["software"]["type"] == 1 and pmus["tracepoint"]["type"] == 2
    assert "event=config:0-63" in pmus["msr"]["formats"]

    p = profkit("list", "no-such-thing-at-all")
    assert p.returncode == 1
    assert_one_error_line(p.stderr_text, "no event matches")
