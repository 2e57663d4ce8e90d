"""One calculation is one SCF: the settings hash covers the SCF level only; converged orbitals are kept.

Before 0004 a calculation's ``settings_hash`` also covered its partition schemes (and the
atomization flag and localizer threshold), so the same SCF at one level could be stored once
per scheme list. This revision recomputes every hash from the stored settings with the SCF-level
fields only (basis names normalised the way PySCF reads them: ``sto3g`` = ``sto-3g``), merges
calculations that are now one (the finished one is kept; atomic energies of schemes it lacks
move to it), remaps the hashes that models and studies record, and adds ``scf_solutions``
(the occupied orbitals of a finished calculation, so a new scheme needs no new SCF).
Nothing is recomputed.

Revision ID: 0004
Revises: 0003
"""

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The SCF-level fields of QMSettings at this revision, frozen here so the migration keeps
# computing the same hashes whatever later versions of the library do.
_SCF_FIELDS = ("method", "basis", "reference", "charge", "multiplicity", "density_fit", "auxbasis", "grid_level",
               "conv_tol", "conv_tol_grad", "max_cycle")


def _basis_key(basis: str) -> str:
    from pyscf.gto import basis as basis_library

    formatted = basis_library._format_basis_name(basis)
    return basis_library.ALIAS.get(formatted, formatted)


def scf_identity(settings: dict) -> dict:
    """The fields of ``settings`` that change the SCF (grid level only for DFT; basis as a key)."""
    identity = {name: settings.get(name) for name in _SCF_FIELDS}
    identity["basis"] = _basis_key(str(identity["basis"]))
    if str(identity["method"]) == "hf":
        identity.pop("grid_level")
    return identity


def scf_hash(settings: dict) -> str:
    canonical = json.dumps(scf_identity(settings), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _merge_calculations(connection) -> dict[str, str]:
    """Rehash every calculation; merge those that are now one; returns old -> new hashes."""
    rows = connection.execute(sa.text(
        "SELECT id, molecule_id, settings_hash, settings, status FROM calculations "
        "ORDER BY (status = 'done') DESC, finished NULLS LAST, id"
    )).all()
    remap: dict[str, str] = {}
    kept: dict[tuple[int, str], int] = {}
    for calculation_id, molecule_id, old_hash, settings, status in rows:
        new_hash = scf_hash(settings)
        remap[old_hash] = new_hash
        key = (molecule_id, new_hash)
        if key not in kept:  # the finished (else the first) calculation of this SCF stays
            kept[key] = calculation_id
            connection.execute(
                sa.text("UPDATE calculations SET settings_hash = :h, settings = CAST(:s AS jsonb) WHERE id = :i"),
                {"h": new_hash, "s": json.dumps({name: settings.get(name) for name in _SCF_FIELDS}), "i": calculation_id},
            )
            continue
        target = kept[key]
        connection.execute(sa.text(
            "UPDATE atomic_energies SET calculation_id = :target WHERE calculation_id = :source "
            "AND scheme NOT IN (SELECT scheme FROM atomic_energies WHERE calculation_id = :target)"
        ), {"target": target, "source": calculation_id})
        connection.execute(sa.text("DELETE FROM calculations WHERE id = :i"), {"i": calculation_id})
    return remap


def upgrade() -> None:
    op.create_table(
        "scf_solutions",
        sa.Column("calculation_id", sa.BigInteger(), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False, comment="compressed npz"),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["calculation_id"], ["calculations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("calculation_id"),
    )
    connection = op.get_bind()
    # the unique key (molecule, hash) would trip over a merge in flight: drop it while merging
    op.drop_constraint("uq_calculation_molecule_settings", "calculations", type_="unique")
    remap = _merge_calculations(connection)
    op.create_unique_constraint("uq_calculation_molecule_settings", "calculations", ["molecule_id", "settings_hash"])
    for table in ("models", "studies"):
        for old_hash, new_hash in remap.items():
            connection.execute(
                sa.text(f"UPDATE {table} SET settings_hash = :new WHERE settings_hash = :old"),
                {"new": new_hash, "old": old_hash},
            )


def downgrade() -> None:
    """Drops the stored orbitals; the merged calculations and new hashes stay (the old hashes
    covered settings that were never stored apart from their schemes)."""
    op.drop_table("scf_solutions")
