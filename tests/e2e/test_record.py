"""profkit record: real programs with known call paths, duty cycles, threads and blocking,
checked against what is true of them.

Frames in the folded file are "name_[c]" (on-CPU) or "name_[o]" (off-CPU), kernel frames
"name_[k]_[c]"; the root of each stack is the thread's name."""

import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import PROFKIT, PYTHON, profkit, target

# flamegraph.pl reads a line as: the stack, whitespace, a count (digits, optional fraction).
FLAMEGRAPH_PL_LINE = re.compile(r"^(.*\S)\s+(\d+(?:\.\d*)?)$")
SUFFIX = re.compile(r"(_\[k\])?(_\[[co]\])?$")


def read_folded(path):
    """[(frames, weight µs, state)], frames without suffixes, state 'c', 'o' or ''."""
    stacks = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        m = FLAMEGRAPH_PL_LINE.match(line)
        assert m, "not a flamegraph.pl line: %r" % line
        frames = m.group(1).split(";")
        assert all(frames), line
        states = {f[-2] for f in frames if f.endswith(("_[c]", "_[o]"))}
        assert len(states) <= 1, line
        stacks.append(([SUFFIX.sub("", f) for f in frames], int(m.group(2)),
                       states.pop() if states else ""))
    return stacks


def kernel_frames(path):
    return {f[:-len("_[k]_[o]")] for line in Path(path).read_text().splitlines()
            for f in line.rsplit(" ", 1)[0].split(";") if f.endswith("_[k]_[o]")}


def totals(stacks):
    on = sum(w for _, w, s in stacks if s == "c")
    off = sum(w for _, w, s in stacks if s == "o")
    return on, off


def contains_in_order(frames, wanted):
    it = iter(frames)
    return all(any(f == w for f in it) for w in wanted)


def record(tmp_path, *args, name="rec", timeout=120, **kw):
    prefix = tmp_path / name
    p = profkit("record", "-o", prefix, *args, timeout=timeout, **kw)
    return p, prefix


def outputs_exist(prefix):
    for suffix in (".folded", ".svg", "_analysis.txt"):
        path = Path(str(prefix) + suffix)
        assert path.exists() and path.stat().st_size > 0, path


# ---- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("args,code,words", [
    ([], 2, "give -p PID or a command"),
    (["-p", "1", "--", "true"], 2, "either -p PID or a command"),
    (["-F", "0", "--", "true"], 2, "invalid frequency"),
    (["-m", "-5", "--", "true"], 2, "invalid minimum block"),
    (["--format", "svgz", "--", "true"], 2, "unknown format 'svgz'"),
    (["-p", "abc"], 2, "invalid PID"),
    (["-p", "4000000"], 1, "no process with PID 4000000"),
    (["--", "/nonexistent/cmd"], 1, "command not found"),
])
def test_bad_input_one_line(tmp_path, args, code, words):
    p = profkit("record", "-o", tmp_path / "x", *args)
    assert p.returncode == code, p.stderr_text
    lines = p.stderr_text.strip().splitlines()
    assert len(lines) <= 2 and words in lines[0], p.stderr_text
    assert not list(tmp_path.iterdir())


def test_help():
    p = profkit("record", "--help")
    assert p.returncode == 0
    for opt in (b"-F", b"-m", b"-d", b"-o", b"--no-offcpu", b"--no-kernel", b"--threads",
                b"--format"):
        assert opt in p.stdout


# ---- on-CPU stacks --------------------------------------------------------------------------

