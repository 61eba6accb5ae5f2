"""profkit report: on real recordings of programs whose memory behaviour is known (a leak, a
flat one), every output format, the comparison of two recordings, and every kind of bad
input getting a correct report or one clear error line naming the file, line and column."""

import csv
import io
import json
import os
import pty
import select
import subprocess
import time

import pytest

from conftest import PYTHON, assert_one_error_line, profkit, target

# Allocates 2 MB every 20 ms and keeps it: 200 MB in about 2 s.
LEAKY = "import time\nx = []\nfor _ in range(100):\n    x.append(bytearray(2_000_000)); time.sleep(0.02)\n"
# Allocates 60 MB at once, then holds it for 2 s.
FLAT = "import time\nx = bytearray(60_000_000)\ntime.sleep(2)\n"


def counted_rss(row):
    """A row's RSS is a measurement unless the process had exited (state Z or X) or it is a
    0 that the kernel had not counted yet (address space, nothing in swap): docs/report.md."""
    if not row["mem_real"] or row["state"] in ("Z", "X"):
        return False
    swap = float(row["mem_swap"]) if row["mem_swap"] else 0
    return not (float(row["mem_real"]) == 0 and float(row["mem_virtual"] or 0) > 0 and swap <= 0)


def record(outdir, *argv, interval="0.05"):
    p = profkit("run", "-q", "-i", interval, "-o", outdir, "--", *argv, timeout=120)
    assert p.returncode == 0, p.stderr_text
    return outdir


def report(*args, ok=True):
    p = profkit("report", *args)
    if ok:
        assert p.returncode == 0, p.stderr_text
    return p


def report_json(*paths):
    p = report("--format", "json", *paths)
    assert p.stderr_text == "", p.stderr_text
    return json.loads(p.stdout)


@pytest.fixture(scope="module")
def leaky(tmp_path_factory):
    return record(tmp_path_factory.mktemp("leaky") / "rec", PYTHON, "-c", LEAKY)


@pytest.fixture(scope="module")
def flat(tmp_path_factory):
    return record(tmp_path_factory.mktemp("flat") / "rec", PYTHON, "-c", FLAT)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return record(tmp_path_factory.mktemp("tree") / "rec", target("forker"), "2", "1")


# ---- verdicts on real programs ----------------------------------------------------------


def test_leaky_child_is_a_leak(leaky):
    doc = report_json(leaky)
    (proc,) = doc["processes"]
    trend = proc["memory_trend"]
    assert trend["verdict"] == "leak", trend
    assert trend["profit"]["verdict"] == "possible leak"
    half = trend["second_half"]
    # 2 MB per 20 ms is 100 MB/s, less the interpreter's own time between allocations.
    assert 30e6 < half["slope_bytes_per_s"] < 130e6, half
    assert half["ci_low_bytes_per_s"] > 0
    assert half["ci_low_bytes_per_s"] <= half["slope_bytes_per_s"] <= half["ci_high_bytes_per_s"]
    assert abs(half["slope_mb_per_hour"] - half["slope_bytes_per_s"] * 3600 / 1e6) < 1
    assert trend["growth_fraction"] > 0.05
    assert proc["mem_real"]["max"] > 150e6


def test_flat_child_is_stable(flat):
    doc = report_json(flat)
    (proc,) = doc["processes"]
    assert proc["memory_trend"]["verdict"] == "stable", proc["memory_trend"]
    assert 55e6 < proc["mem_real"]["max"] < 120e6


def test_text_shows_the_numbers_behind_the_verdict(leaky):
    out = report(leaky).stdout.decode()
    assert "memory trend      leak:" in out
    assert "MB/hour" in out and "95% CI" in out
    assert "last quarter:" in out
    assert "PROFIT's heuristic: possible leak" in out
    for label in ("duration", "CPU %", "CPU time", "RSS", "peaks", "I/O", "page faults",
                  "context switches", "machine (", "energy"):
        assert label in out, label


def test_statistics_match_the_csv(leaky):
    """The report's numbers are the CSV's numbers: recomputed here with Python."""
    rows = list(csv.DictReader(open(leaky / "samples.csv", newline="")))
    cpu = [float(r["cpu_percent"]) for r in rows if r["cpu_percent"]]
    live = [float(r["mem_real"]) for r in rows if counted_rss(r)]
    (proc,) = report_json(leaky)["processes"]
    assert proc["samples"] == len(rows)
    assert abs(proc["cpu_percent"]["mean"] - sum(cpu) / len(cpu)) < 0.01
    assert proc["cpu_percent"]["max"] == max(cpu)
    s = sorted(cpu)
    h = (len(s) - 1) * 0.95
    p95 = s[int(h)] + (h - int(h)) * (s[min(int(h) + 1, len(s) - 1)] - s[int(h)])
    assert abs(proc["cpu_percent"]["p95"] - p95) < 0.01
    assert proc["mem_real"]["max"] == max(live)
    assert proc["mem_real"]["min"] == min(live)
    last = rows[-1]
    assert proc["minor_faults"] == int(last["minor_faults"])
    assert abs(proc["cpu_s"] - float(last["cpu_user_s"]) - float(last["cpu_system_s"])) < 0.011


