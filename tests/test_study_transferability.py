"""The transferability study end to end on a tiny configuration: real PostgreSQL, PySCF
(HF/STO-3G) labels partitioned in AO and MO schemes, real SchNet/NequIP training, Prefect."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase.build import molecule
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from study_html import report_tables, same_number
from typer.testing import CliRunner

from atomloop.cli import app
from atomloop.errors import InputError
from atomloop.ingest import ingest_atoms
from atomloop.loop.entrypoints import load_flow
from atomloop.models.evaluate import predict
from atomloop.recipes.registered_model import load_registered_model
from atomloop.store.labels import LabelSource, labelled_atoms
from atomloop.store.registry import stored_predictions
from atomloop.store.reports import study_rows
from atomloop.store.tables import ExperimentAtomicError, ExperimentError, Model, Prediction, Study, StudyExperiment
from atomloop.study import StudyConfig
from atomloop.study.claims import (
    ARCHITECTURE_COLUMNS,
    BASIS_LEARNABILITY_COLUMNS,
    BASIS_MOLECULAR_COLUMNS,
    CLAIM_1_COLUMNS,
    CLAIM_2_COLUMNS,
    MOLECULAR_COST_COLUMNS,
    TRADE_OFF_COLUMNS,
    VERDICTS,
    basis_learnability_rows,
    basis_molecular_rows,
    holm_family,
    study_claims,
)
from atomloop.select.environments import environment_keys, seen_environments
from atomloop.report.html import fmt
from atomloop.study.matrix import Target
from atomloop.study.plots import PLOTS
from atomloop.study.report import ATOMIC_ERROR_COLUMNS, EXPERIMENT_COLUMNS, GROUP_COLUMNS, SUMMARY_COLUMNS, study_report
from atomloop.units import HARTREE_TO_KCAL_PER_MOL

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
README = Path(__file__).resolve().parents[1] / "README.md"


def readme_study_queries() -> list[str]:
    """The example queries of README's "Transferability studies" section."""
    section = README.read_text().split("### Transferability studies", 1)[1]
    block = section.split("```sql", 1)[1].split("```", 1)[0]
    return [q.strip() for q in block.split(";") if q.strip()]
TINY_MOLECULES = {
    "CH4": "alkane", "C2H6": "alkane", "C3H8": "alkane", "C2H4": "alkene", "C2H2": "alkyne",
    "CH3OH": "alcohol", "CH3CH2OH": "alcohol", "CH3OCH3": "ether", "CH3CN": "nitrile", "H2CO": "aldehyde",
    "CH3CHO": "aldehyde", "CH3COCH3": "ketone", "HCOOH": "acid", "HCOOCH3": "ester", "C4H4O": "heteroaromatic",
    "CH3CONH2": "amide",
}
TRANSFER_GROUPS = ("heteroaromatic", "ester", "amide", "acid")
TINY = {"dataset": "tiny", "transfer_groups": TRANSFER_GROUPS, "name": "tiny", "device": "cpu"}  # run with --quick
QUICK = StudyConfig.from_options(quick=True, **TINY)
ATOMIC_ERRORS_QUERY = ("SELECT experiment_id, scheme, element || environment, n_atoms, mae_kcal_mol, centred_mae_kcal_mol,"
                       " offset_kcal_mol, baseline_mae_kcal_mol FROM experiment_atomic_errors ORDER BY 1, 2, 3")
N_EXPERIMENTS = len(QUICK.experiments())  # 3 splits x 2 sizes x 2 seeds x 3 strategies x 2 archs x 4 targets


@pytest.fixture
def tiny_dataset(engine) -> list[int]:
    atoms = []
    for name, group in TINY_MOLECULES.items():
        a = molecule(name)
        a.info["tags"] = [group]
        atoms.append(a)
    return ingest_atoms(atoms, source="test", tags=["tiny"], engine=engine).molecule_ids


