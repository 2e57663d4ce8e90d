"""Alembic migrations go up from an empty database and back down to nothing."""

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
