"""Real training on PySCF-labelled molecules (HF/STO-3G, tiny models, CPU)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from models_testdata import labelled

from atomloop.errors import AtomloopError
from atomloop.models.checkpoint import CHECKPOINT_FILE, ChecksumError, load_model, load_payload, save_model
from atomloop.models.evaluate import HARTREE_TO_KCAL_PER_MOL, evaluate, predict
from atomloop.models.training import TrainingConfig, new_model, train

TINY = {"num_features": 16, "num_layers": 2}


@pytest.mark.parametrize("arch", ["schnet", "nequip"])
def test_overfits_ten_small_molecules(arch):
    molecules = labelled()
    assert len(molecules) == 10
    model = new_model(arch, molecules, **TINY)
    result = train(model, molecules, None, TrainingConfig(epochs=60, batch_size=5, early_stopping_patience=60, progress=False))
    first = result.history[0]["train_mae"]
    last = result.history[-1]["train_mae"]
    print(f"{arch}: training MAE {first * HARTREE_TO_KCAL_PER_MOL:.3f} -> {last * HARTREE_TO_KCAL_PER_MOL:.4f} kcal/mol, x{first / last:.0f}")
    assert first / last >= 10.0
    final = evaluate(model, {"train": molecules})["train"]["energy"]["mae_kcal_mol"]
    assert final < 1.0  # kcal/mol on the training molecules (from ~16 at the first epoch), eval mode


def _per_element_mean_baseline(train_set, test_set) -> dict[str, float]:
    from ase.data import chemical_symbols

    train_numbers = np.concatenate([a.numbers for a in train_set])
    train_atomic = np.concatenate([a.arrays["atomic_energies"] for a in train_set])
    numbers = np.concatenate([a.numbers for a in test_set])
    atomic = np.concatenate([a.arrays["atomic_energies"] for a in test_set])
    return {
        chemical_symbols[z]: float(np.abs(atomic[numbers == z] - train_atomic[train_numbers == z].mean()).mean())
        * HARTREE_TO_KCAL_PER_MOL
        for z in sorted(set(numbers.tolist()))
    }


def test_atomic_target_learns_partitioned_atomic_energies():
    train_set = labelled() + labelled(rattle_seed=1) + labelled(rattle_seed=2)
    test_set = labelled(rattle_seed=7)
    errors = {}
    for target in ("atomic", "total"):
        model = new_model("nequip", train_set, target=target, **TINY)
        train(model, train_set, test_set, TrainingConfig(target=target, epochs=60, batch_size=6, progress=False))
        errors[target] = evaluate(model, {"test": test_set})["test"]["atomic"]
    baseline = _per_element_mean_baseline(train_set, test_set)
    for element, metrics in errors["atomic"].items():
        print(f"{element}: atomic-target MAE {metrics['mae_kcal_mol']:.2f}, total-target "
              f"{errors['total'][element]['mae_kcal_mol']:.2f}, per-element mean {baseline[element]:.2f} kcal/mol")
        assert metrics["n"] > 0
        assert metrics["mae_kcal_mol"] < 0.5 * baseline[element]
        assert metrics["mae_kcal_mol"] < 0.2 * errors["total"][element]["mae_kcal_mol"]


def test_checkpoint_round_trip_gives_identical_predictions(tmp_path: Path):
    molecules = labelled()
    model = new_model("schnet", molecules, **TINY)
    train(model, molecules, None, TrainingConfig(epochs=3, progress=False))
    checksum = save_model(model, tmp_path / "model.pt")
    again = load_model(tmp_path / "model.pt", expected_sha256=checksum)
    before = predict(model, molecules)
    after = predict(again, molecules)
    assert [p.energy for p in before] == [p.energy for p in after]
    assert all(np.array_equal(a.atomic_energies, b.atomic_energies) for a, b in zip(before, after))
    with pytest.raises(ChecksumError):
        load_model(tmp_path / "model.pt", expected_sha256="0" * 64)
    with open(tmp_path / "model.pt", "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ChecksumError):
        load_model(tmp_path / "model.pt")


_KILLED_TRAINING = """
import os, signal, sys
sys.path.insert(0, {helpers!r})
from pathlib import Path
from models_testdata import labelled
from atomloop.models.training import TrainingConfig, new_model, train

