"""run/watch -e: perf counters as extra columns of samples.csv, checked against /proc."""
import subprocess

from conftest import (Recording, assert_one_error_line, finish, profkit, spawn_profkit,
                      target, wait_for_line)


def last_row(rec, pid):
    rows = rec.rows_of(pid)
    assert rows, "no rows for %s" % pid
    return rows[-1]


def test_run_counters_start_at_exec(tmp_path):
    """The command's page-faults counter agrees with the kernel's own minor-fault count
    for it: counting starts at exec, so not a fault of the 100 MiB it touches is missed."""
    out = tmp_path / "rec"
    p = profkit("run", "-q", "-i", "0.1", "-e", "page-faults,context-switches", "-o", out,
                "--", target("alloc"), "100", "0.3")
    assert p.returncode == 0, p.stderr_text
    assert p.stderr_text == ""
    rec = Recording(out)
    assert rec.samples_header[-2:] == ["page-faults", "context-switches"]
    pid = rec.summary["processes"][0]["pid"]
    row = last_row(rec, pid)
    faults = int(row["minor_faults"]) + int(row["major_faults"])
    counted = int(row["page-faults"])
    assert counted >= 100 * 1024 * 1024 // 4096 * 0.95, counted
    assert abs(counted - faults) <= 0.02 * faults, (counted, faults)
    assert int(row["context-switches"]) >= 0
    counters = rec.process(pid)["counters"]
    assert counters["page-faults"] == counted


def test_unsupported_event_is_reported_and_the_rest_counted(tmp_path):
    out = tmp_path / "rec"
    p = profkit("run", "-q", "-i", "0.1", "-e", "instructions,page-faults", "-o", out,
                "--", target("alloc"), "8", "0.2")
    assert p.returncode == 0, p.stderr_text
    lines = [l for l in p.stderr_text.splitlines() if l.strip()]
    assert len(lines) == 1 and "instructions" in lines[0], p.stderr_text
    assert "not supported on this machine" in lines[0]
    rec = Recording(out)
    row = last_row(rec, rec.summary["processes"][0]["pid"])
    assert row["instructions"] == ""
    assert int(row["page-faults"]) >= 8 * 1024 * 1024 // 4096 * 0.95
    assert rec.summary["processes"][0]["counters"]["instructions"] is None


def test_bad_event_list_is_a_usage_error_before_anything_starts(tmp_path):
    out = tmp_path / "rec"
    for spec, word in (("page-faultz", "page-faultz"), ("{page-faults", "-e")):
        p = profkit("run", "-e", spec, "-o", out, "--", "true")
        assert p.returncode == 2, p.stderr_text
        assert_one_error_line(p.stderr_text, word)
        assert not out.exists()


def test_watch_counts_a_running_process(tmp_path):
    spin = subprocess.Popen([target("spin"), "1.5"], stdout=subprocess.PIPE)
    try:
        out = tmp_path / "rec"
        p = spawn_profkit("watch", "-q", "-i", "0.1", "-d", "0.8", "-e", "task-clock",
                          "-o", out, spin.pid)
        code, _, err = finish(p)
        assert code == 0, err
        rec = Recording(out)
        rows = rec.rows_of(spin.pid)
        clock = [float(r["task-clock"]) for r in rows]
        assert clock == sorted(clock)
        # task-clock counts the CPU time (ns) since profkit attached: the same as the CPU
        # time /proc reports for the process over those rows (10 ms ticks there).
        cpu = [float(r["cpu_user_s"]) + float(r["cpu_system_s"]) for r in rows]
        counted_s = (clock[-1] - clock[0]) / 1e9
        assert counted_s > 0.02, clock  # the spinner ran (little, on a loaded machine)
        assert abs(counted_s - (cpu[-1] - cpu[0])) <= 0.03 + 0.05 * counted_s, (counted_s, cpu)
    finally:
        spin.kill()
        spin.wait()