def _check_experiments(session: Session) -> None:
    rows = session.scalars(select(StudyExperiment)).all()
    assert len(rows) == N_EXPERIMENTS == 288 and {r.status for r in rows} == {"done"}
    heavy = dict(session.execute(text("SELECT id, (SELECT count(*) FROM unnest(numbers) AS z WHERE z > 1) FROM molecules")).all())
    tags = dict(session.execute(text("SELECT id, tags[1] FROM molecules")).all())
    for r in rows:
        assert len(r.train_molecule_ids) == r.training_size and not set(r.train_molecule_ids) & set(r.test_molecule_ids)
        assert 0.0 <= r.auc_low <= r.auc <= r.auc_high <= 1.0
        # one-sided permutation p-value over the quick matrix's permutations B: (1 + #null >= auc) / (B + 1)
        b = QUICK.permutations + 1
        assert 1 / b <= r.auc_p_value <= 1.0 and r.auc_p_value * b == pytest.approx(round(r.auc_p_value * b))
        if r.split == "size-transfer":  # the test molecules are the largest (heavy atoms)
            assert min(heavy[i] for i in r.test_molecule_ids) >= max(heavy[i] for i in r.train_molecule_ids)
        if r.split == "group-transfer":
            assert {tags[i] for i in r.test_molecule_ids} == set(TRANSFER_GROUPS)
            assert not {tags[i] for i in r.train_molecule_ids} & set(TRANSFER_GROUPS)
        model = session.get(Model, r.model_id)
        target = Target.parse(r.target)
        assert (model.architecture, model.target, model.scheme) == (r.architecture, target.model_target, target.scheme)
        assert sorted(model.training_molecule_ids) == sorted(r.train_molecule_ids)
        training = model.hyperparameters["training"]  # at most the study's epochs, stopped by its patience
        assert (training["epochs"], training["early_stopping_patience"], training["early_stopping"]) == (
            QUICK.epochs, QUICK.patience, True)
        test = model.metrics["test"]
        assert r.mae_kcal_mol == pytest.approx(test["energy"]["mae_kcal_mol"])
        errors = session.scalars(select(ExperimentError).where(ExperimentError.experiment_id == r.id)).all()
        groups = [e for e in errors if e.kind == "group"]
        assert sum(e.n_molecules for e in groups) == len(r.test_molecule_ids)
        # the per-group breakdown recomposes the model's own overall test MAE
        assert sum(e.mae_kcal_mol * e.n_molecules for e in groups) / len(r.test_molecule_ids) == pytest.approx(r.mae_kcal_mol, rel=1e-9)
        elements = {e.key: e for e in errors if e.kind == "element"}
        if target.scheme is None:
            assert not elements and r.atomic_mae_mev is None
        else:  # per-element errors from the stored predictions equal the model's metrics
            assert set(elements) == set(test["atomic"])
            for symbol, e in elements.items():
                assert e.atomic_mae_mev == pytest.approx(test["atomic"][symbol]["mae_mev"], rel=1e-9)
                assert e.n_atoms == test["atomic"][symbol]["n"]
        _check_atomic_errors(session, r, target, elements)
    by_set = {}
    for r in rows:  # one training set per (split, strategy, size, seed), shared by every target and architecture
        by_set.setdefault((r.split, r.strategy, r.training_size, r.seed), set()).add(tuple(r.train_molecule_ids))
    assert all(len(sets) == 1 for sets in by_set.values())
    for (split, strategy, size, seed), sets in by_set.items():  # equal-size sets share the random first half
        random_set = set(next(iter(by_set[(split, "random", size, seed)])))
        assert len(set(next(iter(sets))) & random_set) >= size // 2


