"""report.html (profkit report): written beside a recording's text report and by
`--format html`; one file that works offline; names from the profiled program (a process
called <script>alert(1)</script>, quotes, commas) shown as text; small for a 1,000,000-row
recording; and drawn by a real browser: headless Chromium (Debian's `chromium`) opens it,
every chart draws, nothing reaches the console as an error, and a screenshot is saved as a
CI artifact ($CI_ARTIFACTS, default tests/e2e/artifacts/)."""

import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import PYTHON, REPO, profkit, target

ARTIFACTS = Path(os.environ.get("CI_ARTIFACTS", str(REPO / "tests" / "e2e" / "artifacts")))
HOSTILE = "<script>alert(1)</script>"

# Starts the `named` target under a hostile name, leaks 2 MB every 25 ms, prints markup.
WORKLOAD = r"""
import subprocess, sys, time
child = subprocess.Popen([sys.argv[1], sys.argv[2], "0.5"], stdout=subprocess.DEVNULL)
x = []
for i in range(60):
    x.append(bytearray(2_000_000)); time.sleep(0.025)
print('<b>"hello", & </script><!-- world')
child.wait()
"""


def record(outdir, *argv):
    p = profkit("run", "-q", "-i", "0.05", "-o", outdir, "--", *argv, timeout=120)
    assert p.returncode == 0, p.stderr_text
    return outdir


@pytest.fixture(scope="module")
def rec(tmp_path_factory):
    return record(tmp_path_factory.mktemp("html") / "rec", PYTHON, "-c", WORKLOAD,
                  target("named"), HOSTILE)


@pytest.fixture(scope="module")
def rec_b(tmp_path_factory):
    return record(tmp_path_factory.mktemp("html_b") / "rec", PYTHON, "-c",
                  "import time\nx = bytearray(40_000_000)\ntime.sleep(1)\n")


@pytest.fixture(scope="module")
def default_html(rec):
    """`profkit report DIR`: the text report on stdout, DIR/report.html, one line saying so."""
    p = profkit("report", rec)
    assert p.returncode == 0, p.stderr_text
    assert b"memory trend" in p.stdout.lower() or b"leak" in p.stdout
    path = rec / "report.html"
    assert p.stderr_text == "profkit: report.html written to %s\n" % path, p.stderr_text
    return path


