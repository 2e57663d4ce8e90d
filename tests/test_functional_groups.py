"""Functional groups from SMILES for molecules that arrive without them, so the study's
group-transfer split runs on the shipped QM9 set."""

from __future__ import annotations

import pytest

from atomloop.datasets.functional_groups import functional_groups
from atomloop.ingest import ingest_source
from atomloop.study.splits import functional_group, split_dataset


@pytest.mark.parametrize(("smiles", "groups"), [
    ("c1ccncc1", ["heteroaromatic"]),
    ("c1ccccc1O", ["aromatic", "alcohol"]),
    ("NC(=O)c1ccco1", ["heteroaromatic", "amide"]),
    ("CC(=O)OC", ["ester"]),
    ("CC(=O)O", ["acid"]),
    ("CC=O", ["aldehyde"]),
    ("CC(C)=O", ["ketone"]),
    ("CC#N", ["nitrile"]),
    ("CCN", ["amine"]),
    ("CCO", ["alcohol"]),
    ("COC", ["ether"]),
    ("C=CC#C", ["alkyne", "alkene"]),
    ("CC(C)C", ["alkane"]),
    ("FC(F)F", ["halide"]),
    ("not a smiles", []),
])
def test_groups_in_order_of_precedence(smiles, groups):
    assert functional_groups(smiles) == groups


def test_the_shipped_qm9_set_is_tagged_and_splits_by_group(engine):
    from atomloop.db.engine import session_scope
    from atomloop.ingest.sources import read_source
    from atomloop.store.molecules import molecule_tags
    from atomloop.study.splits import StudyMolecule

    frames = [atoms for atoms, _ in read_source("atomloop:qm9-labelled", limit=300)]
    report = ingest_source("atomloop:qm9-labelled", tags=["qm9-labelled"], engine=engine, limit=300)
    with session_scope(engine) as session:
        tags = molecule_tags(session, report.molecule_ids)
    for molecule_id, frame in zip(report.molecule_ids, frames, strict=True):  # the SMILES's groups and the dataset tag
        assert sorted(tags[molecule_id]) == sorted([*functional_groups(frame.info["smiles"]), "qm9-labelled"])
    molecules = [
        StudyMolecule(i, len(a), int((a.numbers > 1).sum()), functional_group(tags[i]), str(i), a.get_chemical_formula())
        for i, a in zip(report.molecule_ids, frames, strict=True)
    ]
    held_out = ("heteroaromatic", "amide")
    split = split_dataset(molecules, "group-transfer", seed=0, test_fraction=0.25, valid_fraction=0.1, transfer_groups=held_out)
    groups = {m.id: m.group for m in molecules}
    assert {groups[i] for i, frame in zip(report.molecule_ids, frames, strict=True)
            if functional_groups(frame.info["smiles"])[:1] == ["heteroaromatic"]} == {"heteroaromatic"}
    assert split.test and all(groups[i] in held_out for i in split.test)
    assert all(groups[i] not in held_out for i in split.pool + split.valid)
    assert len(split.test) == sum(g in held_out for g in groups.values())


def test_the_group_is_the_first_tag_in_precedence_whatever_the_stored_order():
    assert functional_group(["amide", "qm9-labelled", "heteroaromatic"]) == "heteroaromatic"
    assert functional_group(["alcohol", "alkene"]) == "alcohol"
    assert functional_group(["qm9-labelled"]) == "other"
