"""Labelled molecules for the model tests, from atomloop's own labelling engine
(:func:`atomloop.qm.compute`, HF/STO-3G, MO-based Pipek-Mezey/IAO partition, Hartree).

``labelled()`` gives ``Atoms`` with ``info['energy']``, ``arrays['atomic_energies']`` and
``info['atomization_energy']`` (sum of E_A minus the free atoms' energies); results are cached
per process. ``store_labelled()`` puts molecules into the test store and labels them through
the real pipeline (:func:`atomloop.labelling.label_molecules`).
"""

from __future__ import annotations

from functools import lru_cache

from ase import Atoms
from ase.build import molecule

from atomloop.qm import QMSettings, compute

SCHEME = "mo-pm-iao"
QM_SETTINGS = QMSettings(method="hf", basis="sto-3g", schemes=(SCHEME,), atomization=True)
SETTINGS_HASH = QM_SETTINGS.settings_hash
SMALL_MOLECULES = ("H2O", "NH3", "CH4", "HCN", "CO", "H2CO", "C2H2", "C2H4", "CH3OH", "N2")


@lru_cache(maxsize=None)
def _labelled(name: str, rattle_seed: int | None) -> Atoms:
    atoms = molecule(name)
    if rattle_seed is not None:
        atoms.rattle(0.05, seed=rattle_seed)
    result = compute(atoms, QM_SETTINGS)
    atoms.info["energy"] = result.energy
    atoms.info["atomization_energy"] = float(result.atomization[SCHEME].sum())
    atoms.arrays["atomic_energies"] = result.atomic_energies[SCHEME]
    return atoms


def labelled(names=SMALL_MOLECULES, rattle_seed: int | None = None) -> list[Atoms]:
    """Copies of the labelled molecules ``names`` (ASE g2 geometries, optionally rattled by
    0.05 Å with ``rattle_seed``)."""
    return [_labelled(name, rattle_seed).copy() for name in names]


def store_labelled(engine, atoms_list, *, label: bool = True) -> list[int]:
    """Ingest molecules; when ``label``, label them at ``QM_SETTINGS`` through the labelling
    pipeline (done ``Calculation`` rows and ``AtomicEnergy`` rows of ``SCHEME``)."""
    from atomloop.ingest import ingest_atoms
    from atomloop.labelling import label_molecules

    ids = ingest_atoms(atoms_list, source="test", engine=engine).molecule_ids
    if label:
        label_molecules(QM_SETTINGS, engine=engine, molecule_ids=ids, progress=False)
    return ids