def _check_atomic_errors(session: Session, r: StudyExperiment, target: Target, elements: dict) -> None:
    """Every model, whatever its target, has atomic errors against every scheme; against its own
    scheme they equal its per-element metrics; the centring (offsets of the model's errors on its
    training atoms), the element-mean baseline and the environment split recompute."""
    stored = {(e.scheme, e.element, e.environment): e for e in
              session.scalars(select(ExperimentAtomicError).where(ExperimentAtomicError.experiment_id == r.id))}
    assert {s for s, _, _ in stored} == {"ao-eda", "mo-pm-iao"}
    if target.kind == "atomic":
        assert stored[(target.scheme, "all", "all")].mae_kcal_mol == pytest.approx(r.atomic_mae_kcal_mol, rel=1e-9)
        for symbol, e in elements.items():
            assert stored[(target.scheme, symbol, "all")].mae_kcal_mol == pytest.approx(e.atomic_mae_kcal_mol, rel=1e-9)
    settings_hash = session.get(Study, r.study_id).settings_hash
    structures = labelled_atoms(session, LabelSource(settings_hash), [*r.train_molecule_ids, *r.test_molecule_ids])
    seen = seen_environments(structures[i] for i in r.train_molecule_ids)
    n_seen = sum(key in seen for i in r.test_molecule_ids for key in environment_keys(structures[i]))
    model = load_registered_model(r.model_id, engine=session.get_bind())
    on_train = np.concatenate([p.atomic_energies for p in predict(model, [structures[i] for i in r.train_molecule_ids])])
    train_z = np.concatenate([structures[i].numbers for i in r.train_molecule_ids])
    for scheme in ("ao-eda", "mo-pm-iao"):
        predictions = stored_predictions(session, r.model_id, "test", LabelSource(settings_hash, scheme))
        error = np.concatenate([p.atomic_energies - p.reference_atomic_energies for p in predictions]) * HARTREE_TO_KCAL_PER_MOL
        z = np.concatenate([p.numbers for p in predictions])
        labels = labelled_atoms(session, LabelSource(settings_hash, scheme), r.train_molecule_ids)
        train_labels = np.concatenate([labels[i].arrays["atomic_energies"] for i in r.train_molecule_ids])
        train_error = (on_train - train_labels) * HARTREE_TO_KCAL_PER_MOL
        # an element without training atoms (N, in some group-transfer training sets): no offset, the
        # baseline predicts the mean of every training label
        centred = error - np.array([train_error[train_z == k].mean() if k in train_z else 0.0 for k in z])
        reference = np.concatenate([p.reference_atomic_energies for p in predictions])
        mean_label = np.array([train_labels[train_z == k].mean() if k in train_z else train_labels.mean() for k in z])
        baseline = (mean_label - reference) * HARTREE_TO_KCAL_PER_MOL
        every = stored[(scheme, "all", "all")]
        assert every.n_atoms == z.size and every.offset_kcal_mol is None
        assert every.mae_kcal_mol == pytest.approx(np.abs(error).mean(), rel=1e-9)
        assert every.centred_mae_kcal_mol == pytest.approx(np.abs(centred).mean(), rel=1e-6)
        assert every.baseline_mae_kcal_mol == pytest.approx(np.abs(baseline).mean(), rel=1e-9)
        assert stored[(scheme, "H", "all")].offset_kcal_mol == pytest.approx(train_error[train_z == 1].mean(), rel=1e-6)
        assert stored.get((scheme, "all", "seen"), Missing).n_atoms == n_seen
        assert stored.get((scheme, "all", "unseen"), Missing).n_atoms == z.size - n_seen


class Missing:
    """A row that was not stored: no atoms."""

    n_atoms = 0


def _check_report(session: Session, document: str) -> None:
    tables = report_tables(document)
    for table, view, columns, keys in (
        ("experiments", "study_experiments", EXPERIMENT_COLUMNS, ("experiment_id",)),
        ("summary", "study_summary", SUMMARY_COLUMNS, ("split", "target", "architecture", "strategy", "training_size")),
        ("group_errors", "study_group_errors", GROUP_COLUMNS, ("experiment_id", "functional_group")),
    ):
        stored = {tuple(str(row[k]) for k in keys): row for row in session.execute(text(f"SELECT * FROM {view}")).mappings()}
        shown = tables[table]
        assert len(shown) == len(stored) > 0
        for row in shown:
            db = stored[tuple(row[k] for k in keys)]
            mismatched = [c for c in columns if not same_number(row[c], db[c])]
            assert not mismatched, (table, [(c, row[c], db[c]) for c in mismatched])
    atomic = [dict(r) for r in session.execute(text("SELECT * FROM study_atomic_errors")).mappings()]
    shown = {(row["experiment_id"], row["reference_scheme"], row["environment"]): row for row in tables["atomic_errors"]}
    every_atom = [r for r in atomic if r["element"] == "all"]
    assert len(shown) == len(every_atom) > 0
    for db in every_atom:
        row = shown[(str(db["experiment_id"]), db["reference_scheme"], db["environment"])]
        assert all(same_number(row[c], db[c]) for c in ATOMIC_ERROR_COLUMNS), row
    experiments = [dict(r) for r in session.execute(text("SELECT * FROM study_experiments")).mappings()]
    claims = study_claims(experiments, atomic, study_rows(session, "tiny").molecule_errors)
    for table, columns in (("claim_1", CLAIM_1_COLUMNS), ("molecular_cost", MOLECULAR_COST_COLUMNS),
                           ("claim_2", CLAIM_2_COLUMNS), ("architectures", ARCHITECTURE_COLUMNS),
                           ("trade_off", TRADE_OFF_COLUMNS)):
        expected = claims[table]
        assert len(tables[table]) == len(expected) > 0, table
        for row, want in zip(tables[table], expected):
            assert all(same_number(row[c], want[c]) for c in columns), (table, row, want)
    assert "data:image/png;base64," in document and document.count("<img ") == len(PLOTS)


