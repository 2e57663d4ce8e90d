"""``select_round`` against a real PostgreSQL store: rows written, idempotent, pool rules."""

from __future__ import annotations

import pytest
from ase.collections import g2
from select_testdata import heavy_atoms
from sqlalchemy import func, select

from atomloop.db import session_scope
from atomloop.errors import InputError
from atomloop.ingest import ingest_atoms
from atomloop.recipes.select import select_round
from atomloop.store.tables import (
    AdversarialValidation,
    Calculation,
    CalculationStatus,
    Model,
    OODScore,
    Prediction,
    Round,
    Selection,
)


@pytest.fixture
def store(engine):
    """G2 in the store: molecules with at most 2 heavy atoms labelled (HF/STO-3G, done)."""
    small = [a for a in g2 if heavy_atoms(a) <= 2]
    large = [a for a in g2 if heavy_atoms(a) > 2]
    train_ids = ingest_atoms(small, source="g2", engine=engine).molecule_ids
    pool_ids = ingest_atoms(large, source="g2", tags=["g2-large"], engine=engine).molecule_ids
    with session_scope(engine) as session:
        session.add_all(
            Calculation(
                molecule_id=molecule_id,
                method="hf",
                basis="sto-3g",
                settings_hash="hf-sto-3g-test",
                settings={"method": "hf", "basis": "sto-3g"},
                status=CalculationStatus.done,
                total_energy=-1.0,
            )
            for molecule_id in train_ids
        )
    return engine, train_ids, pool_ids


def _count(session, table) -> int:
    return session.scalar(select(func.count()).select_from(table))


def test_select_round_writes_every_row_once_and_reruns_idempotently(store):
    engine, train_ids, pool_ids = store
    report = select_round(strategy="adversarial", k=5, round_index=0, seed=0, classifier="auto", engine=engine)
    assert (report.n_train, report.n_pool, report.level, report.strategy) == (77, 85, "molecule", "adversarial")
    assert report.test.auc > 0.8 and not report.stop and not report.reused
    assert [s.rank for s in report.selected] == [1, 2, 3, 4, 5]
    assert {s.molecule_id for s in report.selected} <= set(pool_ids)
    assert all(s.score is not None and 0 <= s.score <= 1 for s in report.selected)

    with session_scope(engine) as session:
        assert _count(session, Round) == 1 and _count(session, AdversarialValidation) == 1
        assert _count(session, OODScore) == 85 and _count(session, Selection) == 5
        validation = session.scalars(select(AdversarialValidation)).one()
        assert validation.settings["classifier"] == "logistic" and validation.settings["classifier_requested"] == "auto"
        assert validation.settings["permutations"] == 100 and validation.settings["strategy"] == "adversarial"
        assert validation.settings["descriptors"]["molecule_cutoff"] == 6.0
        scores = dict(session.execute(select(OODScore.molecule_id, OODScore.score)).all())
        assert set(scores) == set(pool_ids)
        # The first pick is the pool's highest OOD score.
        assert scores[report.selected[0].molecule_id] == pytest.approx(max(scores.values()))
        assert session.get(Round, report.round_id).step == "selected"

        # the permutation test is stored and read back: a clear shift, p at its floor 1/(B + 1)
        assert validation.p_value == report.test.p_value == pytest.approx(1 / 101)
        assert validation.null_auc_low < validation.null_auc_median < validation.null_auc_high < report.test.auc
        assert report.decision.shift_detected and len(validation.settings["repeat_aucs"]) == 3

    again = select_round(strategy="adversarial", k=5, round_index=0, seed=0, engine=engine)
    assert again.reused and again.selected == report.selected and again.test == report.test
    with session_scope(engine) as session:
        assert _count(session, AdversarialValidation) == 1 and _count(session, OODScore) == 85
        assert _count(session, Selection) == 5
    with pytest.raises(InputError, match="already holds a selection of 5 molecules by adversarial"):
        select_round(strategy="random", k=5, round_index=0, engine=engine)

    # The next round's pool leaves out what round 0 selected.
    following = select_round(strategy="random", k=3, round_index=1, seed=0, classifier="logistic", engine=engine)
    assert following.n_pool == 80 and following.round_id != report.round_id
    assert not {s.molecule_id for s in following.selected} & {s.molecule_id for s in report.selected}
    assert all(s.score is None for s in following.selected)


