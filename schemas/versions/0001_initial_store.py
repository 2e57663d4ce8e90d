"""initial store

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 02:46:09.205471
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('datasets',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('molecules',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('numbers', postgresql.ARRAY(sa.SmallInteger()), nullable=False),
    sa.Column('positions', postgresql.ARRAY(sa.Double(), dimensions=2), nullable=False, comment='Cartesian positions, Å, shape (natoms, 3)'),
    sa.Column('natoms', sa.Integer(), nullable=False),
    sa.Column('charge', sa.Integer(), nullable=False),
    sa.Column('multiplicity', sa.Integer(), nullable=False),
    sa.Column('formula', sa.String(length=200), nullable=False),
    sa.Column('structure_hash', sa.String(length=64), nullable=False),
    sa.Column('composition_hash', sa.String(length=64), nullable=False, comment='same for every conformer of one molecule'),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('smiles', sa.Text(), nullable=True),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('tags', postgresql.ARRAY(sa.Text()), server_default='{}', nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('structure_hash')
    )
    op.create_index(op.f('ix_molecules_composition_hash'), 'molecules', ['composition_hash'], unique=False)
    op.create_index(op.f('ix_molecules_formula'), 'molecules', ['formula'], unique=False)
    op.create_table('runs',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('parameters', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('stop_reason', sa.Text(), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('calculations',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('molecule_id', sa.BigInteger(), nullable=False),
    sa.Column('method', sa.String(length=64), nullable=False),
    sa.Column('basis', sa.String(length=64), nullable=False),
    sa.Column('settings_hash', sa.String(length=64), nullable=False),
    sa.Column('settings', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('program', sa.String(length=32), nullable=False),
    sa.Column('program_version', sa.String(length=32), nullable=True),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', name='calculation_status'), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True, comment='why a calculation failed'),
    sa.Column('total_energy', sa.Double(), nullable=True, comment='Hartree'),
    sa.Column('converged', sa.Boolean(), nullable=True),
    sa.Column('scf_info', postgresql.JSONB(astext_type=sa.Text()), nullable=True, comment='iterations, fallbacks used, stability'),
    sa.Column('wall_time', sa.Double(), nullable=True, comment='seconds'),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('worker', sa.Text(), nullable=True, comment='host:pid that holds or held the calculation'),
    sa.Column('heartbeat', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['molecule_id'], ['molecules.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('molecule_id', 'settings_hash', name='uq_calculation_molecule_settings')
    )
    op.create_index(op.f('ix_calculations_molecule_id'), 'calculations', ['molecule_id'], unique=False)
    op.create_table('dataset_members',
    sa.Column('dataset_id', sa.BigInteger(), nullable=False),
    sa.Column('molecule_id', sa.BigInteger(), nullable=False),
    sa.Column('split', sa.String(length=32), nullable=False, comment='train, valid, test, ood_test, pool'),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['molecule_id'], ['molecules.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dataset_id', 'molecule_id')
    )
    op.create_table('rounds',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=True),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('running', 'done', 'failed', name='round_status'), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=True, comment='last finished step'),
    sa.Column('timings', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id', 'index', name='uq_round_run_index', postgresql_nulls_not_distinct=True)
    )
    op.create_table('adversarial_validations',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('round_id', sa.BigInteger(), nullable=True),
    sa.Column('level', sa.String(length=16), nullable=False, comment='molecule or atom'),
    sa.Column('auc', sa.Double(), nullable=False),
    sa.Column('auc_low', sa.Double(), nullable=False),
    sa.Column('auc_high', sa.Double(), nullable=False),
    sa.Column('n_train', sa.Integer(), nullable=False),
    sa.Column('n_pool', sa.Integer(), nullable=False),
    sa.Column('settings', postgresql.JSONB(astext_type=sa.Text()), nullable=False, comment='classifier and descriptor settings'),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_adversarial_validations_round_id'), 'adversarial_validations', ['round_id'], unique=False)
    op.create_table('atomic_energies',
    sa.Column('calculation_id', sa.BigInteger(), nullable=False),
    sa.Column('scheme', sa.String(length=64), nullable=False),
    sa.Column('atom_index', sa.Integer(), nullable=False),
    sa.Column('atomic_number', sa.SmallInteger(), nullable=False),
    sa.Column('energy', sa.Double(), nullable=False, comment='Hartree'),
    sa.Column('kinetic', sa.Double(), nullable=True),
    sa.Column('nuclear_attraction', sa.Double(), nullable=True),
    sa.Column('coulomb', sa.Double(), nullable=True),
    sa.Column('exchange', sa.Double(), nullable=True),
    sa.Column('xc', sa.Double(), nullable=True),
    sa.Column('nuclear_repulsion', sa.Double(), nullable=True),
    sa.Column('atomization', sa.Double(), nullable=True, comment="energy minus the free atom's energy at the same level, Hartree"),
    sa.ForeignKeyConstraint(['calculation_id'], ['calculations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('calculation_id', 'scheme', 'atom_index')
    )
    op.create_table('models',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('architecture', sa.String(length=32), nullable=False),
    sa.Column('target', sa.String(length=32), nullable=False, comment='total or atomic'),
    sa.Column('scheme', sa.String(length=64), nullable=True, comment='partition scheme of atomic targets'),
    sa.Column('settings_hash', sa.String(length=64), nullable=True, comment='labelling settings of the targets'),
    sa.Column('hyperparameters', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('round_id', sa.BigInteger(), nullable=True),
    sa.Column('training_molecule_ids', postgresql.ARRAY(sa.BigInteger()), nullable=False),
    sa.Column('artifact_path', sa.Text(), nullable=True),
    sa.Column('checksum', sa.String(length=64), nullable=True, comment='sha256 of the artifact'),
    sa.Column('metrics', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('versions', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_models_round_id'), 'models', ['round_id'], unique=False)
    op.create_table('selections',
    sa.Column('round_id', sa.BigInteger(), nullable=False),
    sa.Column('molecule_id', sa.BigInteger(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('score', sa.Double(), nullable=True),
    sa.Column('strategy', sa.String(length=32), nullable=False),
    sa.Column('flagged_atoms', postgresql.ARRAY(sa.Integer()), nullable=True),
    sa.ForeignKeyConstraint(['molecule_id'], ['molecules.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', 'molecule_id')
    )
    op.create_table('ood_scores',
    sa.Column('validation_id', sa.BigInteger(), nullable=False),
    sa.Column('molecule_id', sa.BigInteger(), nullable=False),
    sa.Column('score', sa.Double(), nullable=False, comment='out-of-fold P(pool)'),
    sa.Column('atom_scores', postgresql.ARRAY(sa.Double()), nullable=True),
    sa.Column('flagged_atoms', postgresql.ARRAY(sa.Integer()), nullable=True),
    sa.ForeignKeyConstraint(['molecule_id'], ['molecules.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['validation_id'], ['adversarial_validations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('validation_id', 'molecule_id')
    )
    op.create_table('predictions',
    sa.Column('model_id', sa.BigInteger(), nullable=False),
    sa.Column('molecule_id', sa.BigInteger(), nullable=False),
    sa.Column('split', sa.String(length=32), nullable=False, comment='test, ood_test, train, pool'),
    sa.Column('energy', sa.Double(), nullable=False, comment='Hartree'),
    sa.Column('atomic_energies', postgresql.ARRAY(sa.Double()), nullable=True, comment='Hartree, one per atom'),
    sa.Column('reference_energy', sa.Double(), nullable=True, comment='Hartree'),
    sa.ForeignKeyConstraint(['model_id'], ['models.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['molecule_id'], ['molecules.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'molecule_id')
    )


def downgrade() -> None:
    op.drop_table('predictions')
    op.drop_table('ood_scores')
    op.drop_table('selections')
    op.drop_index(op.f('ix_models_round_id'), table_name='models')
    op.drop_table('models')
    op.drop_table('atomic_energies')
    op.drop_index(op.f('ix_adversarial_validations_round_id'), table_name='adversarial_validations')
    op.drop_table('adversarial_validations')
    op.drop_table('rounds')
    op.drop_table('dataset_members')
    op.drop_index(op.f('ix_calculations_molecule_id'), table_name='calculations')
    op.drop_table('calculations')
    op.drop_table('runs')
    op.drop_index(op.f('ix_molecules_formula'), table_name='molecules')
    op.drop_index(op.f('ix_molecules_composition_hash'), table_name='molecules')
    op.drop_table('molecules')
    op.drop_table('datasets')
    sa.Enum(name='round_status').drop(op.get_bind(), checkfirst=True)
    sa.Enum(name='calculation_status').drop(op.get_bind(), checkfirst=True)
