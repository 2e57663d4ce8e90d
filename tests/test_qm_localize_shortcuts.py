"""Shortcuts of the localizers (atomloop.qm.localize), real PySCF: Foster-Boys keeps its AO
dipole integrals; CIAH hands over to the Newton polish at |g| < HANDOVER_GRADIENT or after
MAX_CIAH_CYCLES and lands on the maximum that 100 CIAH cycles towards |g| < 1e-8 reach (atomic
energies to 1e-10 Ha asserted; 9e-13 measured, water to C6H6)."""

from __future__ import annotations

import numpy as np
from ase.build import molecule
from pyscf import gto

from atomloop.qm import QMSettings, compute
from atomloop.qm import localize as localize_module
from atomloop.qm.localize import with_kept_dipole_integrals


def test_kept_dipole_integrals_follow_the_common_origin_and_other_integrals_pass_through():
    mol = gto.M(atom="O 0 0 0; H 0.7539 0 -0.5878; H -0.7539 0 -0.5878", basis="sto-3g", verbose=0)
    kept = with_kept_dipole_integrals(mol)
    values = {}
    for origin in [(0.0, 0.0, 0.0), (1.0, -2.0, 0.5), (0.0, 0.0, 0.0)]:
        with kept.with_common_origin(origin), mol.with_common_origin(origin):
            fresh = mol.intor_symmetric("int1e_r", comp=3)
            assert np.array_equal(kept.intor_symmetric("int1e_r", comp=3), fresh)
            values[origin] = fresh
    # the origin shifts <r> by origin * S: a cache that ignored the origin would fail above
    overlap = mol.intor_symmetric("int1e_ovlp")
    np.testing.assert_allclose(values[(0.0, 0.0, 0.0)][1] - values[(1.0, -2.0, 0.5)][1], -2.0 * overlap, atol=1e-12)
    assert np.array_equal(kept.intor_symmetric("int1e_ovlp"), overlap)


def test_the_handover_to_newton_reaches_the_maximum_of_a_longer_ciah_run(monkeypatch):
    settings = QMSettings(method="hf", basis="sto-3g", schemes=("mo-pm-iao", "mo-fb-iao"))
    handed_over = compute(molecule("CH3CN"), settings)
    monkeypatch.setattr(localize_module, "HANDOVER_GRADIENT", 1e-8)
    monkeypatch.setattr(localize_module, "MAX_CIAH_CYCLES", 100)
    longer = compute(molecule("CH3CN"), settings)
    for scheme in settings.schemes:
        np.testing.assert_allclose(handed_over.atomic_energies[scheme], longer.atomic_energies[scheme], rtol=0, atol=1e-10)
