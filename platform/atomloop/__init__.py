"""atomloop: database-centric active learning of atomic energies.

Units used throughout: positions in Ångström, energies in Hartree unless a name says
otherwise (``*_kcal_mol``, ``*_mev_atom``).
"""

from atomloop.lazy import lazy_exports

__version__ = "0.1.0"

__getattr__, __dir__ = lazy_exports(__name__, {"training_set": ".datasets.runs"})

__all__ = ["training_set"]
