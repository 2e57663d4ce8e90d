"""``atomloop train`` / ``evaluate`` / ``tune`` against a real store."""

from __future__ import annotations

import re

import pytest
from models_testdata import SCHEME, labelled, store_labelled
from typer.testing import CliRunner

from atomloop.cli import EXIT_USAGE, app
from atomloop.ingest import ingest_atoms


def test_train_evaluate_and_tune_commands(engine):
    store_labelled(engine, labelled() + labelled(rattle_seed=1))
    test_atoms = labelled(("H2O", "CH4"), rattle_seed=9)
    ood_atoms = labelled(("CH3OH",), rattle_seed=9)
    store_labelled(engine, test_atoms + ood_atoms)
    ingest_atoms(test_atoms, source="test", tags=["held-out"], engine=engine)
    ingest_atoms(ood_atoms, source="test", tags=["bigger"], engine=engine)
    runner = CliRunner()

    result = runner.invoke(app, [
        "train", "--arch", "schnet", "--target", "atomic", "--scheme", SCHEME, "--epochs", "3",
        "--hp", "num_features=16", "--hp", "num_layers=2", "--test-tag", "held-out", "--ood-tag", "bigger",
        "--device", "cpu",
    ])
    assert result.exit_code == 0, result.output
    model_id = int(re.search(r"model (\d+): schnet/atomic scheme mo-pm-iao", result.output).group(1))
    assert re.search(r"test\s+n=2\s+MAE [0-9.]+ kcal/mol", result.output)
    assert re.search(r"ood_test\s+n=1\s+MAE", result.output)
    assert re.search(r"O  atomic MAE [0-9.]+ kcal/mol", result.output)

    evaluated = runner.invoke(app, ["evaluate", str(model_id)])
    assert evaluated.exit_code == 0, evaluated.output
    assert f"model {model_id}: schnet/atomic" in evaluated.output

    tuned = runner.invoke(app, ["tune", "--arch", "nequip", "--target", "total", "--trials", "2", "--epochs", "2",
                                "--device", "cpu"])
    assert tuned.exit_code == 0, tuned.output
    assert re.search(r"tuning search adhoc\.r0\.[0-9a-f]{12}\.nequip\.total: \d complete, \d pruned", tuned.output), tuned.output


@pytest.mark.parametrize(("args", "message"), [
    (["--target", "atomic"], "target 'atomic' needs a partition scheme (--scheme)"),
    (["--round", "3", "--run", "nope"],
     "Invalid value for '--run': no run named 'nope'; runs: none (see 'atomloop train --help')"),
    (["--round", "3"],
     "Invalid value for '--round': no round 3 in the rounds without a run; rounds: none (see 'atomloop train --help')"),
])
def test_train_refuses_what_names_nothing_with_one_line_and_exit_2(database_url, atomloop, args, message):
    assert atomloop("train", "--arch", "schnet", *args) == (EXIT_USAGE, "", f"error: {message}\n")
