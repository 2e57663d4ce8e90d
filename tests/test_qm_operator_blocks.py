"""Schemes from kept orbitals (atomloop.qm.calculation.repartition) and the operator blocks kept
with them (real PySCF): a scheme added later builds no operator and equals a fresh calculation.

Tolerances: repartition from the kept blocks repeats the compute path's arithmetic on the same
float64 arrays except the rotation U = C^T S C_loc, so atomic energies agree to rounding
(1e-11 Ha asserted, at most 8e-13 measured for water and OH at B3LYP/STO-3G); blocks rebuilt
from orbitals kept without them (format v1) come from a new J/K build and grid pass over the
same orbitals (1e-10 Ha asserted, the same 8e-13 measured).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from ase import Atoms

from atomloop.qm import VALID_SCHEMES, QMError, QMSettings, compute
from atomloop.qm import calculation as calculation_module
from atomloop.qm.calculation import repartition
from atomloop.qm.orbitals import OccupiedOrbitals

WATER = Atoms("OH2", positions=[(0, 0, 0), (0.7539, 0, -0.5878), (-0.7539, 0, -0.5878)])
HYDROXYL = Atoms("OH", positions=[(0, 0, 0), (0, 0, 0.97)])  # doublet: two channels


def _labelled(atoms: Atoms, method: str) -> tuple[QMSettings, object]:
    level = dict(method=method, basis="sto-3g", grid_level=1)
    first = compute(atoms, QMSettings(**level, schemes=("ao-eda",)))
    return QMSettings(**level, schemes=VALID_SCHEMES), first


@pytest.mark.parametrize(("atoms", "method"), [(WATER, "b3lyp"), (HYDROXYL, "b3lyp"), (WATER, "hf")])
def test_a_scheme_added_from_kept_blocks_builds_no_operator_and_equals_a_fresh_calculation(atoms, method, monkeypatch):
    every_scheme, labelled = _labelled(atoms, method)
    kept = OccupiedOrbitals.from_bytes(labelled.orbitals.to_bytes())
    assert kept.operators is not None
    expected_terms = {"kinetic", "nuclear_attraction", "coulomb", "exchange"} | ({"xc"} if method != "hf" else set())
    assert all(set(channel) == expected_terms for channel in kept.operators.occupied)
    assert len(kept.operators.occupied) == (2 if len(atoms) == 2 else 1)
    fresh = compute(atoms, every_scheme)

    def no_operator_build(*args, **kwargs):
        raise AssertionError("an operator was built although the orbitals carry their blocks")

    monkeypatch.setattr(calculation_module, "build_operators", no_operator_build)
    monkeypatch.setattr(calculation_module, "make_mean_field", no_operator_build)
    derived = repartition(atoms, every_scheme, kept, labelled.energy)
    assert "operators" not in derived.timings
    for scheme in VALID_SCHEMES:
        np.testing.assert_allclose(derived.atomic_energies[scheme], fresh.atomic_energies[scheme], rtol=0, atol=1e-11)
        assert derived.atomic_energies[scheme].sum() == pytest.approx(labelled.energy, abs=1e-9)


def test_orbitals_kept_without_blocks_rebuild_them_once_and_keep_them():
    every_scheme, labelled = _labelled(WATER, "b3lyp")
    version_1 = OccupiedOrbitals.from_bytes(replace(labelled.orbitals, operators=None).to_bytes())
    assert version_1.operators is None
    derived = repartition(WATER, every_scheme, version_1, labelled.energy)
    assert derived.timings["operators"] > 0 and derived.orbitals.operators is not None
    fresh = compute(WATER, every_scheme)
    for scheme in VALID_SCHEMES:
        np.testing.assert_allclose(derived.atomic_energies[scheme], fresh.atomic_energies[scheme], rtol=0, atol=1e-10)
    for rebuilt, original in zip(derived.orbitals.operators.occupied, labelled.orbitals.operators.occupied):
        for term, block in original.items():
            np.testing.assert_allclose(rebuilt[term], block, rtol=0, atol=1e-10)


def test_blocks_round_trip_bit_exact_and_blocks_of_another_geometry_are_refused():
    _, labelled = _labelled(WATER, "b3lyp")
    kept = OccupiedOrbitals.from_bytes(labelled.orbitals.to_bytes())
    for name, value in labelled.orbitals.operators.to_arrays().items():
        assert np.array_equal(kept.operators.to_arrays()[name], value), name
    moved = WATER.copy()
    moved.positions[1, 0] += 0.05
    with pytest.raises(QMError, match="belong to another geometry or basis"):
        repartition(moved, QMSettings(method="b3lyp", basis="sto-3g", grid_level=1, schemes=("mo-pm-iao",)),
                    kept, labelled.energy)
