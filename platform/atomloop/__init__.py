"""atomloop: database-centric active learning of atomic energies.

Units used throughout: positions in Ångström, energies in Hartree unless a name says
otherwise (``*_kcal_mol``, ``*_mev_atom``).
"""

__version__ = "0.1.0"
