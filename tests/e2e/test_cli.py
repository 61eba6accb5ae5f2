"""The command line: help, version, and every kind of bad input getting one clear line and
the right exit status (2 for usage, 1 for a runtime failure), with nothing left behind."""

import os
import stat

import pytest

from conftest import PROFKIT, assert_one_error_line, profkit, target


def test_version():
    p = profkit("--version")
    assert p.returncode == 0, p.stderr_text
    assert p.stdout.startswith(b"profkit ")
    assert p.stderr_text == ""


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["help"], ["run", "--help"],
                                  ["watch", "--help"], ["run", "-h"], ["watch", "-h"]])
def test_help_exits_zero(args):
    p = profkit(*args)
    assert p.returncode == 0, p.stderr_text
    assert p.stdout.startswith(b"usage: profkit"), p.stdout[:80]
    assert p.stderr_text == ""


def test_top_level_help_lists_commands():
    out = profkit("--help").stdout.decode()
    assert "run" in out and "watch" in out


def test_no_arguments_is_usage_error():
    p = profkit()
    assert p.returncode == 2
    assert "usage: profkit" in p.stderr_text
    assert p.stdout == b""


def test_unknown_subcommand():
    p = profkit("frobnicate")
    assert p.returncode == 2
    assert_one_error_line(p.stderr_text, "frobnicate")
    assert p.stdout == b""


@pytest.mark.parametrize("cmd,args,word", [
    ("run", ["--bogus", "--", "true"], "--bogus"),
    ("run", ["-Z", "--", "true"], "-Z"),
    ("watch", ["--bogus", "1"], "--bogus"),
    ("watch", ["--no-children", "1"], "--no-children"),  # a run option
    ("run", ["--match", "x", "--", "true"], "--match"),  # a watch option
    ("run", ["-i"], "-i"),
    ("watch", ["--match"], "--match"),
    ("run", [], "no command"),
    ("run", ["--"], "no command"),
    ("watch", [], "no target"),
    ("watch", ["--match", "(unclosed"], "regular expression"),
    ("watch", [""], "empty"),
    ("run", ["-o", "", "--", "true"], "output"),
])
def test_usage_errors(cmd, args, word, outdir):
    p = profkit(cmd, *args, cwd=str(outdir.parent))
    assert p.returncode == 2, p.stderr_text
    assert_one_error_line(p.stderr_text, word)
    assert p.stdout == b""
    assert not [f for f in os.listdir(outdir.parent) if f.startswith("profkit-")]


@pytest.mark.parametrize("value", ["0", "-1", "nan", "NaN", "inf", "0.0005", "abc", "",
                                   "1e999", "0x10", " 1", "1s"])
@pytest.mark.parametrize("cmd", ["run", "watch"])
def test_bad_interval(cmd, value, outdir):
    tail = ["--", "true"] if cmd == "run" else ["1"]
    p = profkit(cmd, "-o", outdir, "-i", value, *tail)
    assert p.returncode == 2, p.stderr_text
    assert_one_error_line(p.stderr_text, "interval")
    assert not outdir.exists()


@pytest.mark.parametrize("value", ["-1", "-0.5", "abc", "nan", ""])
def test_bad_duration(value, outdir):
    p = profkit("run", "-o", outdir, "-d", value, "--", "true")
    assert p.returncode == 2, p.stderr_text
    assert_one_error_line(p.stderr_text, "duration")
    assert not outdir.exists()


def test_pace_is_an_alias_of_interval(outdir):
    p = profkit("run", "-q", "--pace", "0.02", "-o", outdir, "--", "true")
    assert p.returncode == 0, p.stderr_text
    assert p.stderr_text == ""
    import json
    assert json.loads((outdir / "summary.json").read_text())["interval_s"] == 0.02


def test_pid_that_does_not_exist(outdir):
    pid_max = int(open("/proc/sys/kernel/pid_max").read())
    p = profkit("watch", "-o", outdir, str(pid_max + 1))
    assert p.returncode == 1, p.stderr_text
    assert_one_error_line(p.stderr_text, str(pid_max + 1), "no such process")
    assert not outdir.exists()


