-- Read-only views in schema "ase" that ASE's PostgreSQL backend (ase-db-backends, schema
-- version 9) reads as its own tables, so `ase db "$(atomloop db ase-url)"` browses the live
-- store. Column order of "systems" is ASE's: its backend reads rows by position.
-- ctime uses ASE's epoch constant T2000 = 946681200 s. Energies: ASE's convention, eV (1 Hartree = 27.211386245988 eV); key energy_hartree keeps Hartree.
CREATE SCHEMA ase;

CREATE VIEW ase.latest_labels AS
SELECT DISTINCT ON (c.molecule_id) c.molecule_id, c.method, c.basis, c.total_energy
FROM public.calculations AS c
WHERE c.status = 'done'
ORDER BY c.molecule_id, c.finished DESC NULLS LAST, c.id DESC;

CREATE VIEW ase.latest_splits AS
SELECT DISTINCT ON (dm.molecule_id) dm.molecule_id, d.name AS dataset, dm.split
FROM public.dataset_members AS dm JOIN public.datasets AS d ON d.id = dm.dataset_id
ORDER BY dm.molecule_id, d.created DESC, d.id DESC;

CREATE VIEW ase.key_value_pairs AS
SELECT m.id,
       jsonb_strip_nulls(jsonb_build_object(
           'name', m.name,
           'source', m.source,
           'tag_list', array_to_string(m.tags, ','),  -- 'tags' is an ASE atoms array name
           'smiles', m.smiles,
           'multiplicity', m.multiplicity,
           'split', s.split,
           'dataset', s.dataset,
           'method', l.method,
           'basis', l.basis,
           'energy_hartree', l.total_energy
       )) AS kvp
FROM public.molecules AS m
LEFT JOIN ase.latest_labels AS l ON l.molecule_id = m.id
LEFT JOIN ase.latest_splits AS s ON s.molecule_id = m.id;

CREATE VIEW ase.systems AS
SELECT m.id::integer AS id,
       m.structure_hash AS unique_id,
       ((extract(epoch FROM m.created) - 946681200.0) / 31557600.0)::double precision AS ctime,
       ((extract(epoch FROM m.created) - 946681200.0) / 31557600.0)::double precision AS mtime,
       'atomloop'::text AS username,
       m.numbers::integer[] AS numbers,
       m.positions AS positions,
       '{{0,0,0},{0,0,0},{0,0,0}}'::double precision[][] AS cell,
       0 AS pbc,
       NULL::double precision[] AS initial_magmoms,
       NULL::double precision[] AS initial_charges,
       NULL::double precision[] AS masses,
       NULL::integer[] AS tags,
       NULL::double precision[][] AS momenta,
       NULL::text AS constraints,
       NULL::text AS calculator,
       NULL::jsonb AS calculator_parameters,
       l.total_energy * 27.211386245988 AS energy,
       NULL::double precision AS free_energy,
       NULL::double precision[][] AS forces,
       NULL::double precision[] AS stress,
       NULL::double precision[] AS dipole,
       NULL::double precision[] AS magmoms,
       NULL::double precision AS magmom,
       NULL::double precision[] AS charges,
       k.kvp AS key_value_pairs,
       '{}'::jsonb AS data,
       m.natoms AS natoms,
       NULL::double precision AS fmax,
       NULL::double precision AS smax,
       NULL::double precision AS volume,
       NULL::double precision AS mass,
       m.charge::double precision AS charge
FROM public.molecules AS m
JOIN ase.key_value_pairs AS k ON k.id = m.id
LEFT JOIN ase.latest_labels AS l ON l.molecule_id = m.id;

CREATE VIEW ase.species AS
SELECT z::integer AS "Z", count(*)::integer AS n, m.id::integer AS id
FROM public.molecules AS m, unnest(m.numbers) AS z
GROUP BY m.id, z;

CREATE VIEW ase.keys AS
SELECT key, k.id::integer AS id FROM ase.key_value_pairs AS k, jsonb_object_keys(k.kvp) AS key;

CREATE VIEW ase.text_key_values AS
SELECT e.key, e.value #>> '{}' AS value, k.id::integer AS id
FROM ase.key_value_pairs AS k, jsonb_each(k.kvp) AS e
WHERE jsonb_typeof(e.value) = 'string';

CREATE VIEW ase.number_key_values AS
SELECT e.key, (e.value #>> '{}')::double precision AS value, k.id::integer AS id
FROM ase.key_value_pairs AS k, jsonb_each(k.kvp) AS e
WHERE jsonb_typeof(e.value) = 'number';

CREATE VIEW ase.information AS
SELECT * FROM (VALUES ('version', '9'), ('metadata', '{}')) AS info (name, value);
