"""Alembic migrations go up from an empty database and back down to nothing."""

import json

from sqlalchemy import create_engine, inspect, pool

from atomloop.db import migrate

STORE_TABLES = {
    "molecules", "calculations", "atomic_energies", "datasets", "dataset_members", "runs", "rounds",
    "adversarial_validations", "ood_scores", "selections", "models", "predictions",
}


def _tables(url: str) -> set[str]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_head_then_downgrade_base(empty_database_url):
    assert migrate.current_revision(empty_database_url) is None
    migrate.upgrade(empty_database_url)
    assert STORE_TABLES <= _tables(empty_database_url)
    assert migrate.current_revision(empty_database_url) is not None
    migrate.downgrade(empty_database_url)
    assert _tables(empty_database_url) - {"alembic_version"} == set()
    assert migrate.current_revision(empty_database_url) is None
    migrate.upgrade(empty_database_url)  # and up again: downgrade left nothing behind
    assert STORE_TABLES <= _tables(empty_database_url)


def test_the_orm_matches_the_migrated_schema(empty_database_url):
    """Alembic's autogenerate finds nothing to change: no table, column, type or index drifted."""
    migrate.upgrade(empty_database_url)
    assert migrate.schema_differences(empty_database_url) == []


def test_0004_merges_the_calculations_of_one_scf_and_remaps_hashes_without_recomputing(empty_database_url):
    """A store from before 0004 held one calculation per scheme list: after the upgrade the two
    calculations of one SCF are one, with every scheme's atomic energies, at the SCF-level hash
    that QMSettings computes now; models follow the new hash. Nothing is recomputed."""
    from sqlalchemy import text

    from atomloop.qm.settings import QMSettings

    migrate.upgrade(empty_database_url, "0003")
    engine = create_engine(empty_database_url, poolclass=pool.NullPool)
    first = {**QMSettings(schemes=("ao-eda",)).to_dict()}
    second = {**QMSettings(basis="STO3G", schemes=("mo-pm-iao",)).to_dict(), "basis": "sto3g"}
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO molecules (id, numbers, positions, natoms, charge, multiplicity, formula, structure_hash,"
            " composition_hash, source) VALUES (1, '{1,1}', '{{0,0,0},{0,0,0.74}}', 2, 0, 1, 'H2', 's', 'c', 'test')"
        ))
        for calculation_id, old_hash, settings, scheme, energies in (
            (1, "old-a", first, "ao-eda", (-0.5, -0.45)), (2, "old-b", second, "mo-pm-iao", (-0.4, -0.35)),
        ):
            connection.execute(text(
                "INSERT INTO calculations (id, molecule_id, method, basis, settings_hash, settings, program, status,"
                " total_energy, attempts, finished) VALUES (:id, 1, 'hf', :basis, :hash, CAST(:settings AS jsonb),"
                " 'pyscf', 'done', -1.1, 1, now() + :id * interval '1 second')"
            ), {"id": calculation_id, "hash": old_hash, "settings": json.dumps(settings), "basis": settings["basis"]})
            for atom, energy in enumerate(energies):
                connection.execute(text(
                    "INSERT INTO atomic_energies (calculation_id, scheme, atom_index, atomic_number, energy)"
                    " VALUES (:c, :s, :a, 1, :e)"
                ), {"c": calculation_id, "s": scheme, "a": atom, "e": energy})
        connection.execute(text(
            "INSERT INTO models (id, architecture, target, settings_hash, hyperparameters, training_molecule_ids,"
            " metrics, versions, status) VALUES (1, 'schnet', 'total', 'old-b', '{}', '{1}', '{}', '{}', 'done')"
        ))
    migrate.upgrade(empty_database_url)
    with engine.connect() as connection:
        calculations = connection.execute(text("SELECT id, settings_hash, settings FROM calculations")).all()
        schemes = connection.execute(text(
            "SELECT calculation_id, scheme, atom_index, energy FROM atomic_energies ORDER BY scheme, atom_index"
        )).all()
        model_hash = connection.execute(text("SELECT settings_hash FROM models")).scalar()
    engine.dispose()
    new_hash = QMSettings().settings_hash
    assert [(c.id, c.settings_hash) for c in calculations] == [(1, new_hash)]  # the earlier finished one stays
    assert calculations[0].settings == QMSettings().scf_settings()
    assert [tuple(row) for row in schemes] == [
        (1, "ao-eda", 0, -0.5), (1, "ao-eda", 1, -0.45), (1, "mo-pm-iao", 0, -0.4), (1, "mo-pm-iao", 1, -0.35)
    ]
    assert model_hash == new_hash


def test_0012_keeps_old_experiments_at_their_weight_and_keys_experiments_by_it(empty_database_url):
    """Rows from before 0012 read as trained at the default weight (1 for atomic targets, 0 for
    total) with no baseline; an atomic target then trains at a second weight in the same cell;
    downgrading keeps the default-weight rows only."""
    from sqlalchemy import text

    migrate.upgrade(empty_database_url, "0011")
    engine = create_engine(empty_database_url, poolclass=pool.NullPool)
    insert = ("INSERT INTO experiments (id, study_id, split, target, atomization, architecture, strategy, training_size, seed, status,"
              " train_molecule_ids, test_molecule_ids{weight}) VALUES (:id, 1, 'in-distribution', :target, false, 'schnet',"
              " 'random', 8, 0, 'done', '{{}}', '{{}}'{value})")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO studies (id, name, kind, parameters, settings_hash, status)"
                                " VALUES (1, 's', 'transferability', '{}', 'h', 'done')"))
        for experiment_id, target in ((1, "total"), (2, "atomic:ao-eda")):
            connection.execute(text(insert.format(weight="", value="")), {"id": experiment_id, "target": target})
        connection.execute(text("INSERT INTO experiment_atomic_errors VALUES (2, 'ao-eda', 'all', 'all', 4, 2.0, 1.0, NULL)"))
    migrate.upgrade(empty_database_url)
    with engine.begin() as connection:
        weights = connection.execute(text("SELECT target, atomic_weight FROM study_experiments ORDER BY experiment_id")).all()
        errors = connection.execute(text("SELECT atomic_weight, baseline_mae_kcal_mol, centred_fraction FROM study_atomic_errors")).all()
        connection.execute(text(insert.format(weight=", atomic_weight", value=", 0.1")), {"id": 3, "target": "atomic:ao-eda"})
        summary = connection.execute(text("SELECT target, atomic_weight FROM study_summary ORDER BY 2")).all()
    assert [tuple(w) for w in weights] == [("total", 0.0), ("atomic:ao-eda", 1.0)]
    assert [tuple(e) for e in errors] == [(1.0, None, None)]
    assert [tuple(s) for s in summary] == [("total", 0.0), ("atomic:ao-eda", 0.1), ("atomic:ao-eda", 1.0)]
    migrate.downgrade(empty_database_url, "0011")
    with engine.connect() as connection:
        kept = connection.execute(text("SELECT experiment_id, target, auc_p_value FROM study_experiments ORDER BY 1")).all()
    engine.dispose()
    assert [tuple(k) for k in kept] == [(1, "total", None), (2, "atomic:ao-eda", None)]
