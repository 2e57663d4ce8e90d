"""Atomic energies reachable from ASE (issue 15): the read-only ``ase`` schema that ASE's
PostgreSQL backend browses is rebuilt from ``views/0008_ase_views.sql``.

What changes for ``ase db "$(atomloop db ase-url)"`` and ``ase.db.connect(url)``:

* ``row.data`` of a labelled molecule holds its atomic energies per partition scheme as
  ``atomic_energies_<scheme>_hartree`` (Hartree, one per atom; data keys may hold ``-``,
  key-value pairs may not) and ``energies``, ASE's per-atom energies in eV, of ``mo-pm-iao``
  when stored (the loop's default training scheme), else the first stored scheme by name; the
  key-value pair ``energies_scheme`` names it, ``atomic_energy_schemes`` lists the schemes.
  Before, ``data`` was ``{}``: the platform's main product was invisible to ASE.
* ``split`` says where a molecule stands instead of the run's frozen dataset split (which
  keeps ``pool`` for the molecules the loop selected, labelled and trained on): ``train`` with
  ``train_run`` and ``train_round`` (the first round whose models trained on it), ``selected``
  with ``selected_round``, ``test``, ``ood`` (the dataset's ``ood_test``), ``pool``.
* Every view refuses INSERT, UPDATE and DELETE with one sentence (SQLSTATE 25006) instead of
  PostgreSQL's "cannot delete from view" with its hints.
* ``information`` carries ASE metadata: a title, default columns (id, formula, name, split,
  energy) and key descriptions with units.

Only views and functions of schema ``ase`` change (no table: the ORM is untouched); downgrade
restores the 0002 schema.

Revision ID: 0008
Revises: 0007
"""

from pathlib import Path

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_VIEWS = Path(__file__).resolve().parents[1] / "views"


def upgrade() -> None:
    op.execute("DROP SCHEMA ase CASCADE")
    op.execute((_VIEWS / "0008_ase_views.sql").read_text())


def downgrade() -> None:
    op.execute("DROP SCHEMA ase CASCADE")
    op.execute((_VIEWS / "0002_ase_views.sql").read_text())