@pytest.mark.parametrize("variant", ["callpath_fp", "callpath_nofp"])
def test_stacks_reach_main_with_and_without_frame_pointers(tmp_path, variant):
    p, prefix = record(tmp_path, "-F", "499", "--no-offcpu", "--", target(variant), "1.5",
                       stdout=subprocess.PIPE)
    assert p.returncode == 0, p.stderr_text
    outputs_exist(prefix)
    stacks = read_folded(str(prefix) + ".folded")
    on, off = totals(stacks)
    cpu = float(re.search(rb"cpu ([\d.]+)", p.stdout).group(1)) * 1e6
    assert off == 0 and abs(on - cpu) < 0.15 * cpu + 20_000, "on-CPU %d µs, CPU used %d" % (on, cpu)
    hot = sum(w for f, w, _ in stacks if f[-1] == "hot_leaf")
    assert hot > 0.8 * on, "the hot function is where the samples are: %d of %d" % (hot, on)
    full = sum(w for f, w, _ in stacks
               if contains_in_order(f, ["main", "outer_frame", "middle_frame", "hot_leaf"]))
    assert full > 0.9 * hot, "stacks reach main: %d of %d" % (full, hot)
    # The root of each stack is the thread's name.
    assert all(f[0] == variant[:15] for f, _, _ in stacks), {f[0] for f, _, _ in stacks}


def test_python_without_frame_pointers_reaches_main(tmp_path):
    """Debian's python3 and libc have no frame pointers: only DWARF unwinding gets from
    the interpreter loop down to main."""
    code = "import time\nt=time.time()\nwhile time.time()-t<1.5: sum(range(1000))\n"
    p, prefix = record(tmp_path, "-F", "299", "--no-offcpu", "--", PYTHON, "-c", code)
    assert p.returncode == 0, p.stderr_text
    stacks = read_folded(str(prefix) + ".folded")
    on, _ = totals(stacks)
    user = [(f, w) for f, w, _ in stacks if len(f) > 2]
    deep = sum(w for f, w in user if "main" in f or "_start" in f or "Py_RunMain" in f)
    assert deep > 0.8 * on, "stacks reaching main: %d of %d µs" % (deep, on)
    assert any("_PyEval_EvalFrameDefault" in f for f, _ in user)


# ---- on and off the CPU ---------------------------------------------------------------------

def test_half_compute_half_sleep_is_50_50(tmp_path):
    """On a quiet machine the shares are 50/50; on a busy one the target is also preempted,
    so the truth is its own CPU time against its wall time, which it prints."""
    p, prefix = record(tmp_path, "-F", "199", "--", target("duty"), "50", "50", "3",
                       stdout=subprocess.PIPE)
    assert p.returncode == 0, p.stderr_text
    stacks = read_folded(str(prefix) + ".folded")
    on, off = totals(stacks)
    cpu, wall = map(float, re.search(rb"cpu ([\d.]+) wall ([\d.]+)", p.stdout).groups())
    share, truth = 100.0 * on / (on + off), 100.0 * cpu / wall
    assert abs(share - truth) <= 5, "on-CPU share %.1f%%, truth %.1f%%" % (share, truth)
    if cpu > 0.45 * wall:  # the machine let it run: the 50/50 +- 5 points
        assert 45 <= share <= 55, share
    truth_off = (wall - cpu) * 1e6
    assert abs(off - truth_off) < 0.05 * truth_off + 30_000, (off, truth_off)
    sleeping = sum(w for f, w, s in stacks if s == "o" and "sleep_phase" in f)
    assert sleeping > 0.45 * wall * 1e6, "sleeping in sleep_phase: %d µs" % sleeping
    computing = sum(w for f, w, s in stacks if s == "c" and "compute_phase" in f)
    assert computing > 0.85 * on, (computing, on)
    analysis = Path(str(prefix) + "_analysis.txt").read_text()
    assert "on-CPU" in analysis and "off-CPU" in analysis and "coverage" in analysis
    assert re.search(r"nanosleep", analysis), analysis


def test_blocked_pipe_read_shows_kernel_wait(tmp_path):
    prefix = tmp_path / "pipe"
    p = subprocess.Popen([PROFKIT, "record", "-o", str(prefix), "--", target("pipe_reader")],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.5)
    p.stdin.write(b"hello")
    p.stdin.close()
    p.wait(timeout=60)
    out, err = p.stdout.read(), p.stderr.read()
    assert p.returncode == 0, err.decode()
    assert out == b"read 5\n"
    stacks = read_folded(str(prefix) + ".folded")
    _, off = totals(stacks)
    assert off > 1_200_000, off
    # The kernel's pipe read: pipe_read, anon_pipe_read since Linux 6.14.
    waiting = [(f, w) for f, w, s in stacks if s == "o" and any(
        re.fullmatch(r"(anon_)?pipe_read", x) for x in f)]
    assert sum(w for _, w in waiting) > 0.8 * off, kernel_frames(str(prefix) + ".folded")
    assert all(contains_in_order(f, ["main", "wait_for_input", "vfs_read"]) for f, _ in waiting)
    assert "pipe_read" in Path(str(prefix) + "_analysis.txt").read_text()


