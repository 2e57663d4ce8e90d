"""The molecules a study runs on: those tagged with its dataset tag. Two datasets are built on
first use from data shipped with atomloop and its dependencies.

``qm9-labelled``: the labelled QM9 set (:mod:`atomloop.datasets.qm9_labelled`), with its HF/6-31G*
labels (totals and atomic energies of ao-eda, mo-pm-iao, mo-fb-iao), so nothing is recomputed.

``larger-labelled``: the shipped molecules larger than QM9's (:mod:`atomloop.datasets.larger_labelled`,
10 to 16 heavy atoms, the same HF/6-31G* labels): the test side of the ``larger-molecules``
split (:func:`larger_molecule_ids`), or a dataset of its own.

``organic`` (the default; labelled by the study):

- atomloop's organic SMILES (164 molecules in 15 functional-group classes, tagged with their
  class), ``DEFAULT_CONFORMERS`` RDKit conformers each (identical embeddings are stored once);
- the closed-shell, neutral molecules of ASE's G2 collection made of H, C, N, O, F and Cl
  (88 molecules, group ``other``).
"""

from __future__ import annotations

from ase import Atoms
from sqlalchemy import Engine

from atomloop.db.engine import session_scope
from atomloop.errors import InputError
from atomloop.ingest import ingest_atoms, ingest_source
from atomloop.ingest.sources import own_label_level
from atomloop.store.molecules import tagged_ids

DEFAULT_DATASET = "organic"
QM9_LABELLED = "qm9-labelled"
LARGER_LABELLED = "larger-labelled"
# shipped sets ingested with their own labels on first use, tagged with their name
SHIPPED_LABELLED = (QM9_LABELLED, LARGER_LABELLED)
DEFAULT_CONFORMERS = 2
G2_ELEMENTS = frozenset({"H", "C", "N", "O", "F", "Cl"})


def closed_shell_g2() -> list[Atoms]:
    """G2 molecules without unpaired electrons or net spin, of elements ``G2_ELEMENTS``."""
    from ase.collections import g2

    chosen = []
    for name in g2.names:
        atoms = g2[name]
        if atoms.get_initial_magnetic_moments().any() or atoms.numbers.sum() % 2:
            continue
        if set(atoms.get_chemical_symbols()) <= G2_ELEMENTS:
            atoms.info["name"] = name
            chosen.append(atoms)
    return chosen


def second_basis_level(engine: Engine, tag: str, molecule_ids: list[int]) -> str | None:
    """The settings hash of the shipped second-basis labels of ``qm9-labelled`` (ingested on
    first use: the same structures, so the same molecules; untagged, so a molecule that did
    not match would stay out of the dataset), or None for another dataset or while none is shipped.
    ``molecule_ids``: the dataset's molecules (:func:`dataset_molecule_ids`)."""
    from atomloop.datasets.qm9_labelled import SECOND_BASIS
    from atomloop.store.labels import labelled_subset

    if tag != QM9_LABELLED or not any(SECOND_BASIS.data_dir.glob("chunk-*.extxyz.gz")):
        return None
    level = SECOND_BASIS.level.settings_hash
    with session_scope(engine) as session:
        present = labelled_subset(session, molecule_ids, level)
    if not present:
        spec = f"atomloop:{SECOND_BASIS.name}"
        ingest_source(spec, labels=own_label_level(spec), engine=engine, progress=True)
    return level


def dataset_molecule_ids(engine: Engine, tag: str) -> list[int]:
    """Ids of the molecules tagged ``tag`` (ascending); the default dataset is ingested on first use."""
    with session_scope(engine) as session:
        ids = tagged_ids(session, tag)
    if ids:
        return ids
    if tag in SHIPPED_LABELLED:
        spec = f"atomloop:{tag}"
        report = ingest_source(spec, labels=own_label_level(spec), tags=[tag], engine=engine, progress=True)
        return sorted(report.molecule_ids)
    if tag != DEFAULT_DATASET:
        raise InputError(f"no molecules tagged {tag!r}; ingest some first (atomloop ingest SOURCE --tag {tag})")
    organic = ingest_source("atomloop:organic", tags=[tag], conformers=DEFAULT_CONFORMERS, engine=engine, progress=True)
    g2 = ingest_atoms(closed_shell_g2(), source="ase:g2", tags=[tag], engine=engine)
    return sorted(set(organic.molecule_ids) | set(g2.molecule_ids))


def larger_molecule_ids(engine: Engine, dataset_ids: list[int]) -> list[int]:
    """Ids of the larger set's molecules (tagged ``larger-labelled``; ``atomloop:larger-labelled``
    ingested with its labels on first use) that are not among ``dataset_ids``, ascending. Chunks
    shipped after the first use join with ``atomloop ingest atomloop:larger-labelled --labels
    --tag larger-labelled``."""
    present = set(dataset_ids)
    return [i for i in dataset_molecule_ids(engine, LARGER_LABELLED) if i not in present]
