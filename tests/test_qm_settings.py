"""Settings, scheme grammar, charge/multiplicity, SCF fallbacks of atomloop.qm (real PySCF)."""

from __future__ import annotations

import re

import pytest
from ase import Atoms
from ase.build import molecule

from atomloop.errors import InputError
from atomloop.qm import VALID_SCHEMES, QMSettings, SCFConvergenceError, UnknownSchemeError, compute, parse_scheme
from atomloop.qm.atoms import free_atom_energy, ground_state_multiplicity
from atomloop.qm.electrons import charge_and_multiplicity


def test_scheme_grammar_has_ten_names_and_parses_them():
    assert len(VALID_SCHEMES) == 10
    scheme = parse_scheme("MO-PM-IAO")
    assert (scheme.name, scheme.family, scheme.localization, scheme.population) == ("mo-pm-iao", "mo", "pm", "iao")
    assert parse_scheme("ao-eda").family == "ao"


def test_unknown_scheme_lists_valid_ones():
    with pytest.raises(UnknownSchemeError, match=re.escape("mo-fb-lowdin")):
        parse_scheme("mo-er-mulliken")
    with pytest.raises(UnknownSchemeError):
        QMSettings(schemes=("ao-eda", "becke"))


def test_settings_hash_is_stable_and_sensitive():
    base = QMSettings(method="B3LYP", basis="def2-SVP", schemes=("ao-eda", "mo-pm-iao"))
    same = QMSettings(method="b3lyp", basis="def2-svp", schemes=("mo-pm-iao", "ao-eda", "ao-eda"))
    assert base == same and hash(base) == hash(same)
    assert base.settings_hash == same.settings_hash
    assert re.fullmatch(r"[0-9a-f]{64}", base.settings_hash)
    assert QMSettings.from_dict(base.to_dict()) == base
    changed = {
        QMSettings(method="b3lyp", basis="def2-svp", schemes=("ao-eda", "mo-pm-iao"), grid_level=4).settings_hash,
        QMSettings(method="b3lyp", basis="def2-svp", schemes=("ao-eda", "mo-pm-iao"), conv_tol=1e-8).settings_hash,
        QMSettings(method="b3lyp", basis="def2-svp", schemes=("ao-eda", "mo-pm-iao"), density_fit=True).settings_hash,
        QMSettings(method="b3lyp", basis="def2-tzvp", schemes=("ao-eda", "mo-pm-iao")).settings_hash,
    }
    assert base.settings_hash not in changed and len(changed) == 4
    # the SCF level only: schemes, atomization and the localizer threshold derive rows from one SCF
    same_scf = {
        QMSettings(method="b3lyp", basis="def2svp", schemes=("ao-eda",)).settings_hash,
        QMSettings(method="b3lyp", basis="DEF2-SVP", schemes=("mo-fb-iao",), atomization=True).settings_hash,
        QMSettings(method="b3lyp", basis="def2-svp", localization_tol=1e-8).settings_hash,
    }
    assert same_scf == {base.settings_hash}
    assert QMSettings(grid_level=2).settings_hash == QMSettings(grid_level=5).settings_hash  # HF has no grid


def test_unknown_method_and_basis_are_clear_errors():
    with pytest.raises(InputError, match="unknown method 'b3lpy'"):
        QMSettings(method="b3lpy")
    with pytest.raises(InputError, match="unknown basis set 'sto-42g'"):
        QMSettings(basis="sto-42g")


def test_charge_and_multiplicity_sources():
    settings = QMSettings()
    water = molecule("H2O")
    assert charge_and_multiplicity(water, settings) == (0, 1)
    hydroxyl = molecule("OH")
    assert charge_and_multiplicity(hydroxyl, settings) == (0, 2)  # odd electron count
    magnetic = molecule("O2")
    magnetic.set_initial_magnetic_moments([1.0, 1.0])
    assert charge_and_multiplicity(magnetic, settings) == (0, 3)
    cation = molecule("H2O")
    cation.info.update(charge=1, multiplicity=2)
    assert charge_and_multiplicity(cation, settings) == (1, 2)
    assert charge_and_multiplicity(molecule("O2"), QMSettings(multiplicity=3)) == (0, 3)
    impossible = molecule("H2O")
    impossible.info["multiplicity"] = 2
    with pytest.raises(InputError, match="impossible with 10 electrons"):
        charge_and_multiplicity(impossible, settings)


def test_ground_state_multiplicities_from_the_table():
    """Ground terms (NIST ASD), including those an aufbau/Hund rule gets wrong (Nb, Ru, Rh, Pd,
    La, Ce, Gd, W, Pt) and the late actinides."""
    expected = {1: 2, 2: 1, 5: 2, 6: 3, 7: 4, 8: 3, 9: 2, 10: 1, 14: 3, 16: 3, 17: 2, 24: 7, 26: 5, 29: 2,
                35: 2, 41: 6, 44: 5, 45: 4, 46: 1, 57: 2, 58: 1, 64: 9, 74: 5, 78: 3, 79: 2, 86: 1, 96: 9, 103: 2}
    assert {z: ground_state_multiplicity(z) for z in expected} == expected
    with pytest.raises(InputError, match="atomic number 104"):
        ground_state_multiplicity(104)