def test_atom_level_round_stores_atom_scores_and_flagged_atoms(store):
    engine, _, pool_ids = store
    report = select_round(
        strategy="adversarial", k=3, round_index=0, level="atom", classifier="logistic",
        pool_ids=pool_ids[:30], engine=engine,
    )
    assert report.level == "atom" and report.n_pool == 30
    with session_scope(engine) as session:
        rows = session.scalars(select(OODScore)).all()
        assert len(rows) == 30
        for row in rows:
            assert 0.0 <= row.score <= 1.0  # size-fair aggregate of its atoms (atomloop.select.size_fair_scores)
            assert set(row.flagged_atoms) <= set(range(len(row.atom_scores)))
    for pick in report.selected:
        assert pick.flagged_atoms is not None and len(pick.flagged_symbols) == len(pick.flagged_atoms)


def test_committee_needs_two_architectures_then_ranks_by_disagreement(store):
    engine, train_ids, pool_ids = store
    with pytest.raises(InputError, match="at least two model architectures; found 0"):
        select_round(strategy="committee", k=2, round_index=0, engine=engine)
    with session_scope(engine) as session:
        assert _count(session, Round) == 0  # nothing written on failure
        for architecture, offset in (("schnet", 0.0), ("nequip", 0.02)):
            model = Model(
                architecture=architecture, target="total", hyperparameters={}, training_molecule_ids=train_ids
            )
            session.add(model)
            session.flush()
            session.add_all(
                Prediction(
                    model_id=model.id,
                    molecule_id=molecule_id,
                    split="pool",
                    # The two models disagree only on the third pool molecule (by 20 mHa).
                    energy=-10.0 + (offset if i == 2 else 0.0),
                )
                for i, molecule_id in enumerate(pool_ids[:20])
            )
    report = select_round(strategy="committee", k=2, round_index=0, classifier="logistic", engine=engine)
    assert report.n_pool == 85 and report.selected[0].molecule_id == pool_ids[2]
    assert {s.molecule_id for s in report.selected} <= set(pool_ids[:20])  # only predicted molecules
    third = [a for a in g2 if heavy_atoms(a) > 2][2]
    assert report.selected[0].score == pytest.approx(0.01 / len(third))  # std of 2 models, per atom
    assert report.selected[1].score == 0.0


def test_pool_tag_explicit_ids_and_clear_errors(store, engine):
    _, train_ids, pool_ids = store
    tagged = select_round(
        strategy="random", k=2, round_index=5, pool_tag="g2-large", classifier="logistic", engine=engine
    )
    assert tagged.n_pool == 85
    with pytest.raises(InputError, match="pool is empty"):
        select_round(strategy="random", k=2, round_index=6, pool_tag="no-such-tag", engine=engine)
    with pytest.raises(InputError, match="in both training set and pool"):
        select_round(strategy="random", k=2, round_index=6, train_ids=train_ids, pool_ids=train_ids[:3], engine=engine)
    with pytest.raises(InputError, match="unknown selection strategy"):
        select_round(strategy="best", k=2, round_index=6, engine=engine)
    with session_scope(engine) as session:
        assert _count(session, Round) == 1


def test_empty_store_is_a_clear_error(engine):
    with pytest.raises(InputError, match="no training molecules"):
        select_round(strategy="adversarial", k=2, round_index=0, engine=engine)


