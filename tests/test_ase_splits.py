"""``split`` in the ASE rows says where a molecule stands in its run (migration 0008): trained
on (with run and round), selected, test, ood or pool; the run's dataset keeps ``pool`` for
the molecules the loop selected and trained on."""

from __future__ import annotations

import ase.db
from ase.build import molecule

from atomloop.db import session_scope
from atomloop.db.url import ase_url
from atomloop.ingest import ingest_atoms
from atomloop.store.registry import register_model
from atomloop.store.runs import create_run, record_initial_selection
from atomloop.store.selections import get_or_create_round

NAMES = ("H2O", "NH3", "CH4", "CO", "HF", "H2", "N2", "C2H6", "HCN")


def _trained(engine, round_id: int, molecule_ids: list[int]) -> int:
    return register_model(
        engine, {}, architecture="schnet", target="total", hyperparameters={}, round_id=round_id,
        training_molecule_ids=molecule_ids,
    )


def test_split_follows_the_loop_selected_trained_test_ood_and_pool(database_url, engine):
    ids = ingest_atoms([molecule(n) for n in NAMES], source="test", engine=engine).molecule_ids
    a, b, test, ood, e, f, g, pool, outside = ids
    with session_scope(engine) as session:
        run_id = create_run(session, "r1", {}, {"train": [a, b], "test": [test], "ood_test": [ood], "pool": [e, f, g, pool]})
        rounds = [get_or_create_round(session, run_id, index).id for index in range(3)]
        record_initial_selection(session, rounds[0], [a, b])
        record_initial_selection(session, rounds[1], [e, f])  # f: selected, its labelling failed
        record_initial_selection(session, rounds[2], [g])  # g: selected, round 2 not trained yet
    _trained(engine, rounds[0], [a, b])
    _trained(engine, rounds[1], [a, b, e])
    _trained(engine, None, [test, outside])  # a model outside any run moves no split

    db = ase.db.connect(ase_url(database_url))
    rows = {row.id: row for row in db.select()}
    standing = {i: (rows[i].get("split"), rows[i].get("train_run"), rows[i].get("train_round"),
                    rows[i].get("selected_round")) for i in ids}
    assert standing == {
        a: ("train", "r1", 0, None), b: ("train", "r1", 0, None), e: ("train", "r1", 1, None),
        f: ("selected", None, None, 1), g: ("selected", None, None, 2),
        test: ("test", None, None, None), ood: ("ood", None, None, None), pool: ("pool", None, None, None),
        outside: (None, None, None, None),
    }
    assert rows[e].dataset == "run:r1"
    assert db.count(split="train") == 3
    assert db.count("split=train,train_round=1") == 1
    assert db.get(id=f).selected_round == 1


def test_a_newer_run_decides_the_split(database_url, engine):
    ids = ingest_atoms([molecule(n) for n in NAMES[:4]], source="test", engine=engine).molecule_ids
    with session_scope(engine) as session:
        first = create_run(session, "old", {}, {"train": ids[:2], "pool": ids[2:]})
        record_initial_selection(session, get_or_create_round(session, first, 0).id, ids[:2])
    _trained(engine, get_round_id(engine, first, 0), ids[:2])
    with session_scope(engine) as session:
        create_run(session, "new", {}, {"test": ids[:1], "pool": ids[1:]})
    db = ase.db.connect(ase_url(database_url))
    assert db.get(id=ids[0]).split == "test"  # trained on in run old, a test molecule of run new
    assert db.get(id=ids[1]).split == "pool" and "train_run" not in db.get(id=ids[1])


def get_round_id(engine, run_id: int, index: int) -> int:
    with session_scope(engine) as session:
        return get_or_create_round(session, run_id, index).id