def test_no_offcpu_and_no_kernel(tmp_path):
    p, prefix = record(tmp_path, "--no-offcpu", "--no-kernel", "-F", "199", "--",
                       target("duty"), "20", "20", "1")
    assert p.returncode == 0, p.stderr_text
    text = Path(str(prefix) + ".folded").read_text()
    assert "_[o]" not in text and "_[k]" not in text and "_[c]" in text


# ---- threads ----------------------------------------------------------------------------------

def test_one_flamegraph_per_thread_with_names(tmp_path):
    p, prefix = record(tmp_path, "-F", "199", "--", target("threads_named"), "1.5",
                       stdout=subprocess.PIPE)
    assert p.returncode == 0, p.stderr_text
    d = Path(prefix)
    assert d.is_dir(), "a multi-threaded target gets a directory"
    names = {re.sub(r"^thread_\d+_", "", f.stem) for f in d.glob("thread_*.svg")}
    assert {"worker-cpu", "io-sleeper", "pipe-waiter"} <= names, names
    times = {}
    for name in ("worker-cpu", "io-sleeper", "pipe-waiter"):
        folded, = d.glob("thread_*_%s.folded" % name)
        stacks = read_folded(folded)
        times[name] = totals(stacks)
        # Each thread's time is about its lifetime, whatever the machine's load.
        assert 1.2e6 < sum(times[name]) < 1.8e6, (name, times[name])
        if name == "worker-cpu":  # only ever preempted, never blocked in a call
            assert not any(s == "o" and re.search(r"nanosleep|pipe_read", ";".join(f))
                           for f, _, s in stacks)
    assert times["worker-cpu"][0] > 0.3e6
    assert times["worker-cpu"][0] > 10 * max(times["io-sleeper"][0], times["pipe-waiter"][0])
    assert times["io-sleeper"][1] > 4 * times["io-sleeper"][0], times
    assert times["pipe-waiter"][1] > 20 * times["pipe-waiter"][0], times
    summary = (d / "thread_analysis.txt").read_text()
    assert re.search(r"worker-cpu\s+worker pool", summary), summary
    assert re.search(r"io-sleeper\s+I/O", summary), summary
    pipe, = d.glob("thread_*_pipe-waiter.folded")
    assert "pipe_read" in pipe.read_text()


# ---- attaching ------------------------------------------------------------------------------

def cpu_ns(pid):
    """The CPU time of a process so far (its main thread; the targets here have one)."""
    return int(Path("/proc/%d/schedstat" % pid).read_text().split()[0])


def test_attach_for_a_duration_leaves_the_target_running(tmp_path):
    spin = subprocess.Popen([target("spin"), "4"], stdout=subprocess.PIPE)
    try:
        time.sleep(0.2)
        t0 = time.time()
        cpu0 = cpu_ns(spin.pid)
        p, prefix = record(tmp_path, "-p", spin.pid, "-d", "1", "-F", "99")
        cpu = (cpu_ns(spin.pid) - cpu0) / 1000
        assert p.returncode == 0, p.stderr_text
        assert time.time() - t0 < 3
        assert spin.poll() is None, "the target keeps running"
        on, _ = totals(read_folded(str(prefix) + ".folded"))
        # Attaching and detaching take a little of the CPU time measured around them.
        assert 0.75 * cpu < on < 1.1 * cpu + 30_000, (on, cpu)
        assert "ended by the duration" in Path(str(prefix) + "_analysis.txt").read_text()
    finally:
        spin.kill()
        spin.wait()


