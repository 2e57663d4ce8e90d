"""The store: every table (:mod:`atomloop.store.tables`) and every query of atomloop.

Domain packages (``qm``, ``select``, ``models``, the study's computing modules) compute on
plain objects; the modules here turn rows into ASE ``Atoms``, arrays and dataclasses and back.
"""

from atomloop.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "MoleculeRecord": ".molecules",
    "load_atoms": ".molecules",
    "molecule_to_atoms": ".molecules",
    "record_from_atoms": ".molecules",
    "records_from_atoms": ".molecules",
})

__all__ = ["MoleculeRecord", "load_atoms", "molecule_to_atoms", "record_from_atoms", "records_from_atoms"]