def test_process_tree(tree):
    doc = report_json(tree)
    names = [p["name"] for p in doc["processes"]]
    assert names.count("fk_child") == 2
    trees = doc["trees"]
    root = [t for t in trees if t["name"] == "forker"]
    assert root, trees
    assert root[0]["processes"] >= 3
    # The tree's CPU time is the sum of its members'.
    forker = [p for p in doc["processes"] if p["name"] == "forker"][0]
    members = [p for p in doc["processes"] if p["name"] == "fk_child"] + [forker]
    assert abs(root[0]["cpu_s"] - sum(p["cpu_s"] for p in members)) < 0.011


# ---- formats ------------------------------------------------------------------------------


def test_json_is_complete(leaky):
    doc = report_json(leaky / "samples.csv")
    assert doc["source"]["system_csv"].endswith("system.csv")
    assert doc["machine"]["cpus"] == os.cpu_count()
    assert len(doc["machine"]["per_core"]) == os.cpu_count()
    proc = doc["processes"][0]
    for key in ("pid", "ppid", "name", "creation_epoch", "duration_s", "cpu_percent", "cpu_s",
                "mem_real", "mem_real_end", "mem_virtual_max", "mem_swap_max",
                "num_open_files_max", "num_threads_max", "read_bytes", "write_bytes",
                "minor_faults", "major_faults", "ctx_voluntary", "ctx_involuntary",
                "memory_trend"):
        assert key in proc, key
    for key in ("mean", "p50", "p95", "min", "max"):
        assert key in proc["cpu_percent"]


def test_markdown(leaky):
    out = report("--format", "markdown", leaky).stdout.decode()
    assert out.startswith("# profkit report: ")
    assert "| PID | name | duration |" in out
    assert "### Memory trend" in out
    assert "**leak**" in out


def test_csv(leaky, tree):
    for rec in (leaky, tree):
        out = report("--format", "csv", rec).stdout.decode()
        rows = list(csv.reader(io.StringIO(out, newline="")))
        header = rows[0]
        assert header[:4] == ["kind", "pid", "ppid", "name"]
        assert all(len(r) == len(header) for r in rows), out
        kinds = {r[0] for r in rows[1:]}
        assert "process" in kinds and "machine" in kinds


def test_output_file(leaky, tmp_path):
    out = tmp_path / "report.json"
    p = report("-f", "json", "-o", out, leaky)
    assert p.stdout == b"" and p.stderr_text == ""
    assert json.loads(out.read_text())["processes"]


