"""Where the SCF of a label runs: ``cpu`` (PySCF) or ``cuda`` (gpu4pyscf, ``pip install 'atomloop[gpu]'``).

The device is not part of a calculation's identity: the GPU and the CPU label of the same level
agree to 1e-7 Hartree, share one settings hash, and the device that ran the SCF is recorded in
the calculation's ``scf_info['device']``.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from typing import Any

import numpy as np

from atomloop.errors import AtomloopError, InputError

LABEL_DEVICES = ("auto", "cpu", "cuda")


@cache
def gpu4pyscf_installed() -> bool:
    """Whether gpu4pyscf (the optional extra ``atomloop[gpu]``) can be imported."""
    return importlib.util.find_spec("gpu4pyscf") is not None


@cache
def cuda_available() -> bool:
    """Whether CuPy (installed with gpu4pyscf) sees at least one CUDA device."""
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - no CuPy, no driver or no device: all mean "no CUDA"
        return False


def check_label_device(name: str) -> str:
    """``name`` if it is one of :data:`LABEL_DEVICES` (not resolved: for a device chosen elsewhere)."""
    if name not in LABEL_DEVICES:
        raise InputError(f"unknown device {name!r}; choose one of {', '.join(LABEL_DEVICES)}")
    return name


def resolve_label_device(name: str) -> str:
    """``cpu`` or ``cuda`` for the SCF of a label on this machine: ``auto`` is ``cuda`` when
    gpu4pyscf is installed and a CUDA device is present, else ``cpu``; ``cuda`` fails clearly
    without either."""
    if check_label_device(name) == "auto":
        return "cuda" if gpu4pyscf_installed() and cuda_available() else "cpu"
    if name == "cuda" and not gpu4pyscf_installed():
        raise AtomloopError(
            "--device cuda was asked for but gpu4pyscf is not installed; install it with pip install 'atomloop[gpu]'"
        )
    if name == "cuda" and not cuda_available():
        raise AtomloopError("--device cuda was asked for but no CUDA device is available")
    return name


def to_host(array: Any) -> np.ndarray:
    """A NumPy copy of a CuPy array; NumPy arrays (and array-likes) as they are."""
    if type(array).__module__.startswith("cupy"):
        return array.get()
    return np.asarray(array)
