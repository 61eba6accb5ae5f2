"""profkit py on interpreters whose file names do not tell their version: Debian's
python3.11 (libpython linked in) copied to a file named myapp, and every pyenv version with
both its executable and its libpython renamed (libmyrt___.so.1.0: an application that embeds
Python under its own name). profkit finds the runtime in whichever mapped file holds it, and
the version from Py_Version (3.11+), the debug offsets (3.13+) or, before 3.11, the text
Py_GetVersion() keeps in memory; the table names the exact version the interpreter reports.
"""

import glob
import os
import re
import shutil
import subprocess

import pytest

from conftest import profkit
from test_py import ALL, interpreter

IDLE = "import sys, time\ndef idle():\n    time.sleep(30)\nprint(sys.version.split()[0], flush=True)\nidle()\n"


def attach_and_check(cmd, env, tmp_path, want_version):
    target = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = target.stdout.readline().decode().strip()
        assert line == want_version, (line, target.stderr.read(2000) if not line else "")
        # No mapped file is named after Python (extension modules aside).
        files = {os.path.basename(l.split()[-1]) for l in open("/proc/%d/maps" % target.pid)
                 if "/" in l}
        assert not [f for f in files if re.match(r"(lib)?python", f)], files
        p = profkit("py", "-p", target.pid, "--batch", "-d", "0.4", "-i", "0.002", "-o",
                    str(tmp_path / "v"), "-f", "idle", timeout=60)
    finally:
        target.kill()
        target.wait()
    assert p.returncode == 0, p.stderr_text
    out = p.stdout.decode()
    title = out.splitlines()[0]
    assert re.match(r"^PID %d \(myapp\), CPython %s — " % (target.pid, re.escape(want_version)),
                    title), title
    row = [l for l in out.splitlines() if l.startswith("│ idle ")]
    assert row and re.search(r"0\.[34]\d\d s ±", row[0]), out


def test_debian_static_renamed(tmp_path):
    """Debian's /usr/bin/python3.11 (libpython inside the executable, stripped) as myapp."""
    src = interpreter("3.11-debian")
    app = tmp_path / "myapp"
    shutil.copy2(src, app)
    version = subprocess.run([src, "-c", "import platform; print(platform.python_version())"],
                             stdout=subprocess.PIPE, check=True).stdout.decode().strip()
    attach_and_check([str(app), "-c", IDLE], None, tmp_path, version)


def rename_pyenv(root, out):
    """Copies a pyenv build as out/myapp linked to out/libmyrt___.so.1.0: the library's name
    replaced, byte for byte, in both files (same length, so no offset moves)."""
    lib = glob.glob(os.path.join(root, "lib", "libpython3.*.so.1.0"))[0]
    orig = os.path.basename(lib).encode()
    new = b"libmyrt" + b"_" * (len(orig) - len(b"libmyrt.so.1.0")) + b".so.1.0"
    exe = [e for e in glob.glob(os.path.join(root, "bin", "python3.*")) if re.search(r"\d$", e)][0]
    with open(exe, "rb") as f:
        data = f.read()
    assert orig in data
    app = out / "myapp"
    app.write_bytes(data.replace(orig, new))
    app.chmod(0o755)
    with open(lib, "rb") as f:
        (out / new.decode()).write_bytes(f.read().replace(orig, new))
    return app


@pytest.mark.parametrize("version", [v for v in ALL if "-" not in v])
def test_pyenv_renamed(version, tmp_path):
    """A pyenv build with executable and libpython renamed: no file name says "python"."""
    py = interpreter(version)
    root = os.path.dirname(os.path.dirname(py))
    app = rename_pyenv(root, tmp_path)
    env = dict(os.environ, LD_LIBRARY_PATH=str(tmp_path), PYTHONHOME=root)
    version_full = subprocess.run([py, "-c", "import platform; print(platform.python_version())"],
                                  stdout=subprocess.PIPE, check=True).stdout.decode().strip()
    attach_and_check([str(app), "-c", IDLE], env, tmp_path, version_full)
