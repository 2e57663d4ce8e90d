"""The ``larger-molecules`` split against the store: a ``--quick`` study from the command line on a
dozen shipped QM9 molecules and a few of the shipped larger set (their own HF/6-31G* labels,
nothing recomputed), trained on QM9 and tested on the larger molecules, with claim 2's row."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from atomloop.cli import app
from atomloop.db import session_scope
from atomloop.errors import InputError
from atomloop.ingest import ingest_source
from atomloop.ingest.sources import own_label_level
from atomloop.ingest.xyz import read_xyz_frames
from atomloop.store.reports import study_rows
from atomloop.store.tables import StudyExperiment
from atomloop.study.claims import claim_2_rows
from atomloop.study.dataset import LARGER_LABELLED, QM9_LABELLED, larger_molecule_ids

N_QM9, N_LARGER = 12, 4


def _shipped(engine, tag: str, limit: int) -> list[int]:
    """The first ``limit`` molecules of a shipped set with its labels, tagged as the study tags them."""
    spec = f"atomloop:{tag}"
    return sorted(ingest_source(spec, labels=own_label_level(spec), tags=[tag], engine=engine, limit=limit).molecule_ids)


def test_larger_molecules_trains_on_qm9_and_tests_on_the_larger_set(engine, prefect_api, tmp_path):
    qm9, larger = _shipped(engine, QM9_LABELLED, N_QM9), _shipped(engine, LARGER_LABELLED, N_LARGER)
    assert larger_molecule_ids(engine, qm9) == larger  # already tagged: nothing more is ingested
    matrix = ["--quick", "--name", "larger", "--targets", "total", "--targets", "atomic:ao-eda", "--archs", "schnet",
              "--strategies", "random", "--splits", "in-distribution", "--splits", "larger-molecules", "--sizes", "3",
              "--seeds", "0", "--seeds", "1", "--device", "cpu"]
    result = CliRunner().invoke(app, ["study", "transferability", *matrix, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    with session_scope(engine) as session:
        experiments = study_rows(session, "larger").views["study_experiments"]
        stored = session.scalars(select(StudyExperiment)).all()
        assert len(stored) == 8 and {r.status for r in stored} == {"done"}
        for row in stored:
            train, test = set(row.train_molecule_ids), set(row.test_molecule_ids)
            assert len(train) == 3 and train <= set(qm9), row.split
            if row.split == "larger-molecules":  # every larger molecule is tested, trained on QM9 alone
                assert sorted(test) == larger
            else:  # in-distribution never sees the larger set
                assert test <= set(qm9) and not test & train
            assert 0.0 <= row.auc <= 1.0 and row.mae_mev_atom > 0
    rows = [r for r in claim_2_rows(experiments) if r["transfer_split"] == "larger-molecules"]
    assert sorted(r["target"] for r in rows) == ["atomic:ao-eda", "total"]
    assert all(r["n_pairs"] == 2 and r["ratio"] > 0 and 0.0 <= r["auc_transfer"] <= 1.0 for r in rows)
    claims = CliRunner().invoke(app, ["report", "--study", "larger", "--out", str(tmp_path / "claims.md")])
    assert claims.exit_code == 0, claims.output
    assert sum("| larger-molecules |" in line for line in (tmp_path / "claims.md").read_text().splitlines()) >= 2

    refused = CliRunner().invoke(app, ["study", "transferability", "--dataset", "organic", "--splits", "larger-molecules"])
    assert isinstance(refused.exception, InputError)
    assert str(refused.exception).startswith("split larger-molecules: the larger set is labelled at HF/6-31G* only")


def test_the_larger_set_is_ingested_with_its_labels_on_first_use(engine):
    from atomloop.datasets.larger_labelled import LARGER
    from atomloop.store.labels import LabelSource, labelled_atoms

    shipped = sum(1 for path in LARGER.data_dir.glob("chunk-*.extxyz.gz") for _ in read_xyz_frames(path))
    ids = larger_molecule_ids(engine, [])
    assert len(ids) >= shipped and larger_molecule_ids(engine, []) == ids  # ingested once (chunks may land meanwhile)
    assert larger_molecule_ids(engine, ids[:2]) == ids[2:]  # a molecule of the dataset is not a larger one
    with session_scope(engine) as session:
        for scheme in LARGER.level.schemes:
            assert sorted(labelled_atoms(session, LabelSource(LARGER.level.settings_hash, scheme), ids)) == ids