def test_free_hydrogen_atom_sto3g():
    # The STO-3G hydrogen atom: -0.466581849 Ha (a textbook value).
    assert free_atom_energy(1, QMSettings(basis="sto-3g")) == pytest.approx(-0.466581849, abs=1e-8)


def test_scf_falls_back_to_second_order_solver():
    result = compute(molecule("H2O"), QMSettings(basis="6-31g", schemes=("ao-eda",), max_cycle=4, conv_tol_grad=1e-6))
    assert result.converged
    assert result.scf_info["strategy"] == "second-order"
    assert [a["strategy"] for a in result.scf_info["attempts"]] == ["diis", "atomic-guess", "level-shift", "second-order"]
    assert [a["converged"] for a in result.scf_info["attempts"]] == [False, False, False, True]
    plain = compute(molecule("H2O"), QMSettings(basis="6-31g", schemes=("ao-eda",)))
    assert plain.scf_info["strategy"] == "diis"
    assert result.energy == pytest.approx(plain.energy, abs=1e-8)


def test_scf_failure_names_every_strategy():
    with pytest.raises(SCFConvergenceError) as info:
        compute(molecule("H2O"), QMSettings(basis="6-31g", schemes=(), max_cycle=1, conv_tol=1e-13))
    message = str(info.value)
    assert "H2O" in message
    for strategy in ("diis", "atomic-guess", "level-shift", "second-order"):
        assert strategy in message


def test_open_shell_needs_unrestricted_reference():
    with pytest.raises(InputError, match="restricted open-shell"):
        compute(Atoms("H", positions=[(0, 0, 0)]), QMSettings(reference="restricted"))


def test_unstable_uhf_is_reoptimised_to_the_lower_solution():
    """Stretched H2 (2.5 Å): UHF from the restricted density stays at the RHF saddle point
    (-0.70294 Ha); the stability analysis leaves it for the broken-symmetry minimum."""
    from pyscf import gto, scf

    from atomloop.qm.scf import reoptimise_until_stable

    mol = gto.M(atom="H 0 0 0; H 0 0 2.5", unit="Angstrom", basis="sto-3g", verbose=0)
    restricted = scf.RHF(mol).run()
    uhf = scf.UHF(mol)
    uhf.conv_tol = 1e-10
    uhf.kernel(dm0=(restricted.make_rdm1() / 2, restricted.make_rdm1() / 2))
    assert uhf.e_tot == pytest.approx(restricted.e_tot, abs=1e-8)
    stable = reoptimise_until_stable(uhf, QMSettings(basis="sto-3g"), label="stretched H2")
    assert stable.e_tot == pytest.approx(-0.933867203, abs=1e-7)
    assert stable.e_tot > 2 * -0.466581849 - 1e-3  # about two free atoms


def test_scf_gradient_target_is_recorded_and_a_stall_is_flagged():
    """Closed shells reach conv_tol_grad (1e-8 by default). A target no strategy reaches falls
    back to PySCF's own criterion and says so: 1e-14 lies far below the orbital gradient's
    floor in double precision (about 2e-11 for water, measured), on any machine. UKS OH, whose
    degenerate pi orbitals stall near 1e-6 on most machines but reached 1e-8 on one, records
    whichever happened."""
    water = compute(molecule("H2O"), QMSettings(method="hf", basis="sto-3g", schemes=()))
    assert water.scf_info["gradient_target_met"] and water.scf_info["orbital_gradient"] < 1e-8
    stalled = compute(molecule("H2O"), QMSettings(method="hf", basis="sto-3g", schemes=(), conv_tol_grad=1e-14, max_cycle=30))
    assert stalled.scf_info["strategy"] == "pyscf-gradient-criterion" and not stalled.scf_info["gradient_target_met"]
    assert [a["strategy"] for a in stalled.scf_info["attempts"]] == [
        "diis", "atomic-guess", "level-shift", "second-order", "pyscf-gradient-criterion"]
    assert stalled.energy == pytest.approx(water.energy, abs=1e-9)  # the same SCF solution, to the energy tolerance
    hydroxyl = Atoms("OH", positions=[(0, 0, 0), (0, 0, 0.97)])
    radical = compute(hydroxyl, QMSettings(method="b3lyp", basis="sto-3g", schemes=(), grid_level=1))
    assert radical.scf_info["orbital_gradient"] < 1e-5
    assert radical.scf_info["gradient_target_met"] == (radical.scf_info["orbital_gradient"] <= 1e-8)
    # a strategy only counts as converged when it met the target; the fallback may land below it by chance
    # (OPENBLAS_CORETYPE=SkylakeX: the PySCF-criterion run ended under 1e-8)
    assert radical.scf_info["strategy"] == "pyscf-gradient-criterion" or radical.scf_info["gradient_target_met"]
