"""``atomloop select`` on a real store: output, stored rounds, reruns, errors."""

from __future__ import annotations

import subprocess
import sys

from ase.collections import g2
from typer.testing import CliRunner

from atomloop.cli import app
from atomloop.db import session_scope
from atomloop.ingest import ingest_atoms
from atomloop.store.tables import Calculation, CalculationStatus, Selection


def _labelled_store(engine) -> None:
    """G2: molecules with at most 2 heavy atoms labelled, the rest in the pool."""
    small = [a for a in g2 if (a.numbers > 1).sum() <= 2]
    large = [a for a in g2 if (a.numbers > 1).sum() > 2]
    ids = ingest_atoms(small, source="g2", engine=engine).molecule_ids
    ingest_atoms(large, source="g2", engine=engine)
    with session_scope(engine) as session:
        session.add_all(
            Calculation(
                molecule_id=i, method="hf", basis="sto-3g", settings_hash="hf-sto-3g-test", settings={},
                status=CalculationStatus.done, total_energy=-1.0,
            )
            for i in ids
        )


def test_select_prints_auc_signal_and_atoms_then_reuses_the_round(engine):
    _labelled_store(engine)
    runner = CliRunner()
    args = ["select", "--k", "4", "--level", "atom", "--classifier", "logistic", "--top", "3"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    out = first.output
    assert "round 0: adversarial picked 4 of 85 pool molecules (77 training), atom level" in out
    assert "adversarial validation AUC 0." in out and "95% interval" in out
    assert "stopping signal: shift: " in out
    table = out[out.index("atoms that drove it") :].strip().splitlines()[1:]
    assert len(table) == 4 and table[-1] == "... and 1 more"
    assert all(len(row.split()) >= 5 for row in table[:3])  # rank, id, formula, score, atoms

    again = runner.invoke(app, [*args, "--round", "0"])
    assert again.exit_code == 0 and "[stored selection, nothing written]" in again.output
    def report_lines(output: str) -> list[str]:  # without progress bars (stderr) and the first line
        return output[output.index("adversarial validation AUC") :].strip().splitlines()

    assert report_lines(again.output) == report_lines(out)
    following = runner.invoke(app, ["select", "--strategy", "random", "--k", "2", "--classifier", "logistic"])
    assert following.exit_code == 0 and "round 1: random picked 2 of 81" in following.output
    with session_scope(engine) as session:
        assert session.query(Selection).count() == 6


def test_select_errors_are_one_line(database_url):
    result = subprocess.run(
        [sys.executable, "-c", "from atomloop.cli import main; main()", "select", "--k", "3"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "error: no training molecules: the store has no finished calculation"
