"""libprofkit as a user gets it: `meson install` into a staging directory, then the C
example (examples/counters.c) built with `pkg-config --cflags --libs profkit` and run."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import PROFKIT, REPO

BUILD = Path(os.environ.get("PROFKIT_BUILD", str(Path(PROFKIT).parent)))


def test_example_builds_with_pkg_config_against_installed_library(tmp_path):
    stage = tmp_path / "stage"
    p = subprocess.run(["meson", "install", "-C", str(BUILD), "--destdir", str(stage),
                        "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stdout
    pcs = list(stage.rglob("profkit.pc"))
    assert len(pcs) == 1, pcs
    headers = list(stage.rglob("profkit/counters.h"))
    assert len(headers) == 1
    env = dict(os.environ, PKG_CONFIG_PATH=str(pcs[0].parent), PKG_CONFIG_SYSROOT_DIR=str(stage))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "profkit"], env=env,
                           stdout=subprocess.PIPE, text=True, check=True).stdout.split()
    assert "-lprofkit" in flags
    exe = tmp_path / "counters"
    cc = shutil.which("cc") or shutil.which("gcc")
    p = subprocess.run([cc, "-std=c11", "-Wall", "-Wextra", "-Werror",
                        str(REPO / "examples" / "counters.c"), "-o", str(exe)] + flags,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert p.returncode == 0, p.stdout
    libdir = [f[2:] for f in flags if f.startswith("-L")][0]
    run = subprocess.run([str(exe), "{task-clock,page-faults},context-switches,cycles", "--",
                          "sh", "-c", "sleep 0.25; exit 4"],
                         env=dict(os.environ, LD_LIBRARY_PATH=libdir), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, timeout=30)
    assert run.returncode == 4, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].split() == ["elapsed", "task-clock", "page-faults", "context-switches",
                                "cycles"]
    assert len(lines) >= 3  # samples at 100 ms, 200 ms and the last one
    last = lines[-1].split()
    assert int(last[3]) > 0 and last[-1] == "-"
    assert "cycles: not supported on this machine" in run.stderr
    # only the public API is exported
    lib = [f for f in stage.rglob("libprofkit.so.*") if f.is_file()][0]
    syms = subprocess.run(["nm", "-D", "--defined-only", str(lib)], stdout=subprocess.PIPE,
                          text=True, check=True).stdout.split()
    names = [s for s in syms if s[0].isalpha() and len(s) > 1]
    assert names and all(n.startswith("pk_") for n in names), names
