"""Thread names in profkit py's outputs, on every version (examples/named_threads.py).

CPython 3.8-3.13 do not give an OS thread its Python name (3.14 does); profkit shows the
name the kernel has (/proc/PID/task/TID/comm). The example names its OS threads the way
3.14 does (prctl), except plain-py (named in Python only: it shows the process's name) and
cruncher, which does so a second after profkit has first seen it: the name is looked at
again, and the later one is shown everywhere.
"""

import re
import subprocess
import time

import pytest

from conftest import profkit
from test_py import ALL, REPO, interpreter, read_outputs, read_svg

NAMED = str(REPO / "examples" / "named_threads.py")


@pytest.mark.parametrize("version", ALL)
def test_thread_names(version, tmp_path):
    py = interpreter(version)
    target = subprocess.Popen([py, NAMED, "--seconds", "4", "--late", "1.0"],
                              stdout=subprocess.PIPE)
    tids = {}
    try:
        for line in iter(target.stdout.readline, b""):
            parts = line.decode().split()
            if parts == ["ready"]:
                break
            if len(parts) == 3 and parts[0] == "thread":
                tids[parts[1]] = int(parts[2])
        prefix = str(tmp_path / "names")
        p = profkit("py", "-p", target.pid, "--batch", "-d", "2", "-i", "0.002", "-o", prefix,
                    "-f", "io_wait", "crunch", "main_wait", timeout=60)
    finally:
        target.kill()
        target.wait()
    assert p.returncode == 0, p.stderr_text
    assert set(tids) == {"io-worker", "cruncher", "plain-py", "MainThread"}, tids
    j, funcs, _, folded = read_outputs(prefix)
    by_tid = {t["tid"]: t for t in j["thread_list"]}
    # Every thread of the target, each with its own kernel thread id.
    assert set(by_tid) == set(tids.values()), (by_tid, tids)
    assert j["threads"] == 4 and j["processes"] == 1
    for name, tid in tids.items():
        t = by_tid[tid]
        if name in ("io-worker", "cruncher"):
            want = name
        else:  # the OS thread keeps the process's name: python3, python3.11...
            assert re.match(r"^python3(\.\d+)?$", t["name"]), t
            want = t["name"]
        assert t["name"] == want, (name, t)
        assert t["label"] == "%s (%d)" % (want, tid), t
        assert t["pid"] == target.pid
        # The same label leads its stacks in the folded file and the flamegraph.
        assert re.search(r"^%s;" % re.escape(t["label"]), folded, re.M), (t, folded[:500])
        # Each thread was sampled the whole time (2 s), busy or not.
        assert abs(t["wall_s"] - 2.0) < 0.1, t
    _, names, _ = read_svg(prefix)
    assert "cruncher (%d)" % tids["cruncher"] in names, names[:20]
    # No stack stayed under cruncher's first name: it was renamed, not split in two.
    assert not re.search(r"^python3[.\d]* \(%d\);" % tids["cruncher"], folded, re.M)
    # The table names them too.
    out = p.stdout.decode()
    line = [l for l in out.splitlines() if l.startswith("threads: ")][0]
    for name in ("io-worker", "cruncher"):
        assert "%s (%d)" % (name, tids[name]) in line, line
    # And the work is where the names say.
    assert re.search(r"^io-worker \(\d+\);.*io_wait", folded, re.M)
    assert re.search(r"^cruncher \(\d+\);.*crunch", folded, re.M)
    assert funcs["crunch"]["cpu_s"] > 0.2 and funcs["io_wait"]["cpu_s"] < 0.5 * funcs["io_wait"]["wall_s"]