def test_tiny_study_flow_writes_rows_views_plots_and_report(engine, tiny_dataset, prefect_api, tmp_path):
    flow = load_flow("study.py:transferability")
    summary = flow(**TINY, quick=True, out=str(tmp_path / "out"))
    assert summary == f"study tiny (id 1): {N_EXPERIMENTS} run, 0 already done, 0 failed"
    with Session(engine) as session:
        assert session.scalars(select(Study)).one().status == "done"
        _check_experiments(session)
        for view in ("study_experiments", "study_summary", "study_element_errors", "study_group_errors"):
            assert session.scalar(text(f"SELECT count(*) FROM {view}")) > 0
        spread = session.execute(text("SELECT n_seeds, mae_kcal_mol_std FROM study_summary")).all()
        assert {n for n, _ in spread} == {2} and all(std is not None and std >= 0 for _, std in spread)
        n_models = session.scalar(select(func.count()).select_from(Model))
        n_predictions = session.scalar(select(func.count()).select_from(Prediction))
        for name in PLOTS:
            data = (tmp_path / "out" / f"{name}.png").read_bytes()
            assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000, name
        document = (tmp_path / "out" / "report.html").read_text()
        _check_report(session, document)
        assert document == study_report(study_rows(session, "tiny"))
        queries = readme_study_queries()
        assert len(queries) == 4 and all(session.execute(text(q)).all() for q in queries)  # documented queries run and answer

    # a rerun computes nothing: every experiment is done, no model is trained again
    assert flow(**TINY, quick=True).startswith(f"study tiny (id 1): 0 run, {N_EXPERIMENTS} already done")
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Model)) == n_models
        assert session.scalar(select(func.count()).select_from(Prediction)) == n_predictions
        tests = session.execute(text("SELECT id, auc, auc_low, auc_high, auc_p_value FROM experiments ORDER BY id")).all()
        atomic_errors = session.execute(text(ATOMIC_ERRORS_QUERY)).all()
        session.execute(text("UPDATE experiments SET auc_p_value = NULL WHERE split = 'size-transfer'"))
        session.execute(text(  # as revision 0012 leaves rows of older studies: no baseline, test-fitted offsets
            "UPDATE experiment_atomic_errors SET baseline_mae_kcal_mol = NULL, centred_mae_kcal_mol = 0 WHERE"
            " experiment_id IN (SELECT id FROM experiments WHERE split = 'group-transfer' AND architecture = 'schnet')"
        ))
        session.commit()
    # experiments stored without a p-value (before revision 0009) get the same test on resume, and those
    # without a baseline (before 0012) their atomic errors again
    n_untested = sum(1 for experiment in QUICK.experiments() if experiment.split == "size-transfer")
    n_stale = sum(1 for e in QUICK.experiments() if e.split == "group-transfer" and e.architecture == "schnet")
    assert flow(**TINY, quick=True).endswith(
        f"0 failed, {n_untested} permutation tests filled in, {n_stale} atomic errors filled in")
    with Session(engine) as session:
        assert session.execute(text("SELECT id, auc, auc_low, auc_high, auc_p_value FROM experiments ORDER BY id")).all() == tests
        again = session.execute(text(ATOMIC_ERRORS_QUERY)).all()
    assert len(again) == len(atomic_errors)
    for row, before in zip(again, atomic_errors):
        assert row[:4] == before[:4] and row.offset_kcal_mol == (
            None if before.offset_kcal_mol is None else pytest.approx(before.offset_kcal_mol, rel=1e-6))
        assert row[4:6] + row[7:] == pytest.approx(before[4:6] + before[7:], rel=1e-6)

    result = CliRunner().invoke(app, ["report", "--study", "tiny", "--out", str(tmp_path / "cli.html")])
    assert result.exit_code == 0, result.output
    with Session(engine) as session:
        _check_report(session, (tmp_path / "cli.html").read_text())
    markdown = CliRunner().invoke(app, ["report", "--study", "tiny", "--out", str(tmp_path / "claims.md")])
    assert markdown.exit_code == 0, markdown.output
    lines = (tmp_path / "claims.md").read_text().splitlines()
    with Session(engine) as session:
        tiny = study_rows(session, "tiny")
    for row in tiny.views["study_experiments"]:  # the per-molecule errors behind the bootstrap: the stored MAE's
        errors = list(tiny.molecule_errors[row["experiment_id"]].values())
        assert (len(errors), np.mean(errors)) == (row["n_test"], pytest.approx(row["mae_mev_atom"], rel=1e-9))
    claims = study_claims(tiny.views["study_experiments"], tiny.views["study_atomic_errors"], tiny.molecule_errors)
    assert claims["claim_2"] and all(row["verdict"] in VERDICTS for rows in claims.values() for row in rows)
    assert all(row["ratio_boot_low"] <= row["ratio"] <= row["ratio_boot_high"] for row in claims["claim_2"])
    for row in claims["claim_2"]:  # every claim-2 row is a markdown line with the view's numbers
        assert "| " + " | ".join(fmt(row[c]) for c in CLAIM_2_COLUMNS) + " |" in lines
    refused = CliRunner().invoke(app, ["report", "--study", "nope", "--out", str(tmp_path / "x.html")])
    assert refused.exit_code == 2 and "no study named 'nope'" in refused.output
    _check_atomic_weights(engine, tmp_path / "weights")