@pytest.mark.parametrize("value", ["0", "-5", "99999999999"])
def test_invalid_pid(value, outdir):
    p = profkit("watch", "-o", outdir, "--", value)
    assert p.returncode in (1, 2), p.stderr_text
    assert_one_error_line(p.stderr_text, value)
    assert not outdir.exists()


def test_name_that_matches_nothing(outdir):
    p = profkit("watch", "-o", outdir, "pk-no-such-proc")
    assert p.returncode == 1, p.stderr_text
    assert_one_error_line(p.stderr_text, "no running process", "pk-no-such-proc", "--wait")
    assert not outdir.exists()


def test_match_that_matches_nothing(outdir):
    p = profkit("watch", "-o", outdir, "--match", "pk-no-such-[0-9]{9}-proc")
    assert p.returncode == 1, p.stderr_text
    assert_one_error_line(p.stderr_text, "no running process", "--match")
    assert not outdir.exists()


@pytest.mark.parametrize("cmd", ["pk-no-such-command", "/nonexistent/dir/cmd"])
def test_command_not_found(cmd, outdir):
    p = profkit("run", "-o", outdir, "--", cmd, "arg")
    assert p.returncode == 1, p.stderr_text
    assert_one_error_line(p.stderr_text, cmd, "not found")
    assert p.stdout == b""
    assert not outdir.exists(), "a failed launch leaves no half-made recording"


def test_command_not_executable(tmp_path, outdir):
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    p = profkit("run", "-o", outdir, "--", str(script))
    assert p.returncode == 1, p.stderr_text
    assert_one_error_line(p.stderr_text, "script.sh", "permission denied")
    assert not outdir.exists()


def test_command_is_a_directory(tmp_path, outdir):
    p = profkit("run", "-o", outdir, "--", str(tmp_path))
    assert p.returncode == 1, p.stderr_text
    assert_one_error_line(p.stderr_text, str(tmp_path))
    assert not outdir.exists()


def test_output_dir_not_empty_is_refused_and_force_works(outdir):
    outdir.mkdir()
    keep = outdir / "keep.txt"
    keep.write_text("precious\n")
    p = profkit("run", "-q", "-o", outdir, "--", "true")
    assert p.returncode == 1, p.stderr_text
    assert_one_error_line(p.stderr_text, str(outdir), "not empty", "--force")
    assert sorted(os.listdir(outdir)) == ["keep.txt"]
    assert keep.read_text() == "precious\n"

    p = profkit("run", "-q", "--force", "-o", outdir, "--", "true")
    assert p.returncode == 0, p.stderr_text
    assert p.stderr_text == ""
    assert keep.read_text() == "precious\n"
    assert (outdir / "summary.json").exists()


def test_existing_empty_output_dir_is_used(outdir):
    outdir.mkdir()
    p = profkit("run", "-q", "-o", outdir, "--", "true")
    assert p.returncode == 0, p.stderr_text
    assert (outdir / "samples.csv").exists()


def test_output_path_is_a_file(outdir):
    outdir.write_text("x")
    p = profkit("run", "-q", "-o", outdir, "--", "true")
    assert p.returncode == 1, p.stderr_text
    assert_one_error_line(p.stderr_text, str(outdir))
    assert outdir.read_text() == "x"


def test_output_path_is_a_symlink_is_refused(tmp_path, outdir):
    real = tmp_path / "real"
    real.mkdir()
    outdir.symlink_to(real)
    p = profkit("run", "-q", "--force", "-o", outdir, "--", "true")
    assert p.returncode == 1, p.stderr_text
    assert_one_error_line(p.stderr_text, "symbolic link")
    assert os.listdir(real) == []


def test_default_output_dir_name(tmp_path):
    p = profkit("run", "-q", "--", target("spin"), "0.01", cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr_text
    dirs = [d for d in os.listdir(tmp_path) if d.startswith("profkit-spin-")]
    assert len(dirs) == 1, os.listdir(tmp_path)
    assert (tmp_path / dirs[0] / "summary.json").exists()


def test_profkit_binary_is_executable():
    assert os.stat(PROFKIT).st_mode & stat.S_IXUSR
