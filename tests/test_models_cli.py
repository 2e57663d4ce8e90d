"""``atomloop train`` / ``evaluate`` / ``tune`` against a real store."""

from __future__ import annotations

import re

from models_testdata import SCHEME, labelled, store_labelled
from typer.testing import CliRunner

from atomloop.cli import app
from atomloop.errors import InputError
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

    refused = runner.invoke(app, ["train", "--arch", "schnet", "--target", "atomic"])
    assert isinstance(refused.exception, InputError) and "needs a partition scheme" in str(refused.exception)
    missing_round = runner.invoke(app, ["train", "--arch", "schnet", "--round", "3", "--run", "nope"])
    assert isinstance(missing_round.exception, InputError) and "no run named 'nope'" in str(missing_round.exception)
    no_such_round = runner.invoke(app, ["train", "--arch", "schnet", "--round", "3"])
    assert "no round 3 in the rounds without a run; rounds: none" in str(no_such_round.exception)
