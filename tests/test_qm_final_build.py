"""The SCF's last Fock build, kept for the partition (atomloop.qm.final_build), with real PySCF.

J, K, eps_xc and the orbital gradient taken from the kept build equal a fresh build at the
converged density: the same integrals over the same density (with PySCF's incore integrals
at STO-3G the J/K are not incremental), so 1e-10 Hartree is asserted; the labels of
``compute`` with and without the kept build agree to the 1e-8 Hartree that stored labels may
move, and their sum is ``mf.e_tot``.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms

from atomloop.qm import VALID_SCHEMES, QMSettings, compute
from atomloop.qm import calculation as calculation_module
from atomloop.qm.final_build import FinalBuildRecorder
from atomloop.qm.operators import build_operators, coulomb_and_exchange, xc_energy_matrix
from atomloop.qm.orbitals import OccupiedOrbitals
from atomloop.qm.scf import build_molecule, orbital_gradient_norm, run_scf

WATER = Atoms("OH2", positions=[(0, 0, 0), (0.7539, 0, -0.5878), (-0.7539, 0, -0.5878)])
HYDROXYL = Atoms("OH", positions=[(0, 0, 0), (0, 0, 0.97)])  # doublet: UKS, two channels
LEVELS = [(WATER, "b3lyp"), (HYDROXYL, "wb97x"), (WATER, "pbe"), (WATER, "hf")]


@pytest.mark.parametrize(("atoms", "method"), LEVELS)
def test_the_kept_build_equals_a_fresh_build_at_the_converged_density(atoms, method):
    settings = QMSettings(method=method, basis="sto-3g", grid_level=1)
    outcome = run_scf(build_molecule(atoms, settings), settings)
    mf, final = outcome.mf, outcome.final
    assert final is not None
    fresh_gradient = orbital_gradient_norm(mf)
    assert outcome.info["orbital_gradient"] == pytest.approx(fresh_gradient, rel=0, abs=1e-10)
    densities = [channel.density for channel in OccupiedOrbitals.from_mean_field(mf).channels()]
    kept = final.coulomb_and_exchange()
    if method == "hf":  # PySCF keeps J - K/2 as one matrix: J and K are rebuilt
        assert kept is None and final.eps_xc is None
        return
    coulomb, exchange = coulomb_and_exchange(mf, densities)
    np.testing.assert_allclose(kept[0], coulomb, rtol=0, atol=1e-10)
    assert len(kept[1]) == len(exchange) == (2 if atoms is HYDROXYL else 1)
    for kept_exchange, fresh_exchange in zip(kept[1], exchange):
        np.testing.assert_allclose(kept_exchange, fresh_exchange, rtol=0, atol=1e-10)
    assert final.eps_xc.shape == mf.grids.weights.shape
    xc = xc_energy_matrix(mf, densities, final.eps_xc)
    np.testing.assert_allclose(xc, xc_energy_matrix(mf, densities), rtol=0, atol=1e-10)
    exact_exchange = 0.5 * sum(np.einsum("ij,ji->", k, d) for k, d in zip(kept[1], densities))
    exact_exchange *= 0.5 if len(densities) == 1 else 1.0
    # E_xc of the SCF = semi-local part Tr(X D) minus the exact exchange
    assert np.einsum("ij,ji->", xc, sum(densities)) - exact_exchange == pytest.approx(final.veff.exc, abs=1e-10)


def test_a_build_at_another_density_is_not_handed_back():
    settings = QMSettings(method="b3lyp", basis="sto-3g", grid_level=1)
    outcome = run_scf(build_molecule(WATER, settings), settings)
    mf = outcome.mf
    recorder = FinalBuildRecorder(mf)
    assert recorder.final(mf) is None  # nothing built since
    mf.get_veff(mf.mol, mf.make_rdm1())
    assert recorder.final(mf) is not None
    mf.get_veff(mf.mol, 0.9 * mf.make_rdm1())
    assert recorder.final(mf) is None


@pytest.mark.parametrize(("atoms", "method"), LEVELS[:2])
def test_labels_from_the_kept_build_equal_labels_from_a_fresh_build(atoms, method, monkeypatch):
    settings = QMSettings(method=method, basis="sto-3g", grid_level=1, schemes=VALID_SCHEMES)
    kept = compute(atoms, settings)
    monkeypatch.setattr(calculation_module, "build_operators",
                        lambda mf, channels, final=None: build_operators(mf, channels))
    fresh = compute(atoms, settings)
    assert kept.energy == fresh.energy
    for scheme in VALID_SCHEMES:
        assert kept.atomic_energies[scheme].sum() == pytest.approx(kept.energy, abs=1e-10)
        np.testing.assert_allclose(kept.atomic_energies[scheme], fresh.atomic_energies[scheme], rtol=0, atol=1e-8)
