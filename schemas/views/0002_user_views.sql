-- Views for people who query results with SQL (see README "Querying the store").

-- Which molecules are labelled, with which energies (Hartree; kcal/mol = Hartree * 627.5094740631).
CREATE VIEW labelled_molecules AS
SELECT m.id AS molecule_id, m.formula, m.name, m.natoms, m.tags,
       c.id AS calculation_id, c.method, c.basis, c.settings_hash,
       c.total_energy AS total_energy_hartree, c.wall_time AS wall_time_s, c.finished
FROM molecules AS m JOIN calculations AS c ON c.molecule_id = m.id
WHERE c.status = 'done';

-- Calculations that failed, with their reason.
CREATE VIEW failed_calculations AS
SELECT c.id AS calculation_id, m.id AS molecule_id, m.formula, c.method, c.basis,
       c.attempts, c.reason, c.finished
FROM calculations AS c JOIN molecules AS m ON m.id = c.molecule_id
WHERE c.status = 'failed';

-- Atomic energies per element and partition scheme (Hartree).
CREATE VIEW atomic_energies_by_element AS
SELECT c.method, c.basis, a.scheme, a.atomic_number,
       count(*) AS n_atoms,
       avg(a.energy) AS mean_energy_hartree,
       stddev_samp(a.energy) AS std_energy_hartree,
       min(a.energy) AS min_energy_hartree,
       max(a.energy) AS max_energy_hartree,
       avg(a.atomization) AS mean_atomization_hartree
FROM atomic_energies AS a JOIN calculations AS c ON c.id = a.calculation_id
WHERE c.status = 'done'
GROUP BY c.method, c.basis, a.scheme, a.atomic_number;

-- Model metrics per round: one row per (model, split, quantity, metric). Quantity is
-- 'energy' (molecular energies; metrics mae_kcal_mol, rmse_kcal_mol, mae_mev_atom, ...) or
-- 'atomic:<element>' (atomic energies of that element; mae_kcal_mol, mae_mev).
CREATE VIEW model_metrics_by_round AS
WITH per_split AS (
    SELECT mo.id AS model_id, s.key AS split, s.value AS metrics
    FROM models AS mo CROSS JOIN LATERAL jsonb_each(mo.metrics) AS s
    WHERE jsonb_typeof(s.value) = 'object'
), flattened AS (
    SELECT p.model_id, p.split, 'energy' AS quantity, m.key AS metric, m.value
    FROM per_split AS p CROSS JOIN LATERAL jsonb_each(coalesce(p.metrics -> 'energy', '{}'::jsonb)) AS m
    UNION ALL
    SELECT p.model_id, p.split, 'atomic:' || e.key, m.key, m.value
    FROM per_split AS p
    CROSS JOIN LATERAL jsonb_each(coalesce(p.metrics -> 'atomic', '{}'::jsonb)) AS e
    CROSS JOIN LATERAL jsonb_each(e.value) AS m
)
SELECT r.run_id, r.index AS round_index, mo.id AS model_id, mo.architecture, mo.target, mo.scheme,
       cardinality(mo.training_molecule_ids) AS n_train,
       f.split, f.quantity, f.metric, (f.value #>> '{}')::double precision AS value
FROM flattened AS f
JOIN models AS mo ON mo.id = f.model_id
LEFT JOIN rounds AS r ON r.id = mo.round_id
WHERE jsonb_typeof(f.value) = 'number';
