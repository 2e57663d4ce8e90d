"""bench/gpu.sh, the prepared GPU check (issue 32), through its CPU fallback: the same steps as on
a GPU machine (install carried wheel parts, run model tests, bench/train.py, write the figures),
on the CPU at tiny size. Its wheel-preparing step (``make gpu-wheels``) needs a package index and
is not run here; the install step gets one hand-made wheel instead."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "gpu.sh"


def probe_wheel(folder: Path) -> Path:
    """A minimal pure-Python wheel (module ``gpu_script_probe``, VALUE = 41) in ``folder``."""
    folder.mkdir(parents=True)
    wheel = folder / "gpu_script_probe-1.0-py3-none-any.whl"
    info = "gpu_script_probe-1.0.dist-info"
    files = {
        "gpu_script_probe.py": "VALUE = 41\n",
        f"{info}/METADATA": "Metadata-Version: 2.1\nName: gpu-script-probe\nVersion: 1.0\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{name},,\n" for name in [*files, f"{info}/RECORD"])
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return wheel


def run_script(*args: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHON": sys.executable}
    environment.pop("OUT", None)
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=300)


def test_cpu_fallback_installs_the_parts_runs_the_tests_and_writes_positive_figures(tmp_path):
    probe_wheel(tmp_path / "wheels" / "part-1")
    out, site = tmp_path / "out", tmp_path / "site"
    done = run_script("--cpu-fallback", "--out", str(out), "--wheels", str(tmp_path / "wheels"), "--site", str(site),
                      "--molecules", "8", "--tests", "tests/test_models_networks.py::test_device_choice")
    assert done.returncode == 0, done.stdout + done.stderr

    # the carried part went into the collected wheels and was installed where the steps import from
    assert (site / "wheels" / "gpu_script_probe-1.0-py3-none-any.whl").is_file()
    assert (site / "lib" / "gpu_script_probe.py").read_text() == "VALUE = 41\n"

    figures = json.loads((out / "gpu.json").read_text())
    assert figures["mode"] == "fallback" and figures["wheels_installed"] == 1
    assert figures["environment"]["gpu"] is None and figures["environment"]["torch"]
    assert figures["tests"] == {"exit_status": 0, "tests": 1, "failures": 0, "errors": 0, "skipped": 0, "passed": 1}

    train = figures["train"]
    assert train["molecules"] == 8 and train["epochs"] == 2 and train["clock"] == "wall"
    assert list(train["throughput"]) == ["cpu"]
    rates = train["throughput"]["cpu"]
    assert set(rates) == {"atomloop schnet", "atomloop nequip", "nequip Lightning (in-process)",
                          "nequip-train (Hydra CLI)"}
    assert all(rate > 0 for rate in rates.values())
    ratios = train["ratios"]["cpu"]
    assert ratios["atomloop nequip / nequip-train (Hydra CLI)"] > 0
    assert ratios["atomloop schnet / atomloop nequip"] == rates["atomloop schnet"] / rates["atomloop nequip"]
    text = (out / "gpu.txt").read_text()
    assert f"[cpu] atomloop schnet: {rates['atomloop schnet']:.1f} molecules/s" in text


def test_install_only_calls_collect_their_parts_and_install_nothing(tmp_path):
    probe_wheel(tmp_path / "first" / "part-1")
    (tmp_path / "second" / "part-2").mkdir(parents=True)
    (tmp_path / "second" / "part-2" / "other-1.0-py3-none-any.whl").write_bytes(b"not read until the run")
    site = tmp_path / "site"
    for folder in ("first", "second"):
        done = run_script("--install-only", "--wheels", str(tmp_path / folder), "--site", str(site),
                          "--out", str(tmp_path / "out"))
        assert done.returncode == 0, done.stderr
    assert done.stdout == f"wheels carried in this call: 1, collected in {site}/wheels: 2\n"
    assert sorted(p.name for p in (site / "wheels").iterdir()) == [
        "gpu_script_probe-1.0-py3-none-any.whl", "other-1.0-py3-none-any.whl"]
    assert not (site / "lib").exists()


def test_an_unknown_argument_is_one_line_and_exit_status_2(tmp_path):
    done = run_script("--gpu-count", "2")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "bench/gpu.sh: unknown argument '--gpu-count' (see --help)\n"
