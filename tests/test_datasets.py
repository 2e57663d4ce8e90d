"""``atomloop.training_set``: a run's labelled molecules for training elsewhere, as ASE expects."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from ase.build import molecule
from ase.units import Hartree

import atomloop
from atomloop.errors import InputError
from atomloop.ingest import ingest_atoms
from atomloop.labelling.runner import label_in_process
from atomloop.loop import steps
from atomloop.loop.config import LoopConfig
from atomloop.loop.state import prepare_run

POOL = ["CH4", "NH3", "H2O", "HF", "CO", "HCN", "H2CO", "CH3OH", "C2H4", "C2H2", "CH3CH2OH", "CH3CN"]


def test_training_set_of_a_run_carries_totals_and_every_schemes_atomic_energies(engine):
    ingest_atoms([molecule(n) for n in POOL], source="test", tags=["data"], engine=engine)
    config = LoopConfig(pool="data", initial=3, test_size=2, ood_size=2, k=2, rounds=1, method="hf", basis="sto-3g",
                        schemes=("ao-eda", "mo-pm-iao"), architectures=("schnet",), target="total", name="data")
    run_id = prepare_run(engine, config)
    initial = steps.select_step(engine, config, run_id, 0).molecule_ids
    steps.label_step(engine, config, run_id, 0, initial, partial(label_in_process, engine=engine))
    frames = atomloop.training_set("data", scheme="mo-pm-iao", engine=engine)
    assert sorted(a.info["molecule_id"] for a in frames) == sorted(initial)
    for atoms in frames:
        assert atoms.get_potential_energy() == pytest.approx(atoms.info["energy_hartree"] * Hartree, rel=1e-12)
        for scheme in config.schemes:
            assert atoms.arrays[f"atomic_energies_{scheme}_hartree"].sum() == pytest.approx(atoms.info["energy_hartree"], abs=1e-8)
        np.testing.assert_allclose(atoms.get_potential_energies(), atoms.arrays["atomic_energies_mo-pm-iao_hartree"] * Hartree)
    assert len(atomloop.training_set("data", split="test", engine=engine)) == 2
    with pytest.raises(InputError, match="no run named 'nope'; runs: data"):
        atomloop.training_set("nope", engine=engine)
    with pytest.raises(InputError, match="no atomic energies of scheme 'mo-fb-iao'"):
        atomloop.training_set("data", scheme="mo-fb-iao", engine=engine)
