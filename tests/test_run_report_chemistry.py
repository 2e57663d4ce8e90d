"""What a chemist reads in the run report, checked against the store: parity of predicted and
reference energies, atomic-energy errors per element recomputed from the prediction and label
rows, drawings of the selected molecules, how each round's AUC reads, elements unseen in
training, the random baseline, and the warning on log-scale plots of huge errors."""

from __future__ import annotations

import html
import re

import numpy as np
from ase import Atoms
from ase.build import molecule
from ase.data import chemical_symbols
from matplotlib.figure import Figure
from rdkit import Chem
from sqlalchemy import select
from sqlalchemy.orm import Session
from study_html import report_tables, same_number
from typer.testing import CliRunner

from atomloop.cli import app
from atomloop.ingest import ingest_atoms
from atomloop.loop import LoopConfig, run_loop
from atomloop.report.depictions import _from_structure, depiction_svg
from atomloop.report.html import figure, p_value, significant
from atomloop.report.run import DEPICTED_PER_ROUND, run_report, summary_sentence
from atomloop.select.stopping import ANTI_LEARNING, STOP_MARGIN, ShiftTest, stopping_decision
from atomloop.store.reports import RunRows
from atomloop.store.tables import (
    AdversarialValidation,
    AtomicEnergy,
    Calculation,
    Model,
    Molecule,
    Prediction,
    Round,
    Run,
    Selection,
)
from atomloop.study.plots import figure_warnings, learning_curves, log_y_axis
from atomloop.units import HARTREE_TO_KCAL_PER_MOL, HARTREE_TO_MEV

# CF4 has the most heavy atoms: with ood_size 3 it is always an OOD molecule, and its F is in no training set.
POOL = ["CH4", "NH3", "H2O", "HCN", "CO", "H2CO", "CH3OH", "C2H4", "C2H2", "C2H6", "CH3CN", "CF4"]


def _config(strategy: str, name: str) -> LoopConfig:
    return LoopConfig(
        pool_tag="al", initial=3, test_size=2, ood_size=3, k=2, rounds=1, schemes=("mo-pm-iao",), strategy=strategy,
        architectures=("schnet",), target="atomic", epochs=1, stop_on_auc=False, name=name, device="cpu",
    )


def _element_errors(session: Session, model: Model, split: str) -> dict[str, tuple[int, float, float]]:
    """Per element: atoms, MAE of atomic energies in kcal/mol and meV, from the model's
    prediction rows and its labels' atomic-energy rows."""
    errors: dict[int, list[float]] = {}
    for prediction in session.scalars(select(Prediction).where(Prediction.model_id == model.id, Prediction.split == split)):
        labels = session.execute(
            select(AtomicEnergy.atom_index, AtomicEnergy.atomic_number, AtomicEnergy.energy)
            .join(Calculation, Calculation.id == AtomicEnergy.calculation_id)
            .where(Calculation.molecule_id == prediction.molecule_id, Calculation.settings_hash == model.settings_hash,
                   AtomicEnergy.scheme == model.scheme)
        ).all()
        for index, z, energy in labels:
            errors.setdefault(z, []).append(abs(prediction.atomic_energies[index] - energy))
    return {chemical_symbols[z]: (len(e), float(np.mean(e)) * HARTREE_TO_KCAL_PER_MOL, float(np.mean(e)) * HARTREE_TO_MEV)
            for z, e in errors.items()}


def _elements(session: Session, molecule_ids) -> set[str]:
    numbers = session.scalars(select(Molecule.numbers).where(Molecule.id.in_(list(molecule_ids)))).all()
    return {chemical_symbols[z] for n in numbers for z in n}