def test_output_file_refuses_a_symlink(leaky, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    link = tmp_path / "link"
    link.symlink_to(victim)
    p = report("-o", link, leaky, ok=False)
    assert p.returncode == 1
    assert_one_error_line(p.stderr_text, str(link), "symbolic link")
    assert victim.read_text() == "keep"


def run_on_terminal(args):
    """Runs profkit with stdout on a pseudo-terminal; returns what it printed."""
    master, slave = pty.openpty()
    p = subprocess.Popen(args, stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if not ready:
            if p.poll() is not None:
                break
            continue
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    p.wait(timeout=30)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


def test_sparklines_only_on_a_terminal(leaky):
    from conftest import PROFKIT
    shown = run_on_terminal([PROFKIT, "report", str(leaky)])
    assert any(c in shown for c in "▁▂▃▄▅▆▇█"), shown
    piped = report(leaky).stdout.decode()
    assert not any(c in piped for c in "▁▂▃▄▅▆▇█")


def test_hostile_name_is_text(tmp_path):
    rec = record(tmp_path / "rec", target("named"), '<b>,"x"', "0.3")
    out = report(rec).stdout.decode()
    assert 'process ' in out and '<b>,"x"' in out
    doc = json.loads(report("-f", "json", rec).stdout)
    assert doc["processes"][0]["name"] == '<b>,"x"'
    assert "<b>" not in report("-f", "json", rec).stdout.decode()
    md = report("-f", "markdown", rec).stdout.decode()
    assert "&lt;b&gt;,\"x\"" in md and "<b>" not in md
    rows = list(csv.reader(io.StringIO(report("-f", "csv", rec).stdout.decode(), newline="")))
    assert rows[1][3] == '<b>,"x"'


def test_escape_sequences_in_names_are_shown_not_run(tmp_path):
    rows = ["pid,name,cpu_percent,mem_real,num_open_files,creation_epoch,timestamp"]
    rows += ["1,\"evil\x1b[2J\x07\",1,1000,1,1.0,%d" % t for t in range(3)]
    path = tmp_path / "samples.csv"
    path.write_bytes(("\n".join(rows) + "\n").encode())
    out = report(path).stdout
    assert b"\x1b" not in out and b"\x07" not in out
    assert b"evil\\x1b[2J\\x07" in out


# ---- comparison -------------------------------------------------------------------------


def test_compare_with_itself_is_within_noise(leaky):
    doc = report_json(leaky, leaky)
    assert doc["sections"][0]["title"] == "all processes"
    for section in doc["sections"]:
        for m in section["metrics"]:
            assert m["verdict"] in ("within noise", "n/a"), m


def test_compare_two_recordings(leaky, flat):
    doc = report_json(leaky, flat)
    metrics = {m["metric"]: m for m in doc["sections"][0]["metrics"]}
    rss = metrics["rss_mean"]
    assert rss["test"] == "welch" and rss["p_value"] is not None
    assert rss["verdict"] in ("lower", "higher", "within noise")
    dur = metrics["duration_s"]
    assert dur["test"] == "threshold"
    assert dur["verdict"] in ("faster", "slower", "within noise")
    assert dur["change_percent"] == pytest.approx((dur["b"] - dur["a"]) / dur["a"] * 100, abs=0.01)
    # The leaky one ends with ~200 MB, the flat one holds 60 MB.
    assert metrics["rss_max"]["verdict"] == "lower"
    text = report(leaky, flat).stdout.decode()
    assert "A = " in text and "B = " in text and "verdict" in text
    md = report("-f", "markdown", leaky, flat).stdout.decode()
    assert "| metric | A | B | change | verdict | test |" in md
    rows = list(csv.reader(io.StringIO(report("-f", "csv", leaky, flat).stdout.decode())))
    assert rows[0] == ["section", "metric", "unit", "a", "b", "change_percent", "verdict",
                       "test", "p_value"]


def test_compare_slower_run(tmp_path):
    fast = record(tmp_path / "fast", target("spin"), "0.5")
    slow = record(tmp_path / "slow", target("spin"), "1.5")
    metrics = {m["metric"]: m for m in report_json(fast, slow)["sections"][0]["metrics"]}
    assert metrics["duration_s"]["verdict"] == "slower", metrics["duration_s"]
    assert metrics["cpu_s"]["verdict"] == "slower", metrics["cpu_s"]


# ---- bad input --------------------------------------------------------------------------

HEADER = ("pid,name,cpu_percent,mem_real,num_open_files,creation_epoch,timestamp,elapsed_s,"
          "ppid,state,num_threads,cpu_user_s,cpu_system_s,mem_virtual,mem_swap,read_bytes,"
          "write_bytes,ctx_voluntary,ctx_involuntary,minor_faults,major_faults,read_chars,"
          "write_chars")


def row(pid=5, ts=100.0, mem="1000", cpu="10.00"):
    return "%d,app,%s,%s,3,50.000,%.6f,0,1,S,1,0.01,0.00,9000,0,0,0,1,1,10,0,0,0" % (
        pid, cpu, mem, ts)


def write(path, text):
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        with open(path, "w", newline="") as f:
            f.write(text)
    return path


def good_rows(n=20):
    return [row(ts=100 + i * 0.05, mem=str(1000000 + i * 4096)) for i in range(n)]


def expect_error(path, *words):
    p = profkit("report", path)
    assert p.returncode == 1, (p.returncode, p.stderr_text)
    assert p.stdout == b""
    return assert_one_error_line(p.stderr_text, *words)


def test_not_a_csv(tmp_path):
    path = write(tmp_path / "notes.txt", "dear diary,\ntoday I profiled\n")
    expect_error(path, "notes.txt:1:", "no column 'pid'", "not a profkit samples.csv")


def test_binary_file(tmp_path):
    path = write(tmp_path / "blob", bytes(range(256)) * 64)
    expect_error(path, "blob:1:")


def test_renamed_column(tmp_path):
    path = write(tmp_path / "s.csv", HEADER.replace("mem_real", "rss") + "\n" + row() + "\n")
    expect_error(path, "s.csv:1:", "no column 'mem_real'")


def test_missing_optional_column_still_reports(tmp_path):
    head = HEADER.replace(",read_bytes", "")
    rows = [r.split(",") for r in good_rows()]
    lines = [",".join(f[:15] + f[16:]) for f in rows]
    path = write(tmp_path / "s.csv", head + "\n" + "\n".join(lines) + "\n")
    proc = report_json(path)["processes"][0]
    assert proc["read_bytes"] is None
    assert proc["write_bytes"] == 0


def test_non_numeric_field(tmp_path):
    lines = good_rows()
    lines[3] = row(mem="lots", ts=100 + 3 * 0.05)
    path = write(tmp_path / "s.csv", HEADER + "\n" + "\n".join(lines) + "\n")
    line = expect_error(path, "s.csv:5:", "mem_real", "'lots' is not a number")
    col = int(line.split(":")[3])
    assert (HEADER + "\n" + "\n".join(lines)).split("\n")[4][col - 1:].startswith("lots")


def test_empty_fields_are_missing_values(tmp_path):
    lines = good_rows()
    lines[2] = row(mem="", cpu="", ts=100 + 2 * 0.05)
    path = write(tmp_path / "s.csv", HEADER + "\n" + "\n".join(lines) + "\n")
    proc = report_json(path)["processes"][0]
    assert proc["mem_real"]["samples"] == 19
    assert proc["cpu_percent"]["samples"] == 19


def test_truncated_last_line(tmp_path):
    text = HEADER + "\n" + "\n".join(good_rows()) + "\n"
    path = write(tmp_path / "s.csv", text[:-25])
    p = profkit("report", "-f", "json", path)
    assert p.returncode == 0, p.stderr_text
    assert_one_error_line(p.stderr_text, "warning", "s.csv:21:", "incomplete", "dropped")
    assert json.loads(p.stdout)["processes"][0]["samples"] == 19


def test_crlf_gives_the_same_report(tmp_path):
    text = HEADER + "\n" + "\n".join(good_rows()) + "\n"
    lf = write(tmp_path / "lf.csv", text)
    crlf = write(tmp_path / "crlf.csv", text.replace("\n", "\r\n"))
    a, b = report_json(lf), report_json(crlf)
    assert a["processes"] == b["processes"]


def test_quoted_names_with_commas_quotes_and_newlines(tmp_path):
    name = '"a, ""b""\nc"'
    lines = [r.replace(",app,", "," + name + ",") for r in good_rows()]
    path = write(tmp_path / "s.csv", HEADER + "\n" + "\n".join(lines) + "\n")
    assert report_json(path)["processes"][0]["name"] == 'a, "b"\nc'


def test_unclosed_quote(tmp_path):
    lines = good_rows()
    lines[1] = lines[1].replace(",app,", ',"app,')
    path = write(tmp_path / "s.csv", HEADER + "\n" + "\n".join(lines) + "\n")
    expect_error(path, "s.csv:3:", "quoted field is not closed")


def test_wrong_number_of_fields(tmp_path):
    lines = good_rows()
    lines[4] += ",extra"
    path = write(tmp_path / "s.csv", HEADER + "\n" + "\n".join(lines) + "\n")
    expect_error(path, "s.csv:6:", "24 fields", "23 columns")


def test_directory_without_samples(tmp_path):
    expect_error(tmp_path, str(tmp_path), "no samples.csv")


def test_empty_file(tmp_path):
    expect_error(write(tmp_path / "samples.csv", ""), "samples.csv", "empty file")


def test_missing_file(tmp_path):
    expect_error(tmp_path / "nope", "nope", "no such file")


def test_system_csv_given(leaky):
    expect_error(leaky / "system.csv", "system.csv", "give the recording directory")


def test_header_only(tmp_path):
    p = profkit("report", write(tmp_path / "s.csv", HEADER + "\n"))
    assert p.returncode == 0
    assert_one_error_line(p.stderr_text, "warning", "no samples")


def test_sparse_2gb_file_fails_clearly(tmp_path):
    """2 GB of zero bytes: one clear error, quickly, without reading it into memory."""
    path = tmp_path / "zeros.csv"
    with open(path, "wb") as f:
        f.truncate(2 * 1024 ** 3)
    start = time.monotonic()
    expect_error(path, "zeros.csv:1:1:", "NUL byte")
    assert time.monotonic() - start < 5


def test_2gb_recording(tmp_path):
    """A real 2 GB samples.csv gets a report (about 13 million rows)."""
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
    import report_bench
    path = tmp_path / "samples.csv"
    report_bench.generate(str(path), 13_400_000)
    assert os.path.getsize(path) > 2 * 1024 ** 3
    p = profkit("report", "-f", "json", path, timeout=600)
    assert p.returncode == 0, p.stderr_text
    assert len(json.loads(p.stdout)["processes"]) == 50


def test_usage_errors():
    for args, word in ((["report"], "no recording"), (["report", "a", "b", "c"], "3 recordings"),
                       (["report", "-f", "xml", "x"], "unknown format"),
                       (["report", "--bogus", "x"], "--bogus"), (["report", "-o"], "-o")):
        p = profkit(*args)
        assert p.returncode == 2, (args, p.stderr_text)
        assert_one_error_line(p.stderr_text, word)


def test_help():
    p = profkit("report", "--help")
    assert p.returncode == 0
    assert p.stdout.startswith(b"usage: profkit report")
    assert b"--format" in p.stdout and b"docs/report.md" in p.stdout