class Page(html.parser.HTMLParser):
    """The page's elements as a parser sees them: script elements and their text, tags."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts = []  # (attrs, text)
        self.tags = []
        self.cells = []
        self._script = None
        self._cell = None
        self.pre = []
        self._pre = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script = (dict(attrs), [])
        if tag == "td":
            self._cell = []
        if tag == "pre":
            self._pre = (dict(attrs), [])

    def handle_endtag(self, tag):
        if tag == "script" and self._script:
            self.scripts.append((self._script[0], "".join(self._script[1])))
            self._script = None
        if tag == "td" and self._cell is not None:
            self.cells.append("".join(self._cell))
            self._cell = None
        if tag == "pre" and self._pre:
            self.pre.append((self._pre[0], "".join(self._pre[1])))
            self._pre = None

    def handle_data(self, data):
        if self._script:
            self._script[1].append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._pre:
            self._pre[1].append(data)


def parse(path):
    text = Path(path).read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    page.close()
    return text, page


def data_of(page):
    (data,) = [t for a, t in page.scripts if a.get("id") == "pk-data"]
    return json.loads(data)


def assert_markup_is_ours(text, page):
    """Exactly three script elements (the data, uPlot, the page script), nothing loaded from
    elsewhere, no comment opened, and a hostile name nowhere as markup."""
    assert [a.get("type") for a, _ in page.scripts] == ["application/json", None, None]
    assert len(re.findall(r"<script", text, re.I)) == 3
    assert len(re.findall(r"</script", text, re.I)) == 3
    assert "<!--" not in text
    assert not any("src" in a or "href" in a for _, a in page.tags), "loads something"
    assert "<script>alert" not in text


def test_default_report_html(default_html):
    text, page = parse(default_html)
    assert text.startswith("<!DOCTYPE html>")
    assert_markup_is_ours(text, page)
    d = data_of(page)
    ids = [c["id"] for c in d["charts"]]
    for want in ("cpu", "rss", "vms", "fds", "io", "machine_cpu", "cores0"):
        assert want in ids, ids
    for c in d["charts"]:
        if c["kind"] == "lines":
            for t in c["tables"]:
                assert t["series"], c["id"]
                for s in t["series"]:
                    assert len(s["values"]) == len(t["x"]), (c["id"], s["label"])
        else:
            assert len(c["rows"]) >= 1 and all(len(r) == len(c["columns"]) for r in c["rows"])
    # The leak verdict of the Python process is drawn on the memory chart.
    rss = [c for c in d["charts"] if c["id"] == "rss"][0]
    verdicts = {l["verdict"] for l in rss["lines"]}
    assert "leak" in verdicts or "growing" in verdicts, rss["lines"]
    # The summary tables hold the hostile name as text (comm keeps 15 bytes of it).
    assert HOSTILE[:15] in page.cells
    assert "&lt;script&gt;alert(1" in text
    labels = [s["label"] for c in d["charts"] if c["kind"] == "lines"
              for t in c["tables"] for s in t["series"]]
    assert any(HOSTILE[:15] in l for l in labels), labels


def test_captured_stdout_is_text(default_html):
    text, page = parse(default_html)
    (out,) = [t for a, t in page.pre if a.get("class") == "stdout"]
    assert out == '<b>"hello", & </script><!-- world\n'
    assert "&lt;b&gt;&quot;hello&quot;, &amp; &lt;/script&gt;&lt;!-- world" in text


def test_format_html_to_a_file_and_no_html(rec, tmp_path):
    out = tmp_path / "r.html"
    p = profkit("report", "--format", "html", "-o", out, rec)
    assert p.returncode == 0 and p.stderr_text == "" and p.stdout == b"", p.stderr_text
    assert out.read_text().startswith("<!DOCTYPE html>")
    copy = tmp_path / "copy"
    shutil.copytree(rec, copy)
    (copy / "report.html").unlink(missing_ok=True)
    p = profkit("report", "--no-html", copy)
    assert p.returncode == 0 and p.stderr_text == "", p.stderr_text
    assert not (copy / "report.html").exists()


def test_unwritable_directory_is_a_warning(rec, tmp_path):
    d = tmp_path / "ro"
    shutil.copytree(rec, d)
    (d / "report.html").unlink(missing_ok=True)
    os.symlink(tmp_path / "victim", d / "report.html")
    p = profkit("report", d)
    assert p.returncode == 0 and p.stdout
    assert "report.html not written" in p.stderr_text and "symbolic link" in p.stderr_text
    assert not (tmp_path / "victim").exists()


NAMES = ["</script><script>alert(1)</script>", 'say "hi", then <!-- go', "a,b&c"]


def hostile_csv(path):
    head = "pid,name,cpu_percent,mem_real,num_open_files,creation_epoch,timestamp"
    rows = [head]
    for tick in range(40):
        for i, name in enumerate(NAMES):
            q = '"' + name.replace('"', '""') + '"'
            rows.append("%d,%s,%.1f,%d,3,1795371000.000,%.3f" % (
                100 + i, q, 10.0 * i, 1_000_000 * (i + 1) + tick * 10_000, 1795371001 + tick * 0.1))
    path.write_text("\n".join(rows) + "\n")
    # and a system.csv with two cores and an energy source, for the heatmap and power chart
    sys_rows = ["timestamp,elapsed_s,cpu_percent,cpu0_percent,cpu1_percent,mem_used,"
                "mem_available,swap_used,energy_j,power_w"]
    for tick in range(40):
        sys_rows.append("%.3f,%.3f,%.1f,%.1f,%.1f,1000000000,3000000000,0,%.3f,%.3f" % (
            1795371001 + tick * 0.1, tick * 0.1, 50.0, tick * 2.5, 100 - tick * 2.5,
            tick * 1.5, 15.0))
    (path.parent / "system.csv").write_text("\n".join(sys_rows) + "\n")
    return path


def test_hostile_names_in_a_crafted_file(tmp_path):
    src = hostile_csv(tmp_path / "samples.csv")
    out = tmp_path / "r.html"
    p = profkit("report", "-f", "html", "-o", out, src)
    assert p.returncode == 0, p.stderr_text
    text, page = parse(out)
    assert_markup_is_ours(text, page)
    for name in NAMES:
        assert name in page.cells, name
    labels = {s["label"] for c in data_of(page)["charts"] for t in c.get("tables", [])
              for s in t["series"]}
    for i, name in enumerate(NAMES):
        assert "%s (%d)" % (name, 100 + i) in labels
    ids = [c["id"] for c in data_of(page)["charts"]]
    assert "energy" in ids and "cores0" in ids, ids
    assert "58.5 J" in text  # 39 x 1.5 J, in the machine table


def test_comparison_shares_the_charts(rec, rec_b, tmp_path):
    out = tmp_path / "cmp.html"
    p = profkit("report", "-f", "html", "-o", out, rec, rec_b)
    assert p.returncode == 0, p.stderr_text
    text, page = parse(out)
    assert_markup_is_ours(text, page)
    d = data_of(page)
    cpu = [c for c in d["charts"] if c["id"] == "cpu"][0]
    assert len(cpu["tables"]) == 2
    assert [s["label"] for t in cpu["tables"] for s in t["series"]] == [
        "A: all processes", "B: all processes"]
    assert "within noise" in text or "higher" in text or "lower" in text


@pytest.fixture(scope="module")
def million(tmp_path_factory):
    """The bench generator's 1,000,000-row samples.csv (50 processes, 20,000 ticks)."""
    sys.path.insert(0, str(REPO / "bench"))
    import report_bench
    d = tmp_path_factory.mktemp("million")
    src = d / "samples.csv"
    report_bench.generate(str(src), 1_000_000)
    out = d / "report.html"
    start = time.monotonic()
    p = profkit("report", "-f", "html", "-o", out, src, timeout=300)
    took = time.monotonic() - start
    assert p.returncode == 0, p.stderr_text
    src.unlink()
    print("report.html of 1,000,000 rows: %.1f MB in %.2f s" % (out.stat().st_size / 1e6, took))
    return out