def test_run_report_shows_parity_element_errors_drawings_readings_and_the_random_baseline(engine, tmp_path):
    ingest_atoms([molecule(name) for name in POOL], source="test", tags=["al"], engine=engine)
    run_loop(_config("adversarial", "al"), engine=engine)
    run_loop(_config("random", "al-random"), engine=engine)
    out = tmp_path / "run.html"
    result = CliRunner().invoke(app, ["report", "--run", "al", "--out", str(out)])
    assert result.exit_code == 0, result.output
    document = out.read_text()
    tables = report_tables(document)
    with Session(engine) as session:
        run = session.scalars(select(Run).where(Run.name == "al")).one()
        models = {m.id: m for m in session.scalars(select(Model).join(Round).where(Round.run_id == run.id))}
        training = {i: _elements(session, m.training_molecule_ids) for i, m in models.items()}

        # parity: every stored prediction of the labelled splits, predicted and reference energies in Hartree
        stored = {(p.model_id, p.molecule_id): p for p in session.scalars(select(Prediction).where(Prediction.model_id.in_(models)))}
        assert len(tables["predictions"]) == len(stored) == 2 * (2 + 3)
        for row in tables["predictions"]:
            prediction = stored[(int(row["Model"]), int(row["Molecule"]))]
            assert row["Split"] == prediction.split
            assert same_number(row["Predicted (Hartree)"], prediction.energy, decimals=5)
            assert same_number(row["Reference (Hartree)"], prediction.reference_energy, decimals=5)
            error = (prediction.energy - prediction.reference_energy) * HARTREE_TO_KCAL_PER_MOL
            assert float(row["Error (kcal/mol)"]) == float(f"{error:.3g}")
            assert set(row["Elements not in training"].split()) == _elements(session, [prediction.molecule_id]) - training[prediction.model_id]
        assert 'alt="parity plots per model"' in document

        # atomic-energy errors per element, recomputed from prediction and label rows
        shown = {(int(r["Model"]), r["Split"], r["Element"]): r for r in tables["element_errors"]}
        expected = {(i, split, element): value for i, m in models.items() for split in ("test", "ood_test")
                    for element, value in _element_errors(session, m, split).items()}
        assert set(shown) == set(expected) and ("ood_test", "F") in {(split, e) for _, split, e in shown}
        for key, (n_atoms, kcal_mol, mev) in expected.items():
            assert int(shown[key]["Atoms"]) == n_atoms
            assert same_number(shown[key]["Atomic MAE (kcal/mol)"], kcal_mol, significant=3)
            assert same_number(shown[key]["Atomic MAE (meV)"], mev, significant=3)
            assert shown[key]["In training"] == ("yes" if key[2] in training[key[0]] else "no")

        # elements unseen in training: CF4's F in every model's OOD test set, noted and warned about
        for i, m in models.items():
            ood = session.scalars(select(Prediction.molecule_id).where(Prediction.model_id == i, Prediction.split == "ood_test")).all()
            holding = [j for j in ood if _elements(session, [j]) - training[i]]
            assert f"Model {i} ({m.architecture}, round " in document
            assert f"ood_test: {len(holding)} of {len(ood)} molecules hold elements absent from its training set (F)" in document
        assert 'class="warning">Log scale: errors reach' in document  # the OOD MAE of ~1e4-1e5 kcal/mol, on a log axis

        # each round's AUC read by the one stopping rule
        for row in tables["rounds"]:
            stored_round = session.scalars(select(Round).where(Round.run_id == run.id, Round.index == int(row["Round"]))).one()
            validation = session.scalars(select(AdversarialValidation).where(AdversarialValidation.round_id == stored_round.id)
                                         .order_by(AdversarialValidation.id.desc())).first()
            if validation is None:
                assert row["Reading"] == "-"
                continue
            decision = stopping_decision(
                ShiftTest(validation.auc, (validation.auc_low, validation.auc_high),
                          validation.settings.get("unseen_element_molecules", 0), validation.p_value, validation.null_auc_low),
                margin=run.parameters.get("auc_stop_margin", STOP_MARGIN),
            )
            assert row["Reading"] == decision.verdict
            assert row["p-value"] == ("< 0.001" if validation.p_value < 0.001 else f"{validation.p_value:.3f}")
            assert same_number(row["Null AUC 2.5 % quantile"], validation.null_auc_low, decimals=3)

        # drawings of the selected molecules per round, in rank order
        for stored_round in session.scalars(select(Round).where(Round.run_id == run.id)):
            picks = session.scalars(select(Selection).where(Selection.round_id == stored_round.id).order_by(Selection.rank)).all()
            block = re.search(rf'<div class="gallery" id="selected_round_{stored_round.index}">(.*?)</div>(?=<h3>|<div class="scroll">)',
                              document, re.S).group(1)
            assert block.count("<svg") == min(len(picks), DEPICTED_PER_ROUND)
            assert re.findall(r"\(id (\d+)\)</figcaption>", block) == [str(p.molecule_id) for p in picks[:DEPICTED_PER_ROUND]]
            numbers = [int(n) for n in re.findall(r"pick (\d+): ", block)]
            assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # the run's running pick numbers

        # the random baseline: the run with the same inputs, strategy random
        baseline = session.scalars(select(Run).where(Run.name == "al-random")).one()
        assert baseline.parameters == {**run.parameters, "strategy": "random"}
        baseline_models = {m.id: m for m in session.scalars(select(Model).join(Round).where(Round.run_id == baseline.id))}
        assert {int(r["Model"]) for r in tables["baseline_models"]} == set(baseline_models)
        for row in tables["baseline_models"]:
            metrics = baseline_models[int(row["Model"])].metrics
            assert same_number(row["Test MAE (kcal/mol)"], metrics["test"]["energy"]["mae_kcal_mol"], significant=3)
            assert same_number(row["OOD test MAE (kcal/mol)"], metrics["ood_test"]["energy"]["mae_kcal_mol"], significant=3)
        assert "Run al-random: the same inputs" in document

    own = CliRunner().invoke(app, ["report", "--run", "al-random", "--out", str(tmp_path / "random.html")])
    assert own.exit_code == 0, own.output
    assert "This run selects at random" in (tmp_path / "random.html").read_text()


