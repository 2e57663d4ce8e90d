-- Read-only views in schema "ase" that ASE's PostgreSQL backend (ase-db-backends, schema
-- version 9) reads as its own tables, so `ase db "$(atomloop db ase-url)"` browses the live
-- store (revision 0008; 0002_ase_views.sql is the schema before it). Column order of "systems"
-- is ASE's: its backend reads rows by position. ctime uses ASE's epoch constant
-- T2000 = 946681200 s. Energies: ASE's convention, eV (1 Hartree = 27.211386245988 eV); keys
-- ending in _hartree keep Hartree.
--
-- row.data of a labelled molecule (its latest finished calculation) holds, per partition scheme
-- with a complete set of atomic energies, "atomic_energies_<scheme>_hartree" (Hartree, one per
-- atom) and "energies": ASE's per-atom energies in eV of one scheme, mo-pm-iao when stored (the
-- loop's default training scheme), else the first stored scheme by name; the key-value pair
-- energies_scheme names it. Arrays use ASE's JSON encoding {"__ndarray__": [shape, dtype, flat]}.
--
-- split: where the molecule stands in its latest dataset (for a run, "run:<name>"): train (a
-- model of the run was trained on it; train_run, train_round: the run and the first round),
-- selected (picked in round selected_round, not yet trained on), test, ood (the dataset's
-- ood_test), pool, or the dataset's own split otherwise.
--
-- Every view refuses INSERT, UPDATE and DELETE with one sentence when the transaction commits
-- (SQLSTATE 25006, read only; see refused_writes below).
CREATE SCHEMA ase;

CREATE FUNCTION ase.ndarray(vals double precision[], factor double precision DEFAULT 1.0) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT jsonb_build_object('__ndarray__', jsonb_build_array(
    jsonb_build_array(cardinality(vals)), 'float64',
    COALESCE((SELECT jsonb_agg(v * factor ORDER BY i) FROM unnest(vals) WITH ORDINALITY AS u (v, i)), '[]'::jsonb)))
$$;

CREATE VIEW ase.latest_labels AS
SELECT DISTINCT ON (c.molecule_id) c.molecule_id, c.method, c.basis, c.total_energy, c.id AS calculation_id
FROM public.calculations AS c
WHERE c.status = 'done'
ORDER BY c.molecule_id, c.finished DESC NULLS LAST, c.id DESC;

CREATE VIEW ase.latest_splits AS
SELECT DISTINCT ON (dm.molecule_id) dm.molecule_id, d.name AS dataset, dm.split, r.id AS run_id, r.name AS run
FROM public.dataset_members AS dm
JOIN public.datasets AS d ON d.id = dm.dataset_id
LEFT JOIN public.runs AS r ON d.name = 'run:' || r.name
ORDER BY dm.molecule_id, d.created DESC, d.id DESC;

-- the first round of each run whose model (status done) was trained on the molecule
CREATE VIEW ase.run_trainings AS
SELECT DISTINCT ON (t.molecule_id, r.run_id) t.molecule_id, r.run_id, r.index AS round_index
FROM public.models AS mo
JOIN public.rounds AS r ON r.id = mo.round_id,
     unnest(mo.training_molecule_ids) AS t (molecule_id)
WHERE r.run_id IS NOT NULL AND mo.status = 'done'
ORDER BY t.molecule_id, r.run_id, r.index;

-- the first round of each run that selected the molecule (round 0: the initial training set)
CREATE VIEW ase.run_selections AS
SELECT DISTINCT ON (s.molecule_id, r.run_id) s.molecule_id, r.run_id, r.index AS round_index
FROM public.selections AS s
JOIN public.rounds AS r ON r.id = s.round_id
WHERE r.run_id IS NOT NULL
ORDER BY s.molecule_id, r.run_id, r.index;

CREATE VIEW ase.standing AS
SELECT s.molecule_id, s.dataset, s.run,
       CASE WHEN t.round_index IS NOT NULL THEN 'train'
            WHEN p.round_index IS NOT NULL THEN 'selected'
            WHEN s.split = 'ood_test' THEN 'ood'
            ELSE s.split END AS split,
       t.round_index AS train_round,
       CASE WHEN t.round_index IS NULL THEN p.round_index END AS selected_round
FROM ase.latest_splits AS s
LEFT JOIN ase.run_trainings AS t ON t.molecule_id = s.molecule_id AND t.run_id = s.run_id
LEFT JOIN ase.run_selections AS p ON p.molecule_id = s.molecule_id AND p.run_id = s.run_id;

-- The atomic energies of one calculation (Hartree, by atom index) per scheme with every one of
-- its natoms atoms, and the scheme's rank for ASE's "energies" (1: mo-pm-iao, then by name).
-- The views call it per row (LATERAL), so `ase db` reading 20 rows or one id reads only theirs.
CREATE FUNCTION ase.scheme_energies(calculation bigint, natoms integer)
RETURNS TABLE (scheme text, hartree double precision[], preference bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT e.scheme, e.hartree, row_number() OVER (ORDER BY e.scheme <> 'mo-pm-iao', e.scheme)
FROM (SELECT a.scheme::text AS scheme, array_agg(a.energy ORDER BY a.atom_index) AS hartree
      FROM public.atomic_energies AS a
      WHERE a.calculation_id = calculation
      GROUP BY a.scheme
      HAVING count(*) = natoms) AS e
$$;

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
           'train_run', CASE WHEN s.train_round IS NOT NULL THEN s.run END,
           'train_round', s.train_round,
           'selected_round', s.selected_round,
           'method', l.method,
           'basis', l.basis,
           'energy_hartree', l.total_energy,
           'energies_scheme', d.energies_scheme,
           'atomic_energy_schemes', d.schemes
       )) AS kvp