def test_million_rows_under_10_mb(million):
    assert million.stat().st_size < 10_000_000
    text, page = parse(million)
    d = data_of(page)
    for c in d["charts"]:
        for t in c.get("tables", []):
            assert len(t["x"]) <= 2000
    # The statistics are exact: every one of the 20,000 samples of each process.
    assert "20000" in text or "20,000" in text


# ---- headless Chromium --------------------------------------------------------------------

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--enable-logging=stderr",
                  "--v=0", "--virtual-time-budget=5000", "--hide-scrollbars",
                  "--window-size=1400,2400"]


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("chromium is not installed (scripts/install-deps.sh installs Debian's)")


def browse(page, *args):
    with tempfile.TemporaryDirectory() as profile:
        p = subprocess.run([chromium()] + CHROMIUM_FLAGS + ["--user-data-dir=" + profile] +
                           list(args) + [Path(page).resolve().as_uri()],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=180)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def assert_drawn(page):
    _, html_page = parse(page)
    n = len(data_of(html_page)["charts"])
    code, dom, err = browse(page, "--dump-dom")
    assert code == 0, err
    root = re.search(r"<html[^>]*>", dom).group(0)
    assert 'data-charts="%d"' % n in root and 'data-drawn="%d"' % n in root, root
    assert "data-errors" not in root, re.search(r'id="pk-errors">([^<]*)<', dom).group(1)
    assert re.search(r'<pre id="pk-errors"></pre>', dom)
    charts = re.findall(r'<div class="pk-chart" id="chart-([^"]+)"([^>]*)>', dom)
    assert len(charts) == n and all('data-drawn="1"' in a for _, a in charts), charts
    assert dom.count("<canvas") >= n
    console = [l for l in err.splitlines() if "CONSOLE" in l or "Uncaught" in l]
    assert not console, console
    return dom


def test_chromium_draws_every_chart(default_html):
    dom = assert_drawn(default_html)
    # The hostile name is text in the live page too: no element was made from it.
    assert "<script>alert" not in dom
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    code, _, err = browse(default_html, "--screenshot=%s" % shot)
    assert code == 0, err
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    shutil.copy(default_html, ARTIFACTS / "report.html")


def test_chromium_comparison_and_hostile(rec, rec_b, tmp_path):
    out = tmp_path / "cmp.html"
    assert profkit("report", "-f", "html", "-o", out, rec, rec_b).returncode == 0
    assert_drawn(out)
    crafted = tmp_path / "crafted.html"
    assert profkit("report", "-f", "html", "-o", crafted,
                   hostile_csv(tmp_path / "samples.csv")).returncode == 0
    dom = assert_drawn(crafted)
    assert "<script>alert" not in dom


def test_chromium_million_rows(million):
    start = time.monotonic()
    assert_drawn(million)
    print("Chromium drew the 1,000,000-row report in %.1f s" % (time.monotonic() - start))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    code, _, err = browse(million, "--screenshot=%s" % (ARTIFACTS / "report-1M.png"))
    assert code == 0, err