def die_after_third(record):
    if record["epoch"] == 3:
        os.kill(os.getpid(), signal.SIGKILL)

molecules = labelled()
model = new_model("schnet", molecules, num_features=16, num_layers=2)
train(model, molecules, None, TrainingConfig(epochs=8, batch_size=4, progress=False),
      checkpoint_dir=Path({directory!r}), epoch_callback=die_after_third)
"""


def test_killed_training_resumes_from_its_last_checkpoint(tmp_path: Path):
    directory = tmp_path / "run"
    script = _KILLED_TRAINING.format(helpers=str(Path(__file__).parent / "helpers"), directory=str(directory))
    killed = subprocess.run([sys.executable, "-c", script], env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert killed.returncode == -signal.SIGKILL
    saved = load_payload(directory / CHECKPOINT_FILE)
    assert len(saved["state"]["history"]) == 3

    molecules = labelled()
    config = TrainingConfig(epochs=8, batch_size=4, progress=False)
    resumed = train(new_model("schnet", molecules, **TINY), molecules, None, config, checkpoint_dir=directory)
    assert resumed.resumed_from_epoch == 3
    assert [r["epoch"] for r in resumed.history] == list(range(1, 9))

    uninterrupted = train(new_model("schnet", molecules, **TINY), molecules, None, config)
    assert [r["train_loss"] for r in resumed.history] == pytest.approx([r["train_loss"] for r in uninterrupted.history], rel=1e-9)
    for a, b in zip(predict(resumed.model, molecules), predict(uninterrupted.model, molecules)):
        assert a.energy == pytest.approx(b.energy, abs=1e-10)

    # a finished training is not repeated; a different training refuses the directory
    again = train(new_model("schnet", molecules, **TINY), molecules, None, config, checkpoint_dir=directory)
    assert again.resumed_from_epoch == 8 and len(again.history) == 8
    with pytest.raises(AtomloopError, match="belongs to another training"):
        train(new_model("schnet", molecules, **TINY), molecules, None, TrainingConfig(epochs=9, progress=False),
              checkpoint_dir=directory)
    torch.testing.assert_close(again.model.state_dict(), resumed.model.state_dict())


def test_atomic_target_balances_its_loss_terms_and_takes_references_from_the_atomic_labels():
    """Measured on 20 HF/STO-3G molecules (mo-pm-iao): with one scale for both terms the atomic
    term was 342 times the total at initialisation; each normalised by its own label spread about
    the per-element references, the ratio is 0.89."""
    from ase.data import chemical_symbols

    from atomloop.models.training import LossScales

    molecules = labelled() + labelled(rattle_seed=1)
    model = new_model("schnet", molecules, target="atomic", **TINY)
    numbers = np.concatenate([a.numbers for a in molecules])
    values = np.concatenate([a.arrays["atomic_energies"] for a in molecules])
    means = [values[numbers == chemical_symbols.index(name)].mean() for name in model.type_names]
    np.testing.assert_allclose(model.reference.energies.numpy(), means, rtol=0, atol=1e-12)
    scales = LossScales.of(molecules, model, "atomic")
    predictions = predict(model, molecules)
    natoms = np.array([len(a) for a in molecules])
    total = np.array([p.energy for p in predictions]) - np.array([a.info["energy"] for a in molecules])
    atomic = np.concatenate([p.atomic_energies for p in predictions]) - values
    ratio = np.mean((atomic / scales.atomic) ** 2) / np.mean((total / natoms / scales.total) ** 2)
    assert 0.2 < ratio < 5.0, ratio
    result = train(model, molecules, labelled(rattle_seed=2),
                   TrainingConfig(target="atomic", epochs=12, batch_size=5, early_stopping_patience=12, progress=False))
    selection = [record["valid_mae_kcal_mol"] for record in result.history]
    assert result.best_epoch == 1 + int(np.argmin(selection))  # chosen on molecular-energy MAE, kcal/mol
    assert result.best_valid_mae_kcal_mol == min(selection)
    assert result.loss_scales == {"total": scales.total, "atomic": scales.atomic}