def _check_atomic_weights(engine, out: Path) -> None:
    """``--atomic-weights 0 0.1 1`` from the command line, after the quick study: weight 0 is the
    total target, ao-eda trains at 0.1 and 1; the models of weight 1 and of the total target are the
    quick study's (same molecules and settings), those of 0.1 new; the trade-off reaches the report."""
    matrix = ["--dataset", "tiny", "--quick", "--name", "weights", "--targets", "atomic:ao-eda", "--archs", "schnet",
              "--strategies", "random", "--splits", "in-distribution", "--splits", "size-transfer", "--sizes", "3",
              "--seeds", "0", "--seeds", "1", "--device", "cpu", "--out", str(out),
              *[option for group in TRANSFER_GROUPS for option in ("--transfer-groups", group)]]
    weights = ["--atomic-weights", "0", "--atomic-weights", "0.1", "--atomic-weights", "1"]
    result = CliRunner().invoke(app, ["study", "transferability", *matrix, *weights])
    assert result.exit_code == 0, result.output
    with Session(engine) as session:
        rows = study_rows(session, "weights")
        quick = {(r["split"], r["target"], r["atomic_weight"], r["training_size"], r["seed"]): r["model_id"]
                 for r in study_rows(session, "tiny").views["study_experiments"]
                 if r["architecture"] == "schnet" and r["strategy"] == "random"}
        weight_of = {m.id: m.hyperparameters["training"]["atomic_weight"] for m in session.scalars(select(Model))}
    experiments = rows.views["study_experiments"]
    assert sorted((r["target"], r["atomic_weight"]) for r in experiments) == sorted(
        [("total", 0.0)] * 4 + [("atomic:ao-eda", 0.1)] * 4 + [("atomic:ao-eda", 1.0)] * 4)
    for r in experiments:
        key = (r["split"], r["target"], r["atomic_weight"], r["training_size"], r["seed"])
        assert (r["model_id"] == quick[key]) if r["atomic_weight"] != 0.1 else r["model_id"] not in quick.values()
        if r["target"] != "total":
            assert weight_of[r["model_id"]] == r["atomic_weight"]
    claims = study_claims(experiments, rows.views["study_atomic_errors"], rows.molecule_errors)
    trade_off = claims["trade_off"]
    assert [(r["split"], r["atomic_weight"], r["n_pairs"]) for r in trade_off] == [
        (split, weight, 2) for split in ("in-distribution", "size-transfer") for weight in (0.0, 0.1, 1.0)]
    assert all(r["mev_atom_change"] == 0.0 and r["atomic_fraction"] > 0 for r in trade_off if r["atomic_weight"] == 0.0)
    shown = report_tables((out / "report.html").read_text())
    assert len(shown["trade_off"]) == len(trade_off)
    for row, want in zip(shown["trade_off"], trade_off):
        assert all(same_number(row[c], want[c]) for c in TRADE_OFF_COLUMNS), (row, want)
    claim_1 = claims["claim_1"]
    assert {(r["environment"], r["atomic_weight"]) for r in claim_1 if r["split"] == "in-distribution"} >= {
        ("all", 0.1), ("all", 1.0)}
    assert (out / "atomic_weight_trade_off.png").read_bytes().startswith(PNG_SIGNATURE)


