"""The study's matrix, transfer splits and equal-size training sets (no database needed)."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import molecule

from atomloop.errors import InputError
from atomloop.study import StudyConfig, Target
from atomloop.study.splits import StudyMolecule, functional_group, split_dataset
from atomloop.study.training_sets import choose_training_set


def test_targets_parse_with_their_scheme():
    assert Target.parse("atomic:MO-PM-IAO") == Target("atomic", "mo-pm-iao")
    assert (Target.parse("atomization:ao-eda").model_target, Target.parse("atomization:ao-eda").atomization) == ("atomic", True)
    assert Target.parse("total").name == "total" and Target.parse("total").scheme is None
    for bad, message in (("atomic", "needs a partition scheme"), ("total:ao-eda", "takes no scheme"), ("energy", "unknown target")):
        with pytest.raises(InputError, match=message):
            Target.parse(bad)
    with pytest.raises(Exception, match="unknown partition scheme"):
        Target.parse("atomic:mo-xx-iao")


def test_config_matrix_labels_and_name():
    config = StudyConfig(sizes=(32, 16), seeds=(0,))
    assert config.schemes == ("ao-eda", "mo-pm-iao") and config.qm_settings.atomization
    experiments = config.experiments()
    assert len(experiments) == 3 * 2 * 1 * 3 * 2 * 3 and experiments[0].size == 16  # total and two atomic targets
    assert config.study_name == StudyConfig(sizes=(32, 16), seeds=(0,), device="cpu").study_name  # device is no input
    assert config.study_name != StudyConfig(sizes=(32, 16), seeds=(1,)).study_name
    with pytest.raises(InputError, match="strategy"):
        StudyConfig(strategies=("greedy",))
    with pytest.raises(InputError, match=">= 2"):
        StudyConfig(sizes=(1,))


def test_atomic_weights_multiply_the_atomic_targets_only():
    plain = StudyConfig(sizes=(16,), seeds=(0,), strategies=("random",), architectures=("schnet",), permutations=100)
    assert plain.study_name == "transferability-qm9-labelled-14ed7b3df8"  # as before atomic weights existed
    assert "atomic_weights" not in plain.parameters()
    assert StudyConfig(sizes=(16,), seeds=(0,), strategies=("random",), architectures=("schnet",), permutations=100,
                       atomic_weights=(1,)).study_name == plain.study_name  # the default given is the default
    weighted = StudyConfig(sizes=(16,), seeds=(0,), strategies=("random",), architectures=("schnet",),
                           targets=("atomic:ao-eda", "atomization:mo-pm-iao"), atomic_weights=(10, 0, 0.1, 1))
    assert weighted.targets == ("total", "atomic:ao-eda", "atomization:mo-pm-iao")  # weight 0: the total target
    assert weighted.atomic_weights == (0.0, 0.1, 1.0, 10.0) and weighted.parameters()["atomic_weights"] == [0.0, 0.1, 1.0, 10.0]
    cells = [(e.split, e.target, e.atomic_weight) for e in weighted.experiments()]
    assert len(cells) == len(set(cells)) == 3 * (1 + 2 * 3)  # per split: the total target once, each atomic one at 0.1, 1, 10
    assert ("in-distribution", "total", 0.0) in cells and ("in-distribution", "atomic:ao-eda", 0.0) not in cells
    assert weighted.experiments()[1].label == "in-distribution/atomic:ao-eda/w=0.1/schnet/random/n=16/seed=0"
    with pytest.raises(InputError, match="atomic weights must be >= 0"):
        StudyConfig(atomic_weights=(-1.0,))


def test_the_default_matrix_trains_ten_seeds_to_their_validation_plateau():
    config = StudyConfig.from_options()
    assert (config.seeds, config.epochs, config.patience, config.permutations) == (tuple(range(10)), 400, 30, 1000)
    assert {k: config.parameters()[k] for k in ("seeds", "epochs", "patience", "permutations")} == {
        "seeds": list(range(10)), "epochs": 400, "patience": 30, "permutations": 1000}
    quick = StudyConfig.from_options(quick=True, dataset="tiny")  # stays quick: 2 seeds, 2 epochs, 100 permutations
    assert (quick.seeds, quick.epochs, quick.patience, quick.permutations) == ((0, 1), 2, 40, 100)
    assert not {"patience", "permutations"} & set(quick.parameters())  # the values studies ran with before them
    legacy = StudyConfig(sizes=(16,), seeds=(0,), strategies=("random",), architectures=("schnet",), permutations=100)
    assert StudyConfig(**{**vars(legacy), "permutations": 1000}).study_name != legacy.study_name
    assert StudyConfig(**{**vars(legacy), "patience": 30}).study_name != legacy.study_name
    for bad in ({"patience": 0}, {"permutations": 0}):
        with pytest.raises(InputError, match="patience and permutations must be >= 1"):
            StudyConfig(**bad)


def _molecules() -> list[StudyMolecule]:
    """20 molecules: 10 identities with 2 conformers each; heavy atoms 1..10; two groups."""
    return [
        StudyMolecule(id=10 * k + c, natoms=3 * k + 4, heavy_atoms=k + 1, group="alkane" if k % 2 else "alcohol",
                      composition_hash=f"h{k}", formula=f"C{k + 1}")
        for k in range(10) for c in range(2)
    ]


def test_splits_keep_conformers_together_and_hold_out_what_they_say():
    molecules = _molecules()
    identity = {m.id: m.composition_hash for m in molecules}
    kwargs = {"seed": 3, "test_fraction": 0.25, "valid_fraction": 0.1, "transfer_groups": ("alcohol",)}
    for name in ("in-distribution", "size-transfer", "group-transfer"):
        split = split_dataset(molecules, name, **kwargs)
        sides = [{identity[i] for i in ids} for ids in (split.pool, split.valid, split.test)]
        assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2]), name
        assert sorted(split.pool + split.valid + split.test) == sorted(identity), name
    size = split_dataset(molecules, "size-transfer", **kwargs)
    assert sorted({i // 10 for i in size.test}) == [7, 8, 9]  # the 3 largest identities (6 of 20 >= 25%)
    group = split_dataset(molecules, "group-transfer", **kwargs)
    assert {(i // 10) % 2 for i in group.test} == {0} and {(i // 10) % 2 for i in group.pool + group.valid} == {1}
    assert split_dataset(molecules, "in-distribution", **kwargs) == split_dataset(molecules, "in-distribution", **kwargs)
    with pytest.raises(InputError, match=r"the dataset's groups are \['alcohol', 'alkane'\]"):
        split_dataset(molecules, "group-transfer", **{**kwargs, "transfer_groups": ("amide",)})


def test_functional_group_is_the_first_group_tag():
    assert functional_group(["organic", "ketone"]) == "ketone" and functional_group(["mine"]) == "other"


def test_training_sets_have_equal_size_and_share_the_random_half():
    names = ["CH4", "NH3", "H2O", "HCN", "CO", "H2CO", "CH3OH", "C2H4", "C2H2", "C2H6", "CH3CN", "CH3CHO", "C3H8", "CH3OCH3"]
    atoms_by_id = {}
    for i, name in enumerate(names):
        atoms_by_id[i] = molecule(name)
        atoms_by_id[i].info["composition_hash"] = name
    pool = list(atoms_by_id)
    disagreeing = {names.index("C3H8"), names.index("CH3OCH3")}

    def committee(base, candidates):  # two "models" that disagree only on the two largest molecules
        spread = np.array([1.0 if i in disagreeing else 0.0 for i in candidates])
        return np.vstack([np.zeros(len(candidates)), spread])

    sets = {s: choose_training_set(s, pool, 6, seed=0, atoms_by_id=atoms_by_id, committee=committee)
            for s in ("random", "adversarial", "committee")}
    assert {len(ids) for ids in sets.values()} == {6}
    for ids in sets.values():  # every set knows every element of the pool
        assert set().union(*(atoms_by_id[i].numbers.tolist() for i in ids)) == {1, 6, 7, 8}
    random_half = set(choose_training_set("random", pool, 3, seed=0, atoms_by_id=atoms_by_id))
    assert all(random_half <= set(ids) for ids in sets.values())
    assert set(choose_training_set("random", pool, 3, seed=0, atoms_by_id=atoms_by_id)) <= set(sets["random"])  # nested
    # the committee's first pick is its most disputed molecule, which a random draw missed
    assert not disagreeing & set(sets["random"]) and disagreeing & set(sets["committee"])
    with pytest.raises(InputError, match="exceeds the 14 molecules"):
        choose_training_set("random", pool, 15, seed=0, atoms_by_id=atoms_by_id)


def test_cli_refuses_bad_inputs_before_starting_the_flow():
    from typer.testing import CliRunner

    from atomloop.cli import app

    result = CliRunner().invoke(app, ["study", "transferability", "--archs", "mace"])
    assert result.exit_code == 2 and "unknown architecture 'mace'; choose schnet or" in result.output
    result = CliRunner().invoke(app, ["report", "--out", "x.html"])
    assert result.exit_code == 2 and "give exactly one of them" in result.output
    result = CliRunner().invoke(app, ["study", "transferability", "--atomic-weights", "1", "--atomic-weights", "-0.5"])
    assert isinstance(result.exception, InputError) and str(result.exception) == "atomic weights must be >= 0 (got [1.0, -0.5])"


def test_default_dataset_is_built_once_from_shipped_data(engine):
    from collections import Counter

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from atomloop.store.tables import Molecule
    from atomloop.study.dataset import dataset_molecule_ids
    from atomloop.study.splits import FUNCTIONAL_GROUPS

    ids = dataset_molecule_ids(engine, "organic")
    assert 250 <= len(ids) <= 400 and ids == dataset_molecule_ids(engine, "organic")  # the second call ingests nothing
    with Session(engine) as session:
        molecules = session.scalars(select(Molecule)).all()
        assert sorted(m.id for m in molecules) == ids
        groups = Counter(functional_group(m.tags) for m in molecules)
        assert set(groups) == {*FUNCTIONAL_GROUPS, "other"} and groups["other"] == 88  # G2's closed-shell H/C/N/O/F/Cl
        assert {z for m in molecules for z in m.numbers} == {1, 6, 7, 8, 9, 17}
    with pytest.raises(InputError, match="no molecules tagged 'mine'"):
        dataset_molecule_ids(engine, "mine")


def test_larger_molecules_tests_on_the_larger_set_alone_and_no_other_split_sees_it():
    own = _molecules()
    larger = [StudyMolecule(id=1000 + k, natoms=30 + k, heavy_atoms=10 + k, group="alkane" if k % 2 else "alcohol",
                            composition_hash=f"big{k}", formula=f"C{10 + k}", larger=True) for k in range(4)]
    kwargs = {"seed": 3, "test_fraction": 0.25, "valid_fraction": 0.1, "transfer_groups": ("alcohol",)}
    split = split_dataset(own + larger, "larger-molecules", **kwargs)
    assert split.test == [m.id for m in larger]
    assert sorted(split.pool + split.valid) == sorted(m.id for m in own) and len(split.valid) == 2
    for name in ("in-distribution", "size-transfer", "group-transfer"):  # as if the larger set were not there
        assert split_dataset(own + larger, name, **kwargs) == split_dataset(own, name, **kwargs), name
    with pytest.raises(InputError, match="needs molecules of the larger set"):
        split_dataset(own, "larger-molecules", **kwargs)
    assert "larger-molecules" not in StudyConfig().splits and "larger-molecules" not in StudyConfig(dataset="x").splits
    assert StudyConfig(splits=("in-distribution", "larger-molecules")).basis == "6-31g*"
    for other in ({"dataset": "organic"}, {"basis": "cc-pvdz"}, {"method": "b3lyp"}):
        with pytest.raises(InputError) as refused:
            StudyConfig(splits=("larger-molecules",), **other)
        assert "the larger set is labelled at HF/6-31G* only" in str(refused.value) and "\n" not in str(refused.value)
