"""``atomloop report --run``: the HTML report of a real (tiny) active-learning run shows the
store's rounds, AUCs, model errors and selected molecules."""

from __future__ import annotations

import json

from ase.build import molecule
from sqlalchemy import select
from sqlalchemy.orm import Session
from study_html import report_tables, same_number
from typer.testing import CliRunner

from atomloop.cli import app
from atomloop.ingest import ingest_atoms
from atomloop.loop import LoopConfig, run_loop
from atomloop.store.tables import AdversarialValidation, Calculation, Model, Molecule, Round, Selection

POOL = ["CH4", "NH3", "H2O", "HCN", "CO", "H2CO", "CH3OH", "C2H4", "C2H2", "C2H6", "CH3CN"]


def test_run_report_shows_the_stores_rounds_errors_and_selections(engine, tmp_path):
    ingest_atoms([molecule(name) for name in POOL], source="test", tags=["al"], engine=engine)
    config = LoopConfig(
        pool_tag="al", initial=3, test_size=2, ood_size=2, k=2, rounds=1, schemes=("mo-pm-iao",), strategy="adversarial",
        architectures=("schnet",), target="atomic", epochs=1, stop_on_auc=False, name="al", device="cpu",
    )
    run_loop(config, engine=engine)
    out = tmp_path / "run.html"
    result = CliRunner().invoke(app, ["report", "--run", "al", "--out", str(out)])
    assert result.exit_code == 0, result.output
    document = out.read_text()
    tables = report_tables(document)
    assert document.count("data:image/png;base64,") == 4  # AUC and errors over rounds, parity plots, learning curves
    assert 'alt="learning curves per model"' in document
    with Session(engine) as session:
        rounds = session.scalars(select(Round).order_by(Round.index)).all()
        assert [row["round"] for row in tables["rounds"]] == ["0", "1"]
        for shown, stored in zip(tables["rounds"], rounds):
            validation = session.scalars(select(AdversarialValidation).where(AdversarialValidation.round_id == stored.id)).first()
            assert same_number(shown["auc"], validation.auc if validation else None)
            assert int(shown["selected"]) == len(session.scalars(select(Selection).where(Selection.round_id == stored.id)).all())
        assert tables["rounds"][1]["auc"] != "-" and tables["rounds"][-1]["selected_total"] == "5"
        models = {m.id: m for m in session.scalars(select(Model))}
        assert len(tables["models"]) == len(models) == 2
        for row in tables["models"]:
            metrics = models[int(row["model_id"])].metrics
            assert same_number(row["test_mae_kcal_mol"], metrics["test"]["energy"]["mae_kcal_mol"])
            assert same_number(row["ood_mae_kcal_mol"], metrics["ood_test"]["energy"]["mae_kcal_mol"])
            assert row["validation"] == metrics["training"]["validation"]["kind"]
            assert int(row["best_epoch"]) == metrics["training"]["best_epoch"]
            model = models[int(row["model_id"])]
            method, basis = session.execute(select(Calculation.method, Calculation.basis)
                                            .where(Calculation.settings_hash == model.settings_hash)).first()
            assert (row["status"], row["labels"]) == ("done", f"{method}/{basis} mo-pm-iao")
            assert json.loads(row["hyperparameters"]) == model.hyperparameters["model"]
        formulas = dict(session.execute(select(Molecule.id, Molecule.formula)).all())
        assert len(tables["selections"]) == 5
        assert all(row["formula"] == formulas[int(row["molecule_id"])] for row in tables["selections"])
    missing = CliRunner().invoke(app, ["report", "--run", "nope", "--out", str(tmp_path / "x.html")])
    assert missing.exit_code == 2 and "no run named 'nope'; runs: al" in missing.output