def test_target_exiting_keeps_what_was_recorded(tmp_path):
    spin = subprocess.Popen([target("spin"), "1"], stdout=subprocess.PIPE)
    t0 = time.time()
    p, prefix = record(tmp_path, "-p", spin.pid, "-d", "30", "-F", "99")
    spin.wait()
    assert p.returncode == 0, p.stderr_text
    assert time.time() - t0 < 5
    stacks = read_folded(str(prefix) + ".folded")
    assert any("main" in f for f, _, _ in stacks), "symbols survive the target's exit"
    assert "the target's exit" in Path(str(prefix) + "_analysis.txt").read_text()


def test_default_prefix(tmp_path):
    p = profkit("record", "--no-offcpu", "--", target("spin"), "0.2", cwd=tmp_path)
    assert p.returncode == 0, p.stderr_text
    svg = list(tmp_path.glob("profile_pid*_*.svg"))
    assert len(svg) == 1 and re.match(r"profile_pid\d+_\d{8}-\d{6}\.svg$", svg[0].name), svg


def test_exit_status_of_the_command(tmp_path):
    p, _ = record(tmp_path, "--no-offcpu", "--", "/bin/sh", "-c", "exit 7")
    assert p.returncode == 7, p.stderr_text


# ---- exports ----------------------------------------------------------------------------------

