"""The Python binding (python/profkit, ctypes over libprofkit), run with /usr/bin/python3
on the built library: the snippet users of the old counters API know, and the idiomatic
API. PROFKIT_LIB is set to <build>/libprofkit.so (next to PROFKIT)."""

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from conftest import PROFKIT, REPO

LIB = os.environ.get("PROFKIT_LIB", str(Path(PROFKIT).parent / "libprofkit.so"))
WORKLOAD = os.environ.get("PERF_WORKLOAD",
                          str(Path(PROFKIT).parent / "tests" / "unit" / "perf" / "perf_workload"))


def py(code, timeout=60):
    """Runs code with the binding importable; returns (returncode, stdout, stderr)."""
    if not os.path.exists(LIB):
        pytest.fail("libprofkit is not built: %s" % LIB)
    env = dict(os.environ, PROFKIT_LIB=LIB, PYTHONPATH=str(REPO / "python"))
    p = subprocess.run(["/usr/bin/python3", "-c", textwrap.dedent(code)], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def test_the_snippet_with_hardware_names_says_not_supported():
    code, out, err = py("""
        from profkit import profiler, list_events
        print(list_events().get_supported_pmus())
        print(list_events().get_supported_events())
        perf = profiler(program_args=['/bin/sleep', '1'],
                        events_groups=[['PERF_COUNT_HW_INSTRUCTIONS'],
                                       ['PERF_COUNT_HW_BRANCH_INSTRUCTIONS', 'PERF_COUNT_HW_BRANCH_MISSES'],
                                       ['PERF_COUNT_SW_PAGE_FAULTS']])
        try:
            data = perf.run(sample_period=0.01)
            print("DATA", data)
        except RuntimeError as e:
            print("ERROR", type(e).__name__, e)
    """)
    assert code == 0, err
    lines = out.splitlines()
    assert eval(lines[0]) == sorted(os.listdir("/sys/bus/event_source/devices"))
    supported = eval(lines[1])
    assert "page-faults" in supported and "task-clock" in supported
    assert "sched:sched_switch" in supported
    assert "cpu-cycles" not in supported and "instructions" not in supported
    assert lines[2].startswith("ERROR NotSupported 'PERF_COUNT_HW_INSTRUCTIONS' cannot be "
                               "counted: not supported on this machine"), lines[2]


def test_the_snippet_with_software_events_samples_every_period():
    code, out, err = py("""
        import json
        from profkit import profiler
        perf = profiler(program_args=[%r, '20000', '300', '30', '4000'],
                        events_groups=[['PERF_COUNT_SW_TASK_CLOCK'],
                                       ['PERF_COUNT_SW_PAGE_FAULTS', 'context-switches'],
                                       ['minor-faults']])
        data = perf.run(sample_period=0.01)
        deltas = perf.run(sample_period=0.01, reset_on_sample=True)
        print(json.dumps({"data": data, "deltas": deltas, "times": perf.times,
                          "status": perf.exit_status}))
    """ % WORKLOAD)
    assert code == 0, err
    r = json.loads(out)
    data, deltas = r["data"], r["deltas"]
    assert len(data) >= 3 and all(len(row) == 4 for row in data)
    for col in range(4):  # running totals never go down
        assert all(a[col] <= b[col] for a, b in zip(data, data[1:]))
    assert data[-1][1] >= 24000  # 20000 pages, and 4000 in a child
    assert data[-1][2] >= 300
    assert sum(row[1] for row in deltas) >= 24000
    assert sum(row[2] for row in deltas) >= 300
    assert r["status"] == 0
    assert r["times"] == sorted(r["times"])


def test_unknown_name_fails_when_the_profiler_is_made():
    code, out, err = py("""
        from profkit import profiler, UnknownEvent
        try:
            profiler(program_args=['/bin/true'], events_groups=[['PERF_COUNT_SW_PAGE_FAULT']])
        except UnknownEvent as e:
            print(e)
    """)
    assert code == 0, err
    assert "unknown event 'PERF_COUNT_SW_PAGE_FAULT'" in out
    assert "PERF_COUNT_SW_PAGE_FAULTS" in out


def test_idiomatic_counters():
    code, out, err = py("""
        import json, mmap
        from profkit import Counters, NotSupported, list_events
        with Counters("{task-clock,page-faults},context-switches,cycles",
                      allow_unsupported=True) as c:
            m = mmap.mmap(-1, 3000 * 4096)
            for i in range(3000):
                m[i * 4096] = 1
            v = c.read()
            full = c.read_counts()
            why = c.unsupported
        try:
            Counters("cycles").open()
        except NotSupported as e:
            hw = str(e)
        cache = [e.kind for e in list_events("cache")]
        print(json.dumps({"v": v, "why": why, "hw": hw, "cache": cache,
                          "en": full["page-faults"].enabled_ns}))
    """)
    assert code == 0, err
    r = json.loads(out)
    assert r["v"]["page-faults"] >= 3000
    assert r["v"]["task-clock"] > 0
    assert r["v"]["cycles"] is None
    assert "not supported on this machine" in r["why"]["cycles"]
    assert "not supported on this machine" in r["hw"]
    assert r["en"] > 0
    assert len(r["cache"]) == 32 and set(r["cache"]) == {"cache"}
