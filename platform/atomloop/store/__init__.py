"""Molecules in and out of the store as ASE ``Atoms``."""

from atomloop.store.molecules import (
    MoleculeRecord,
    load_atoms,
    molecule_to_atoms,
    record_from_atoms,
    records_from_atoms,
)

__all__ = ["MoleculeRecord", "load_atoms", "molecule_to_atoms", "record_from_atoms", "records_from_atoms"]
