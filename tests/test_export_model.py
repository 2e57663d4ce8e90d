"""``atomloop export-model`` (issue 13): a registered model exported for its peer's own loader,
loaded by the instructions of the export's README.txt run as written (for NequIP: ``nequip-compile``
with AOTInductor, then ``NequIPCalculator.from_compiled_model``), gives AtomloopCalculator's
energies (to 1e-6 eV), per-atom energies and forces (real PostgreSQL)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from ase.build import molecule
from models_testdata import SETTINGS_HASH, labelled, store_labelled

from atomloop.cli import EXIT_USAGE
from atomloop.models.export import INFO_FILE, README_FILE
from atomloop.recipes import registered_calculator
from atomloop.recipes.train import train_and_register
from atomloop.store.labels import LabelSource

FAST = {"epochs": 3, "batch_size": 5, "validation": "holdout"}
TINY = {"num_features": 8, "num_layers": 1}
MOLECULES = ("H2O", "CH4", "NH3", "HCN", "CH3OH", "CH3CH2OH")  # rattled: no symmetry to hide errors


PEERS = ("nequip", "schnet")
BIN = Path(sys.executable).parent  # nequip-compile, as a user's environment has it on PATH


def readme_calculator(directory: Path, monkeypatch):
    """The calculator that ``README_FILE``'s indented instructions make, run as written in
    ``directory``: its commands (``nequip-compile``) in a shell, then its Python lines (``atoms``:
    a water molecule; ``directory`` first on ``sys.path``, as for a script run there)."""
    lines = [line[4:] for line in (directory / README_FILE).read_text().splitlines() if line.startswith("    ")]
    for command in (line for line in lines if line.startswith("nequip-compile ")):
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
        done = subprocess.run(shlex.split(command), cwd=directory, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    monkeypatch.chdir(directory)
    monkeypatch.syspath_prepend(str(directory))
    namespace = {"atoms": molecule("H2O")}
    exec("\n".join(line for line in lines if not line.startswith("nequip-compile ")), namespace)
    return namespace["atoms"].calc


def test_exported_models_match_atomloop_calculator(engine, tmp_path, atomloop, monkeypatch):
    store_labelled(engine, labelled())
    for arch in PEERS:
        model_id = train_and_register(
            arch=arch, target="total", labels=LabelSource(SETTINGS_HASH), hyperparameters=TINY, training=FAST,
            device="cpu", progress=False, engine=engine,
        )
        directory = tmp_path / arch
        status, out, err = atomloop("export-model", str(model_id), "--to", str(directory))
        assert status == 0, err
        assert out.startswith(f"model {model_id} ({arch}") and out.count("\n") == 1, out  # no library logging

        info = json.loads((directory / INFO_FILE).read_text())
        assert (info["model_id"], info["architecture"], info["labels"]["settings_hash"]) == (model_id, arch, SETTINGS_HASH)
        assert (info["labels"]["method"], info["labels"]["basis"]) == ("hf", "sto-3g")
        assert info["type_names"] == ["H", "C", "N", "O"] and info["r_max"] == 4.0
        assert info["units"]["energy"] == "eV" and info["units"]["forces"] == "eV/Å"

        exported, ours = readme_calculator(directory, monkeypatch), registered_calculator(model_id, engine=engine)
        for name in MOLECULES:
            atoms = molecule(name)
            atoms.rattle(0.05, seed=3)
            theirs = atoms.copy()
            atoms.calc, theirs.calc = ours, exported
            assert theirs.get_potential_energy() == pytest.approx(atoms.get_potential_energy(), abs=1e-6), (arch, name)
            assert theirs.get_potential_energies() == pytest.approx(atoms.get_potential_energies(), abs=1e-6), (arch, name)
            assert theirs.get_forces() == pytest.approx(atoms.get_forces(), abs=1e-5), (arch, name)

    # bad input: one line, exit 2, nothing written
    status, _, err = atomloop("export-model", "999999", "--to", str(tmp_path / "none"))
    assert (status, err.strip().splitlines()) == (EXIT_USAGE, [
        "error: Invalid value for MODEL_ID: no model with id 999999 (see 'atomloop export-model --help')"
    ])
    assert not (tmp_path / "none").exists()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for target, reason in ((blocker, "is a file, not a directory"), (blocker / "sub", "cannot write to")):
        status, _, err = atomloop("export-model", str(model_id), "--to", str(target))
        assert status == EXIT_USAGE and len(err.strip().splitlines()) == 1, err
        assert err.startswith("error: Invalid value for '--to': ") and reason in err, err