def _rows(rounds: list[dict]) -> RunRows:
    run = {"name": "r", "status": "done", "stop_reason": None, "created": "now", "parameters": {"strategy": "adversarial"}}
    return RunRows(run, rounds, [], [])


def _validation(auc: float, low: float, high: float, p: float, null_low: float) -> dict:
    """A round row's validation columns and the ShiftTest the store puts beside them."""
    return {"auc": auc, "auc_low": low, "auc_high": high, "p_value": p, "null_auc_low": null_low,
            "shift_test": ShiftTest(auc, (low, high), 0, p, null_low)}


def test_an_auc_below_the_nulls_quantile_reads_as_anti_learning_and_no_baseline_is_said():
    rounds = [{"round": 1, "status": "done", "selected": 2, "selected_total": 5, **_validation(0.30, 0.22, 0.41, 0.99, 0.38)}]
    document = run_report(_rows(rounds))
    verdict = stopping_decision(ShiftTest(0.30, (0.22, 0.41), p_value=0.99, null_low=0.38)).verdict
    assert ANTI_LEARNING in verdict
    assert report_tables(document)["rounds"][0]["Reading"] == verdict
    assert report_tables(document)["rounds"][0]["p-value"] == "0.990"
    assert f'<p class="note">{html.escape(f"Round 1: {verdict}.")}</p>' in document
    assert html.escape("The store holds no run with this run's inputs and strategy 'random'") in document


def test_the_opening_sentence_reads_the_first_and_last_rounds_errors_and_the_last_auc():
    models = [{"round": r, "architecture": a, "test_mae_kcal_mol": mae}
              for r, a, mae in ((0, "schnet", 41.27), (1, "schnet", 12.0), (3, "schnet", 2.3456), (0, "nequip", 5.0),
                                (3, "nequip", 7.891))]
    validated = {"status": "done", "selected": 2, "selected_total": 5, **_validation(0.74, 0.61, 0.86, 0.0099, 0.38)}
    rows = RunRows(_rows([]).run, [{"round": 0, **validated, "auc": None, "shift_test": None}, {"round": 3, **validated}],
                   models, [])
    assert summary_sentence(rows) == (
        "Test-set errors fell from 41.3 to 2.35 kcal/mol in 3 rounds (schnet) and rose from 5.00 to 7.89 kcal/mol in "
        "3 rounds (nequip); the last round's adversarial AUC (0.740) still found a shift.")
    settled = {**validated, **_validation(0.45, 0.35, 0.52, 0.8, 0.38)}
    assert summary_sentence(RunRows(rows.run, [{"round": 1, **settled}], models[:1], [])) == (
        "Test-set errors were 41.3 kcal/mol after round 0 (schnet); the last round's adversarial AUC (0.450) found no shift left.")
    assert [significant(v) for v in (12345.6, 0.012345, -3.456, 99.96)] == ["12300", "0.0123", "-3.46", "100"]
    assert [p_value(v) for v in (0.0099, 0.0004, None)] == ["0.010", "< 0.001", "-"]