def test_changed_inputs_under_one_name_are_refused(engine, tiny_dataset):
    from atomloop.study import run_study

    small = StudyConfig.from_options(quick=True, **{**TINY, "targets": ("total",), "architectures": ("schnet",), "strategies": ("random",),
                                     "splits": ("in-distribution",), "sizes": (3,), "seeds": (0,)})
    assert run_study(small, engine=engine, progress=False).done == 1
    with pytest.raises(InputError, match="exists with other inputs"):
        run_study(StudyConfig.from_options(quick=True, **{**TINY, "targets": ("total",)}), engine=engine, progress=False)
    with Session(engine) as session:
        errors = np.array(session.execute(text("SELECT mae_kcal_mol FROM study_experiments")).scalars().all())
    assert errors.size == 1 and errors[0] > 0


def test_basis_learnability_compares_two_studies_of_the_same_molecules(engine, tiny_dataset):
    from atomloop.study import run_study

    matrix = {**TINY, "targets": ("total", "atomic:ao-eda", "atomic:mo-pm-iao"), "architectures": ("schnet",),
              "strategies": ("random",), "splits": ("in-distribution",), "sizes": (3,), "seeds": (0, 1)}
    for name, basis in (("sto", "sto-3g"), ("split", "3-21g")):
        config = StudyConfig.from_options(quick=True, **{**matrix, "name": name, "basis": basis})
        assert run_study(config, engine=engine, progress=False).done == 6
    with Session(engine) as session:
        studies = [study_rows(session, n).views for n in ("sto", "split")]
        molecule_errors = {n: study_rows(session, n).molecule_errors for n in ("sto", "split")}
    errors = {k: v for n in ("sto", "split") for k, v in molecule_errors[n].items()}
    family = holm_family({
        "learnability": basis_learnability_rows(*(views["study_atomic_errors"] for views in studies)),
        "molecular": basis_molecular_rows(*(views["study_experiments"] for views in studies), errors)})
    table, molecular = family["learnability"], family["molecular"]
    assert {(r["scheme"], r["environment"], r["n_pairs"]) for r in table} >= {("ao-eda", "all", 2), ("mo-pm-iao", "all", 2)}
    assert {(r["target"], r["n_pairs"]) for r in molecular} == {("total", 2), ("atomic:ao-eda", 2), ("atomic:mo-pm-iao", 2)}
    mae = {(basis, r["target"], r["seed"]): r["mae_mev_atom"]
           for basis, views in zip(("sto", "split"), studies) for r in views["study_experiments"]}
    for row in molecular:  # recomputed from the views: the change, and beyond the total-trained models' change
        change = [mae["split", row["target"], s] - mae["sto", row["target"], s] for s in (0, 1)]
        assert row["difference_mev_atom"] == pytest.approx(np.mean(change), abs=1e-9)
        if row["target"] == "total":
            assert row["beyond_total_mev_atom"] is None
        else:
            total = [mae["split", "total", s] - mae["sto", "total", s] for s in (0, 1)]
            assert row["beyond_total_mev_atom"] == pytest.approx(np.mean(change) - np.mean(total), abs=1e-9)
    result = CliRunner().invoke(app, ["study", "basis-learnability", "--first", "sto", "--second", "split"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("tiny: sto-3g (sto) then 3-21g (split)")
    for row, columns in [(r, BASIS_LEARNABILITY_COLUMNS) for r in table] + [(r, BASIS_MOLECULAR_COLUMNS) for r in molecular]:
        assert "| " + " | ".join(fmt(row[c]) for c in columns) + " |" in result.output.splitlines()  # the views' numbers
    refused = CliRunner().invoke(app, ["study", "basis-learnability", "--first", "sto", "--second", "sto"])
    assert isinstance(refused.exception, InputError) and "must share a dataset and differ in basis" in str(refused.exception)