FROM public.molecules AS m
LEFT JOIN ase.latest_labels AS l ON l.molecule_id = m.id
LEFT JOIN ase.standing AS s ON s.molecule_id = m.id
LEFT JOIN LATERAL (
    SELECT min(e.scheme) FILTER (WHERE e.preference = 1) AS energies_scheme,
           string_agg(e.scheme, ',' ORDER BY e.scheme) AS schemes
    FROM ase.scheme_energies(l.calculation_id, m.natoms) AS e
) AS d ON true;

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
       COALESCE(d.data, '{}'::jsonb) AS data,
       m.natoms AS natoms,
       NULL::double precision AS fmax,
       NULL::double precision AS smax,
       NULL::double precision AS volume,
       NULL::double precision AS mass,
       m.charge::double precision AS charge
FROM public.molecules AS m
JOIN ase.key_value_pairs AS k ON k.id = m.id
LEFT JOIN ase.latest_labels AS l ON l.molecule_id = m.id
LEFT JOIN LATERAL (
    SELECT jsonb_object_agg('atomic_energies_' || e.scheme || '_hartree', ase.ndarray(e.hartree))
           || jsonb_build_object('energies', (jsonb_agg(ase.ndarray(e.hartree, 27.211386245988))
                                             FILTER (WHERE e.preference = 1)) -> 0) AS data
    FROM ase.scheme_energies(l.calculation_id, m.natoms) AS e
) AS d ON true;

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

-- ASE's metadata: title, default_columns and key_descriptions ({key: [short, long, unit]}, the
-- format ASE's database projects use); `atomloop db browse` shows them.
CREATE VIEW ase.information AS
SELECT * FROM (VALUES ('version', '9'), ('metadata', $json${
  "title": "atomloop molecules (live, read-only)",
  "default_columns": ["id", "formula", "name", "split", "energy"],
  "key_descriptions": {
    "name": ["Name", "Molecule name given at ingest", ""],
    "source": ["Source", "Where the molecule was ingested from", ""],
    "tag_list": ["Tags", "The molecule's tags, comma-separated", ""],
    "smiles": ["SMILES", "SMILES string", ""],
    "multiplicity": ["Multiplicity", "Spin multiplicity 2S+1", ""],
    "split": ["Split", "Where the molecule stands in its latest dataset: train, selected, test, ood or pool", ""],
    "dataset": ["Dataset", "The molecule's latest dataset (run:<name> for an active-learning run)", ""],
    "train_run": ["Training run", "The run whose models were trained on the molecule", ""],
    "train_round": ["Training round", "The first round of train_run whose models were trained on the molecule", ""],
    "selected_round": ["Selected in round", "The round that selected the molecule (no model trained on it yet)", ""],
    "method": ["Method", "QM method of the latest label", ""],
    "basis": ["Basis", "Basis set of the latest label", ""],
    "energy": ["Energy", "Total energy of the latest label, ASE's convention", "eV"],
    "energy_hartree": ["Energy (Ha)", "Total energy of the latest label", "Ha"],
    "energies_scheme": ["Scheme of energies", "Partition scheme of the per-atom energies (data 'energies', eV)", ""],
    "atomic_energy_schemes": ["Atomic-energy schemes", "Partition schemes with atomic energies in the row's data (data 'atomic_energies_<scheme>_hartree', Ha)", ""]
  }
}$json$)) AS info (name, value);

-- Writes are refused at commit, not at the statement: ASE's backend wraps `ase db -k` in a block
-- whose error path calls a rollback its connection lacks, so a statement's error would surface
-- as "AttributeError: 'Connection' object has no attribute 'rollback'". Every INSERT, UPDATE
-- or DELETE on a view notes itself in refused_writes (a row trigger for the rows, a statement
-- trigger for a statement that matches none), and a deferred trigger there fails the commit
-- with one sentence (SQLSTATE 25006, read only): nothing is written, refused_writes stays empty.
-- systems_id_seq lets a new row's write reach its commit (ASE reads it after its INSERT).
CREATE SEQUENCE ase.systems_id_seq;
CREATE TABLE ase.refused_writes (view_name text NOT NULL);

CREATE FUNCTION ase.note_refused_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ase.refused_writes (view_name) VALUES (TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE FUNCTION ase.refuse_writes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'read_only_sql_transaction', MESSAGE =
        'the atomloop store is read-only through ASE; use atomloop ingest to add molecules and atomloop label to label them';
END
$$;

CREATE CONSTRAINT TRIGGER refuse_writes AFTER INSERT ON ase.refused_writes
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ase.refuse_writes();

DO $$
DECLARE view_name text;
BEGIN
    FOREACH view_name IN ARRAY ARRAY['systems', 'species', 'keys', 'text_key_values', 'number_key_values', 'information']
    LOOP
        EXECUTE 'CREATE TRIGGER note_refused_write INSTEAD OF INSERT OR UPDATE OR DELETE ON ase.'
             || quote_ident(view_name) || ' FOR EACH ROW EXECUTE FUNCTION ase.note_refused_write()';
        EXECUTE 'CREATE TRIGGER note_refused_statement BEFORE INSERT OR UPDATE OR DELETE ON ase.'
             || quote_ident(view_name) || ' FOR EACH STATEMENT EXECUTE FUNCTION ase.note_refused_write()';
    END LOOP;
END
$$;
