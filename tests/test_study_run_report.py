"""``atomloop report --run``: the HTML report of a real (tiny) active-learning run shows the
store's rounds, AUCs, model errors and selected molecules."""

from __future__ import annotations

import json
import re

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
        assert list(tables["rounds"][0]) == ["Round", "Status", "Selected", "Selected so far", "AUC", "AUC 95 % interval",
                                             "p-value", "Null AUC 2.5 % quantile", "Reading"]
        assert [row["Round"] for row in tables["rounds"]] == ["0", "1"]
        for shown, stored in zip(tables["rounds"], rounds):
            validation = session.scalars(select(AdversarialValidation).where(AdversarialValidation.round_id == stored.id)).first()
            assert same_number(shown["AUC"], validation.auc if validation else None, decimals=3)
            assert int(shown["Selected"]) == len(session.scalars(select(Selection).where(Selection.round_id == stored.id)).all())
            if validation is not None:
                low, high = (float(x) for x in shown["AUC 95 % interval"].split(" - "))
                assert same_number(shown["AUC 95 % interval"].split(" - ")[0], validation.auc_low, decimals=3)
                assert abs(high - validation.auc_high) <= 5e-4 and low <= high
                p = validation.p_value
                assert shown["p-value"] == ("< 0.001" if p < 0.001 else f"{p:.3f}") and len(shown["p-value"].split(".")[-1]) == 3
        assert tables["rounds"][1]["AUC"] != "-" and tables["rounds"][-1]["Selected so far"] == "5"
        models = {m.id: m for m in session.scalars(select(Model))}
        assert len(tables["models"]) == len(models) == 2
        for row in tables["models"]:
            metrics = models[int(row["Model"])].metrics
            for header, value in (("Test MAE (kcal/mol)", metrics["test"]["energy"]["mae_kcal_mol"]),
                                  ("OOD test MAE (kcal/mol)", metrics["ood_test"]["energy"]["mae_kcal_mol"])):
                assert float(row[header]) == float(f"{value:.3g}")  # 3 significant digits; the store keeps them all
            assert row["Validation"] == metrics["training"]["validation"]["kind"]
            assert int(row["Best epoch"]) == metrics["training"]["best_epoch"]
            model = models[int(row["Model"])]
            method, basis = session.execute(select(Calculation.method, Calculation.basis)
                                            .where(Calculation.settings_hash == model.settings_hash)).first()
            assert (row["Status"], row["Labels"]) == ("done", f"{method}/{basis} mo-pm-iao")
            shown_hyperparameters = dict(item.split("=") for item in row["Hyper-parameters"].split(", "))
            assert list(shown_hyperparameters) == sorted(model.hyperparameters["model"])
            assert {k: json.loads(v) if v[0].isdigit() else v for k, v in shown_hyperparameters.items()} == model.hyperparameters["model"]
        formulas = dict(session.execute(select(Molecule.id, Molecule.formula)).all())
        assert len(tables["selections"]) == 5
        assert all(row["Formula"] == formulas[int(row["Molecule"])] for row in tables["selections"])
        # one running pick number over both rounds, in the order picked
        picks = session.execute(select(Round.index, Selection.rank, Selection.molecule_id).join(Round, Round.id == Selection.round_id)
                                .order_by(Round.index, Selection.rank)).all()
        assert [(row["Pick"], row["Round"], row["Molecule"]) for row in tables["selections"]] == [
            (str(n), str(r), str(m)) for n, (r, _, m) in enumerate(picks, start=1)]
        assert re.findall(r"pick (\d+): [^<]* \(id \d+\)</figcaption>", document) == [str(n) for n in range(1, 6)]
        # the opening sentence: the first and last round's test MAE of the schnet models, and the last AUC
        by_round = sorted(models.values(), key=lambda m: m.round_id)
        first, last = (m.metrics["test"]["energy"]["mae_kcal_mol"] for m in (by_round[0], by_round[-1]))
        final = session.scalars(select(AdversarialValidation).where(AdversarialValidation.round_id == rounds[-1].id)).first()
        verb = "fell" if last < first else "rose"
        assert (f'<p class="summary">Test-set errors {verb} from {first:.3g} to {last:.3g} kcal/mol in 1 round (schnet); '
                f"the last round&#x27;s adversarial AUC ({final.auc:.3f}) ") in document
    missing = CliRunner().invoke(app, ["report", "--run", "nope", "--out", str(tmp_path / "x.html")])
    assert missing.exit_code == 2 and "no run named 'nope'; runs: al" in missing.output
