"""The same atomic energies on every machine: BLAS kernels and thread counts change nothing
beyond what the iterative steps converge to (real PySCF in subprocesses).

What bounds the agreement: the SCF orbital gradient (``conv_tol_grad`` 1e-8: atomic energies
move by ~0.2 x the gradient, measured at B3LYP/def2-SVP) and the localizers' gradient
(``GRADIENT_TOLERANCE`` 1e-10). Measured here between Prescott, Sandybridge and Haswell kernels
with 1 and 2 threads (SkylakeX too where the CPU has AVX-512): at most 9.5e-11 Ha (canonical
schemes; 1.6e-12 for mo-pm-*); the test allows 1e-7 Ha (the issue's requirement).
Before the localizer's Newton polish, the same comparison gave 4e-6 Ha for mo-pm-iao and
0.13 Ha for mo-pm-mulliken.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

PROBE = Path(__file__).parent / "helpers" / "atomic_energies_probe.py"
# OpenBLAS kernels and the CPU feature each needs (every x86-64 CPU has SSE3, flag pni); SkylakeX dies
# with SIGILL on a CPU without AVX-512, so it runs only where the CPU has it.
KERNELS = {"Prescott": "pni", "Sandybridge": "avx", "Haswell": "avx2", "SkylakeX": "avx512f"}
CROSS_MACHINE_TOLERANCE = 1e-7  # Hartree


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def _run_probe(kernel: str, threads: int) -> dict:
    environment = {**os.environ, "OPENBLAS_CORETYPE": kernel, "OMP_NUM_THREADS": str(threads)}
    environment.pop("OPENBLAS_L2_SIZE", None)
    completed = subprocess.run(
        [sys.executable, str(PROBE)], env=environment, capture_output=True, text=True, timeout=600, check=False
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout)


@pytest.mark.skipif(not {"pni", "avx"} <= _cpu_flags(), reason="needs an x86-64 CPU with AVX")
def test_atomic_energies_agree_across_blas_kernels_and_threads():
    flags = _cpu_flags()
    kernels = [kernel for kernel, flag in KERNELS.items() if flag in flags]
    runs = {(kernel, threads): _run_probe(kernel, threads) for kernel, threads in zip(kernels, [1, 2, 1, 2])}
    # the settings took effect: numpy's OpenBLAS ran a different kernel in every run
    # (it names some by their own family: Prescott reports Katmai)
    architectures = [
        frozenset(blas["architecture"] for blas in run["blas"] if blas["library"].startswith("libscipy_openblas"))
        for run in runs.values()
    ]
    assert len(set(architectures)) == len(runs), architectures
    worst: dict[str, float] = {}
    for (_, first), (_, second) in combinations(runs.items(), 2):
        for molecule, schemes in first["energies"].items():
            for scheme, values in schemes.items():
                difference = np.max(np.abs(np.array(values) - np.array(second["energies"][molecule][scheme])))
                worst[scheme] = max(worst.get(scheme, 0.0), float(difference))
    assert len(worst) == 10
    assert max(worst.values()) < CROSS_MACHINE_TOLERANCE, worst