def test_k_center_and_coverage_rounds_read_the_labelled_set_from_the_store(store):
    import numpy as np

    from atomloop.select.descriptors import DescriptorSettings, molecule_descriptors
    from atomloop.select.environments import environment_keys
    from atomloop.store.molecules import load_atoms

    engine, train_ids, pool_ids = store
    with session_scope(engine) as session:
        train, pool = list(load_atoms(session, train_ids)), list(load_atoms(session, pool_ids))
    report = select_round(strategy="k-center", k=3, round_index=0, seed=0, engine=engine)
    with session_scope(engine) as session:
        settings = session.scalars(select(AdversarialValidation)).one().settings["descriptors"]
    rows = molecule_descriptors(train + pool, DescriptorSettings(
        **{key: tuple(value) if isinstance(value, list) else value for key, value in settings.items()}))
    spread = rows.std(axis=0)
    rows = (rows - rows.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    nearest = ((rows[len(train):, None, :] - rows[None, :len(train), :]) ** 2).sum(-1).min(axis=1)
    assert report.selected[0].molecule_id == pool_ids[int(np.argmax(nearest))]  # farthest from everything labelled

    coverage = select_round(strategy="coverage", k=2, round_index=1, seed=0, engine=engine)
    seen = {key for atoms in train for key in environment_keys(atoms)}
    chosen = {s.molecule_id for s in report.selected}
    remaining = [(i, a) for i, a in zip(pool_ids, pool, strict=True) if i not in chosen]
    counts: dict[str, int] = {}
    for _, atoms in remaining:
        for key in set(environment_keys(atoms)) - seen:
            counts[key] = counts.get(key, 0) + 1
    gains = {i: sum(counts.get(key, 0) for key in set(environment_keys(a)) - seen) for i, a in remaining}
    assert gains[coverage.selected[0].molecule_id] == max(gains.values()) > 0


def test_lcmd_rounds_take_the_last_layer_features_of_the_runs_earlier_model(store):
    import numpy as np

    from atomloop.models.evaluate import last_layer_features
    from atomloop.recipes.registered_model import load_registered_model
    from atomloop.recipes.train import train_and_register
    from atomloop.select.strategies import greedy_centres
    from atomloop.store.labels import LabelSource
    from atomloop.store.molecules import load_atoms
    from atomloop.store.tables import Run

    engine, train_ids, pool_ids = store
    with session_scope(engine) as session:
        run = Run(name="lcmd", parameters={})
        session.add(run)
        session.flush()
        first = Round(run_id=run.id, index=0)
        session.add(first)
        session.flush()
        run_id, round_id = run.id, first.id
    with pytest.raises(InputError, match="strategy 'lcmd' needs a model of the run trained in an earlier round"):
        select_round(strategy="lcmd", k=3, round_index=1, run_id=run_id, train_ids=train_ids, pool_ids=pool_ids,
                     engine=engine)
    model_id = train_and_register(arch="schnet", target="total", labels=LabelSource("hf-sto-3g-test"),
                                  train_ids=train_ids[:40], valid_ids=train_ids[40:50], round_id=round_id,
                                  hyperparameters={"num_features": 8, "num_layers": 1},
                                  training={"epochs": 2, "batch_size": 10, "validation": "holdout"}, device="cpu",
                                  progress=False, engine=engine)
    report = select_round(strategy="lcmd", k=3, round_index=1, run_id=run_id, train_ids=train_ids,
                          pool_ids=pool_ids, engine=engine)
    with session_scope(engine) as session:
        train, pool = list(load_atoms(session, train_ids)), list(load_atoms(session, pool_ids))
    model = load_registered_model(model_id, engine=engine)
    train_features, pool_features = last_layer_features(model, train), last_layer_features(model, pool)
    assert train_features.shape == (len(train), 4)  # SchNet's readout: 8 features -> 4 -> 1
    expected = greedy_centres(pool_features, train_features, 3, largest_cluster=True)
    assert [s.molecule_id for s in report.selected] == [pool_ids[i] for i in expected]
    with pytest.raises(InputError, match="no molecule is tagged 'nosuchtag'"):
        select_round(strategy="targeted-lcmd", k=3, round_index=2, run_id=run_id, train_ids=train_ids,
                     pool_ids=pool_ids, query_tag="nosuchtag", engine=engine)
    toward = select_round(strategy="targeted", k=2, round_index=2, run_id=run_id, train_ids=train_ids,
                          pool_ids=pool_ids, query_tag="g2-large", engine=engine)
    mixed = select_round(strategy="targeted-lcmd", k=3, round_index=3, run_id=run_id, train_ids=train_ids,
                         pool_ids=pool_ids, query_tag="g2-large", engine=engine)
    mixed_ids = [s.molecule_id for s in mixed.selected]
    assert mixed_ids[:2] == [s.molecule_id for s in toward.selected]  # half the batch, rounded up, toward the query
    assert len(set(mixed_ids)) == 3 and set(mixed_ids) <= set(pool_ids)