def test_radicals_are_drawn_with_their_radical_centre_and_an_impossible_structure_is_its_formula():
    methanol = molecule("CH3OH")
    assert depiction_svg(methanol.numbers.tolist(), methanol.positions.tolist()).startswith("<svg")
    assert depiction_svg([], [], smiles="c1ccccc1O").startswith("<svg")
    ethynyl = Atoms("CCH", positions=[[0, 0, 0], [0, 0, 1.21], [0, 0, -1.06]])  # Å
    # odd-electron molecules: the anion's bond orders, its negative atom the radical centre
    for atoms, smiles in ((molecule("C3H7"), "C[CH]C"), (molecule("ClO"), "[O]Cl"), (ethynyl, "[C]#C"),
                          (molecule("NO"), "[N]=O"), (molecule("CH3"), "[CH3]")):
        numbers, positions = atoms.numbers.tolist(), atoms.positions.tolist()
        perceived = _from_structure(numbers, positions, 0)
        assert Chem.MolToSmiles(Chem.RemoveHs(perceived)) == smiles
        assert sum(a.GetNumRadicalElectrons() for a in perceived.GetAtoms()) == 1
        svg = depiction_svg(numbers, positions)
        heavy = sum(z > 1 for z in numbers)
        assert svg.startswith("<svg") and set(re.findall(r"atom-(\d+)", svg)) == {str(i) for i in range(heavy)}
    # carbon with six fluorines at 1.3 Å: no valence fits, so the report writes the formula
    crowded = [[0, 0, 0]] + [[s * 1.3 if i == axis else 0.0 for i in range(3)] for axis in range(3) for s in (1, -1)]
    assert depiction_svg([6] + [9] * 6, crowded) is None


def test_log_scale_plots_of_huge_errors_say_why():
    summary = [{"split": split, "target": "total", "architecture": "schnet", "strategy": "random", "training_size": n,
                "mae_kcal_mol_mean": mae, "mae_kcal_mol_std": 0.0}
               for split, n, mae in (("in-distribution", 10, 2.0), ("in-distribution", 20, 1.2e5), ("size-transfer", 20, 3.4e5))]
    fig = learning_curves(summary)
    (warning,) = figure_warnings(fig)  # one for the figure: its largest error
    assert warning.startswith("Log scale: errors reach 3.4e+05 kcal/mol") and "absent from the training set" in warning
    assert [t.get_text().splitlines()[0] for ax in fig.axes for t in ax.texts] == [
        "log scale: errors reach 1.2e+05 kcal/mol", "log scale: errors reach 3.4e+05 kcal/mol"]
    assert f'<p class="warning">{warning}</p><img' in figure(fig, "learning curves")
    ordinary = Figure()
    ax = ordinary.subplots()
    ax.plot([1, 2], [0.5, 3.0])
    log_y_axis(ax, "kcal/mol")
    assert figure_warnings(ordinary) == []


def test_parity_baseline_is_the_per_element_fit_of_the_references():
    """The parity plot's composition fit recovers per-element energies exactly when the
    references are additive, and is the least-squares fit otherwise (residuals orthogonal to
    the element counts)."""
    from atomloop.report.plots import composition_baseline
    from atomloop.store.registry import StoredPrediction

    per_element = {1: -0.5, 6: -37.8, 8: -74.9}  # Hartree
    formulas = [[6, 1, 1, 1, 1], [8, 1, 1], [6, 8, 1, 1], [6, 6, 1, 1, 1, 1, 1, 1], [6, 8, 8]]

    def predictions(offsets):
        return [StoredPrediction(i, np.array(z), 0.0, sum(per_element[a] for a in z) + d, np.zeros(len(z)), None)
                for i, (z, d) in enumerate(zip(formulas, offsets))]

    exact = predictions([0.0] * len(formulas))
    assert np.allclose(composition_baseline(exact), [p.reference_energy for p in exact], atol=1e-10)
    noisy = predictions([0.01, -0.02, 0.005, 0.0, 0.015])
    residual = np.array([p.reference_energy for p in noisy]) - composition_baseline(noisy)
    counts = np.array([[z.count(a) for a in (1, 6, 8)] for z in formulas], dtype=float)
    assert np.allclose(counts.T @ residual, 0.0, atol=1e-10) and np.abs(residual).max() > 1e-3
