"""Energy: this machine has no RAPL and a power PMU that reads 0 J, so the real recording
says "unavailable" with the reason. A fake powercap tree (PROFKIT_POWERCAP_ROOT), whose
counters a thread of the test advances at a known power, checks the arithmetic for real:
joules, watts, the sum of zones, and the wraparound at max_energy_range_uj."""

import os
import threading
import time

import pytest

from conftest import Recording, median, profkit, target, wait_for_line


class FakeRapl:
    """intel-rapl zones whose energy_uj grows at `watts` each, wrapping at `range_uj`."""

    def __init__(self, root, zones, period=0.004):
        self.root = root
        self.zones = []  # (fd, watts, range_uj, offset_uj)
        self.period = period
        self.stop = threading.Event()
        self.t0 = None
        for zone, (name, watts, range_uj, start_uj) in zones.items():
            d = root / zone
            d.mkdir(parents=True)
            (d / "name").write_text(name + "\n")
            (d / "max_energy_range_uj").write_text("%d\n" % range_uj)
            path = d / "energy_uj"
            path.write_text("%d\n" % start_uj)
            fd = os.open(str(path), os.O_WRONLY)
            self.zones.append((fd, watts, range_uj, start_uj))
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop.is_set():
            dt = time.monotonic() - self.t0
            for fd, watts, range_uj, start_uj in self.zones:
                v = int(start_uj + watts * dt * 1e6) % range_uj
                # In place, newline-terminated: a reader never sees an empty file.
                os.pwrite(fd, b"%d\n" % v, 0)
            time.sleep(self.period)

    def __enter__(self):
        self.t0 = time.monotonic()
        self.thread.start()
        time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        for fd, *_ in self.zones:
            os.close(fd)


def watch_with_energy(procs, outdir, root, duration="1.2", interval="0.1", quiet=True):
    s = procs([target("named"), "pk_energy", "10"])
    wait_for_line(s)
    env = dict(os.environ, PROFKIT_POWERCAP_ROOT=str(root))
    args = ["watch", "-i", interval, "-d", duration, "-o", outdir, s.pid]
    if quiet:
        args.insert(1, "-q")
    return profkit(*args, env=env)


def test_energy_unavailable_on_this_machine(procs, outdir, tmp_path):
    if os.path.exists("/sys/class/powercap/intel-rapl:0"):
        pytest.skip("this machine has RAPL")
    s = procs([target("named"), "pk_noenergy", "10"])
    wait_for_line(s)
    p = profkit("watch", "-i", "0.1", "-d", "0.2", "-o", outdir, s.pid)
    assert p.returncode == 0
    assert "energy: unavailable on this machine (" in p.stderr_text
    rec = Recording(outdir)
    e = rec.summary["energy"]
    assert e["available"] is False and e["joules"] is None and e["mean_power_w"] is None
    assert "powercap" in e["reason"]
    assert all(r["energy_j"] == "" and r["power_w"] == "" for r in rec.system)


def test_fake_rapl_energy_and_power(procs, outdir, tmp_path):
    root = tmp_path / "powercap"
    zones = {
        "intel-rapl:0": ("package-0", 10.0, 262143328850, 5_000_000),
        "intel-rapl:0:0": ("core", 7.0, 262143328850, 0),      # inside the package
        "intel-rapl:0:1": ("dram", 2.0, 65712999613, 1_000),   # added to it
    }
    with FakeRapl(root, zones):
        p = watch_with_energy(procs, outdir, root, quiet=False)
    assert p.returncode == 0, p.stderr_text
    assert "energy: " in p.stderr_text and "Intel RAPL (powercap)" in p.stderr_text
    assert "unavailable" not in p.stderr_text
    rec = Recording(outdir)
    energy = [float(r["energy_j"]) for r in rec.system]
    assert energy[0] == pytest.approx(0, abs=0.1), "cumulative since the start"
    assert energy == sorted(energy)
    elapsed = float(rec.system[-1]["elapsed_s"]) - float(rec.system[0]["elapsed_s"])
    assert energy[-1] == pytest.approx(12.0 * elapsed, rel=0.1)
    power = [float(r["power_w"]) for r in rec.system[1:]]
    assert median(power) == pytest.approx(12.0, rel=0.1)
    assert all(0 < w < 36 for w in power), power
    assert rec.system[0]["power_w"] == ""
    e = rec.summary["energy"]
    assert e["available"] is True and e["reason"] is None
    assert e["source"] == "Intel RAPL (powercap)"
    assert e["joules"] == pytest.approx(energy[-1], abs=1e-3)
    assert e["mean_power_w"] == pytest.approx(12.0, rel=0.1)


def test_fake_rapl_wraparound(procs, outdir, tmp_path):
    """A counter that wraps at max_energy_range_uj every 0.25 s: energy keeps growing."""
    root = tmp_path / "powercap"
    zones = {"intel-rapl:0": ("package-0", 20.0, 5_000_000, 4_000_000)}
    with FakeRapl(root, zones):
        p = watch_with_energy(procs, outdir, root, duration="1.2", interval="0.05")
    assert p.returncode == 0, p.stderr_text
    rec = Recording(outdir)
    energy = [float(r["energy_j"]) for r in rec.system]
    assert energy == sorted(energy), "no drop at a wrap"
    elapsed = float(rec.system[-1]["elapsed_s"])
    assert energy[-1] == pytest.approx(20.0 * elapsed, rel=0.1)
    assert energy[-1] > 4 * 5, "several wraps happened"
    # Row by row, the fake counter's own writer thread jitters on a busy machine.
    power = [float(r["power_w"]) for r in rec.system[1:]]
    assert median(power) == pytest.approx(20.0, rel=0.15)
    assert all(0 < w < 60 for w in power), power


def test_fake_rapl_psys_is_used_alone(procs, outdir, tmp_path):
    """psys covers the whole platform: the package is not added to it."""
    root = tmp_path / "powercap"
    zones = {
        "intel-rapl:0": ("package-0", 10.0, 262143328850, 0),
        "intel-rapl:1": ("psys", 25.0, 262143328850, 0),
    }
    with FakeRapl(root, zones):
        p = watch_with_energy(procs, outdir, root, duration="0.6")
    assert p.returncode == 0, p.stderr_text
    rec = Recording(outdir)
    power = [float(r["power_w"]) for r in rec.system[1:]]
    assert median(power) == pytest.approx(25.0, rel=0.1)


def test_fake_rapl_that_does_not_advance(procs, outdir, tmp_path):
    root = tmp_path / "powercap"
    d = root / "intel-rapl:0"
    d.mkdir(parents=True)
    (d / "name").write_text("package-0\n")
    (d / "energy_uj").write_text("12345\n")
    (d / "max_energy_range_uj").write_text("262143328850\n")
    p = watch_with_energy(procs, outdir, root, duration="0.3", quiet=False)
    assert p.returncode == 0, p.stderr_text
    assert "energy: unavailable on this machine (" in p.stderr_text
    rec = Recording(outdir)
    assert "does not advance" in rec.summary["energy"]["reason"]
    assert all(r["energy_j"] == "" for r in rec.system)
