"""Where the SCF of a label runs (atomloop.qm.device, ``atomloop label --device``): the selection,
its failures, the CPU path, and the GPU path against the CPU where CUDA and gpu4pyscf exist."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import molecule
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import atomloop.qm.device as device
import atomloop.qm.scf as scf
from atomloop.errors import AtomloopError, InputError
from atomloop.ingest import ingest_atoms
from atomloop.labelling import label_molecules
from atomloop.qm import QMSettings, compute
from atomloop.store.tables import Calculation

SMALL = QMSettings(method="b3lyp", basis="sto-3g", schemes=("ao-eda", "mo-pm-iao"))
GPU_PRESENT = device.gpu4pyscf_installed() and device.cuda_available()


@pytest.fixture
def no_gpu4pyscf(monkeypatch):
    monkeypatch.setattr(device, "gpu4pyscf_installed", lambda: False)


@pytest.mark.parametrize(("installed", "cuda", "expected"), [
    (False, False, "cpu"), (False, True, "cpu"), (True, False, "cpu"), (True, True, "cuda"),
])
def test_auto_is_cuda_only_with_gpu4pyscf_and_a_cuda_device(monkeypatch, installed, cuda, expected):
    monkeypatch.setattr(device, "gpu4pyscf_installed", lambda: installed)
    monkeypatch.setattr(device, "cuda_available", lambda: cuda)
    assert device.resolve_label_device("auto") == expected
    assert device.resolve_label_device("cpu") == "cpu"


def test_auto_is_cpu_here_unless_this_machine_has_cuda_and_gpu4pyscf():
    assert device.resolve_label_device("auto") == ("cuda" if GPU_PRESENT else "cpu")


def test_cuda_without_gpu4pyscf_or_without_a_device_fails_with_one_clear_line(monkeypatch, no_gpu4pyscf):
    with pytest.raises(AtomloopError, match=r"gpu4pyscf is not installed; install it with pip install 'atomloop\[gpu\]'"):
        device.resolve_label_device("cuda")
    monkeypatch.setattr(device, "gpu4pyscf_installed", lambda: True)
    monkeypatch.setattr(device, "cuda_available", lambda: False)
    with pytest.raises(AtomloopError, match="no CUDA device is available"):
        device.resolve_label_device("cuda")
    with pytest.raises(InputError, match="unknown device 'gpu'; choose one of auto, cpu, cuda"):
        device.resolve_label_device("gpu")


@pytest.mark.skipif(GPU_PRESENT, reason="this machine has CUDA and gpu4pyscf: cuda is available")
def test_cuda_fails_here():
    with pytest.raises(AtomloopError, match="--device cuda was asked for but"):
        device.resolve_label_device("cuda")


@pytest.mark.parametrize(("value", "message"), [
    ("cuda", "gpu4pyscf is not installed; install it with pip install 'atomloop[gpu]'"),
    ("gpu", "unknown device 'gpu'; choose auto, cpu or cuda"),
])
def test_label_with_an_unusable_device_is_one_line_and_exit_status_2(atomloop, no_gpu4pyscf, value, message):
    status, out, err = atomloop("label", "--device", value)
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err


def test_compute_on_cpu_is_the_default_calculation_and_records_its_device():
    water = molecule("H2O")
    default, on_cpu = compute(water, SMALL), compute(water, SMALL, device="cpu")
    assert on_cpu.energy == default.energy and on_cpu.settings_hash == default.settings_hash
    for scheme in SMALL.schemes:
        assert np.array_equal(on_cpu.atomic_energies[scheme], default.atomic_energies[scheme])
    assert on_cpu.scf_info == default.scf_info and on_cpu.scf_info["device"] == "cpu"


def test_the_gpu_hand_back_to_the_cpu_keeps_the_scf_exactly(monkeypatch):
    """The cuda path with PySCF standing in for gpu4pyscf: orbitals, energy and DFT grid of the
    device's SCF reach the partitioning unchanged (what differs on a GPU is only the SCF itself)."""
    water = molecule("H2O")
    reference = compute(water, SMALL)
    monkeypatch.setattr(scf, "resolve_label_device", lambda name: "cuda")
    monkeypatch.setattr(scf, "on_device", lambda mf, name: mf)
    handed_back = compute(water, SMALL, device="cuda")
    assert handed_back.energy == reference.energy and handed_back.scf_info["device"] == "cuda"
    for scheme in SMALL.schemes:
        np.testing.assert_allclose(handed_back.atomic_energies[scheme], reference.atomic_energies[scheme],
                                   rtol=0, atol=1e-10)


def test_the_device_is_recorded_but_not_part_of_the_calculation(engine, monkeypatch):
    settings = QMSettings(method="hf", basis="sto-3g", schemes=("ao-eda",))
    ids = ingest_atoms([molecule("H2O")], source="test").molecule_ids
    with monkeypatch.context() as patched:
        patched.setattr(device, "gpu4pyscf_installed", lambda: False)
        with pytest.raises(AtomloopError, match="gpu4pyscf is not installed"):
            label_molecules(settings, engine=engine, progress=False, device="cuda")
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Calculation)) == 0  # failed before any work
    report = label_molecules(settings, engine=engine, progress=False, device="auto")
    assert report.done == 1
    with Session(engine) as session:
        (calculation,) = session.scalars(select(Calculation)).all()
    assert calculation.molecule_id == ids[0] and calculation.settings_hash == settings.settings_hash
    assert calculation.scf_info["device"] == ("cuda" if GPU_PRESENT else "cpu")
    assert label_molecules(settings, engine=engine, progress=False, device="cpu").requested == 0


@pytest.mark.skipif(not GPU_PRESENT, reason="needs a CUDA device and gpu4pyscf (pip install 'atomloop[gpu]')")
@pytest.mark.parametrize("name", ["H2O", "C6H6"])
def test_gpu_labels_equal_cpu_labels_at_b3lyp_def2_svp(name):
    settings = QMSettings(method="b3lyp", basis="def2-svp")
    atoms = molecule(name)
    cpu, gpu = compute(atoms, settings, device="cpu"), compute(atoms, settings, device="cuda")
    assert (cpu.scf_info["device"], gpu.scf_info["device"]) == ("cpu", "cuda")
    assert gpu.settings_hash == cpu.settings_hash
    assert abs(gpu.energy - cpu.energy) <= 1e-7
    for scheme in settings.schemes:
        np.testing.assert_allclose(gpu.atomic_energies[scheme], cpu.atomic_energies[scheme], rtol=0, atol=1e-7)
