-- Views over transferability studies (see README "Querying the store with SQL").
-- Errors are mean absolute errors on each experiment's test molecules: molecular energies in
-- kcal/mol and meV/atom, atomic energies in kcal/mol and meV.

-- One row per experiment: its matrix cell, training/test sizes, adversarial AUC between its
-- training and test sets (with the bootstrap interval) and its test errors.
CREATE VIEW study_experiments AS
SELECT s.name AS study, e.id AS experiment_id, e.split, e.target, e.scheme, e.atomization,
       e.architecture, e.strategy, e.training_size, e.seed, e.status, e.reason, e.model_id,
       cardinality(e.train_molecule_ids) AS n_train, cardinality(e.test_molecule_ids) AS n_test,
       e.auc, e.auc_low, e.auc_high,
       e.mae_kcal_mol, e.rmse_kcal_mol, e.mae_mev_atom, e.atomic_mae_kcal_mol, e.atomic_mae_mev,
       e.wall_time AS wall_time_s
FROM experiments AS e JOIN studies AS s ON s.id = e.study_id;

-- The spread over seeds: one row per matrix cell without the seed (finished experiments).
CREATE VIEW study_summary AS
SELECT study, split, target, architecture, strategy, training_size,
       count(*) AS n_seeds,
       avg(auc) AS auc_mean,
       avg(mae_kcal_mol) AS mae_kcal_mol_mean, stddev_samp(mae_kcal_mol) AS mae_kcal_mol_std,
       avg(mae_mev_atom) AS mae_mev_atom_mean, stddev_samp(mae_mev_atom) AS mae_mev_atom_std,
       avg(atomic_mae_mev) AS atomic_mae_mev_mean, stddev_samp(atomic_mae_mev) AS atomic_mae_mev_std
FROM study_experiments
WHERE status = 'done'
GROUP BY study, split, target, architecture, strategy, training_size;

-- Atomic-energy errors per element (atomic and atomization targets), one row per experiment and element.
CREATE VIEW study_element_errors AS
SELECT x.study, x.experiment_id, x.split, x.target, x.architecture, x.strategy, x.training_size, x.seed,
       r.key AS element, r.n_atoms, r.atomic_mae_kcal_mol, r.atomic_mae_mev
FROM experiment_errors AS r JOIN study_experiments AS x ON x.experiment_id = r.experiment_id
WHERE r.kind = 'element';

-- Errors per functional group of the test molecules, one row per experiment and group.
CREATE VIEW study_group_errors AS
SELECT x.study, x.experiment_id, x.split, x.target, x.architecture, x.strategy, x.training_size, x.seed,
       r.key AS functional_group, r.n_molecules, r.n_atoms, r.mae_kcal_mol, r.mae_mev_atom,
       r.atomic_mae_kcal_mol, r.atomic_mae_mev
FROM experiment_errors AS r JOIN study_experiments AS x ON x.experiment_id = r.experiment_id
WHERE r.kind = 'group';