def test_speedscope_and_pprof_exports(tmp_path):
    p, prefix = record(tmp_path, "--format", "speedscope,pprof", "-F", "199", "--",
                       target("callpath_nofp"), "0.5")
    assert p.returncode == 0, p.stderr_text
    doc = json.loads(Path(str(prefix) + ".speedscope.json").read_text())
    assert any(f["name"].startswith("hot_leaf") for f in doc["shared"]["frames"])
    go = shutil.which("go") or "/usr/lib/go/bin/go"
    if not Path(go).exists():
        pytest.fail("go is not installed (scripts/install-deps.sh installs golang-go)")
    with tempfile.TemporaryDirectory() as home:
        r = subprocess.run([go, "tool", "pprof", "-top", str(prefix) + ".pb.gz"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                           env={"HOME": home, "PATH": "/usr/bin:/bin", "GOCACHE": home,
                                "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"})
    assert r.returncode == 0, r.stderr.decode()
    assert b"hot_leaf" in r.stdout, r.stdout.decode()


# ---- the flamegraph in a browser ----------------------------------------------------------------

CLICK_PROBE = """<script><![CDATA[
window.addEventListener('load', function () {
  var root = document.documentElement;
  var boxes = document.getElementById('pk-frames').getElementsByTagName('g');
  var target = null;
  for (var i = 0; i < boxes.length; i++) {
    var t = boxes[i].getElementsByTagName('title')[0];
    if (t && t.textContent.indexOf('compute_phase') === 0) { target = boxes[i]; break; }
  }
  var rect = target.getElementsByTagName('rect')[0];
  var before = +rect.getAttribute('width');
  target.dispatchEvent(new MouseEvent('click', { bubbles: true }));
  root.setAttribute('data-before', before);
  root.setAttribute('data-after', +rect.getAttribute('width'));
});
]]></script>
</svg>"""


def test_svg_opens_in_chromium_and_zooms_on_click(tmp_path):
    from test_report_html import browse
    p, prefix = record(tmp_path, "-F", "199", "--", target("duty"), "10", "10", "0.6")
    assert p.returncode == 0, p.stderr_text
    svg = Path(str(prefix) + ".svg").read_text(encoding="utf-8")
    probe = tmp_path / "probe.svg"
    probe.write_text(svg.replace("</svg>", CLICK_PROBE), encoding="utf-8")
    code, dom, err = browse(probe, "--dump-dom")
    assert code == 0, err
    console = [l for l in err.splitlines() if "CONSOLE" in l or "Uncaught" in l]
    assert not console, console
    before = float(re.search(r'data-before="([\d.]+)"', dom).group(1))
    after = float(re.search(r'data-after="([\d.]+)"', dom).group(1))
    assert after > before * 1.2, "clicking a frame zooms into it: %s -> %s" % (before, after)


# ---- fallbacks and permissions ------------------------------------------------------------------

def test_perf_fallback_for_off_cpu_says_so_and_measures(tmp_path):
    """Without eBPF (forced here with PROFKIT_OFFCPU=perf), off-CPU time comes from perf's
    context-switch records and sched_switch samples."""
    import os
    env = dict(os.environ, PROFKIT_OFFCPU="perf")
    p, prefix = record(tmp_path, "-F", "199", "--", target("duty"), "50", "50", "2",
                       stdout=subprocess.PIPE, env=env)
    assert p.returncode == 0, p.stderr_text
    assert "using perf sched_switch sampling instead" in p.stderr_text
    analysis = Path(str(prefix) + "_analysis.txt").read_text()
    assert "perf sched_switch (fallback)" in analysis
    stacks = read_folded(str(prefix) + ".folded")
    on, off = totals(stacks)
    cpu, wall = map(float, re.search(rb"cpu ([\d.]+) wall ([\d.]+)", p.stdout).groups())
    assert abs(off - (wall - cpu) * 1e6) < 0.05 * (wall - cpu) * 1e6 + 30_000, (off, wall, cpu)
    assert sum(w for f, w, s in stacks if s == "o" and "sleep_phase" in f) > 0.9 * off


def test_unprivileged_user_gets_what_is_allowed(tmp_path):
    """perf_event_paranoid 2, no capabilities: off-CPU and kernel stacks are refused, each
    with one line that says what is missing; user stacks on the CPU still work."""
    import os
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root to switch to an unprivileged user, and setpriv")
    if Path("/proc/sys/kernel/perf_event_paranoid").read_text().strip() not in ("2", "3", "4"):
        pytest.skip("perf_event_paranoid lets unprivileged users sample the kernel here")
    shared = Path(tempfile.mkdtemp(prefix="profkit-e2e-"))
    try:
        shared.chmod(0o777)
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            PROFKIT, "record", "-o", str(shared / "u"), "--",
                            target("callpath_nofp"), "0.5"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        err = r.stderr.decode()
        assert r.returncode == 0, err
        assert "CAP_BPF" in err and "perf_event_paranoid" in err, err
        stacks = read_folded(shared / "u.folded")
        on, off = totals(stacks)
        assert on > 0 and off == 0
        assert all("hot_leaf" not in f or "main" in f for f, _, _ in stacks)
        assert "_[k]" not in (shared / "u.folded").read_text()
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_a_process_that_execs_is_followed(tmp_path):
    """The launched shell execs the real program: its frames are named from the new image."""
    p, prefix = record(tmp_path, "-F", "299", "--no-offcpu", "--", "/bin/sh", "-c",
                       "exec %s 0.6" % target("callpath_nofp"), stdout=subprocess.PIPE)
    assert p.returncode == 0, p.stderr_text
    stacks = read_folded(str(prefix) + ".folded")
    on, _ = totals(stacks)
    hot = sum(w for f, w, _ in stacks
              if contains_in_order(f, ["main", "outer_frame", "middle_frame", "hot_leaf"]))
    assert hot > 0.8 * on, (hot, on)


def test_threads_blocked_all_along_are_accounted_with_their_stacks(tmp_path):
    """Attached to a process whose threads sleep or wait on a pipe for the whole recording:
    their time is off-CPU time from the start, with the user stack of the wait."""
    p = subprocess.Popen([target("threads_named"), "4"], stdout=subprocess.PIPE)
    try:
        assert p.stdout.readline().startswith(b"ready")
        r, prefix = record(tmp_path, "-p", p.pid, "-d", "1", "-F", "99")
        assert r.returncode == 0, r.stderr_text
        stacks = read_folded(str(prefix) + ".folded")
        waiter = [(f, w) for f, w, s in stacks if f[0] == "pipe-waiter" and s == "o"]
        total = sum(w for _, w in waiter)
        assert 0.9e6 < total < 1.2e6, total
        assert sum(w for f, w in waiter if contains_in_order(f, ["pipe_waiter", "read"])) > 0.9 * total
        main = sum(w for f, w, s in stacks if f[0] == "threads_named" and s == "o")
        assert 0.9e6 < main < 1.2e6, main
        analysis = Path(str(prefix) + "_analysis.txt").read_text()
        coverage = float(re.search(r"coverage\s+([\d.]+)%", analysis).group(1))
        assert coverage > 90, analysis
    finally:
        p.kill()
        p.wait()
