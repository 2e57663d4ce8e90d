"""Unit conversions shared by every module (from ASE's CODATA constants), importable without torch."""

from ase import units

HARTREE_TO_KCAL_PER_MOL = units.Hartree / (units.kcal / units.mol)  # 627.51 kcal/mol per Hartree
HARTREE_TO_MEV = units.Hartree * 1000.0  # 27211.4 meV per Hartree
