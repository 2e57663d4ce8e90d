"""Resource limits: a molecule too large to label is refused before its SCF starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from atomloop.qm.settings import QMSettings

if TYPE_CHECKING:
    from ase import Atoms

# Dense (nao, nao) float64 matrices alive at once in an SCF + partitioning (Fock, density,
# DIIS history, J/K, energy operators); measured peaks stay below this many.
_DENSE_MATRICES = 60
# Grid points per basis function held in one DFT block (PySCF's default block sizes).
_GRID_VALUES_PER_AO = 4 * 12_000


@dataclass(frozen=True)
class ResourceLimits:
    """Largest molecule a worker accepts: atoms, basis functions, estimated memory (MB)."""

    max_atoms: int = 200
    max_basis_functions: int = 2000
    max_memory_mb: float = 4000.0


def estimated_memory_mb(nao: int, settings: QMSettings, naux: int = 0) -> float:
    """A conservative estimate of the working memory (MB) of one direct SCF + partitioning."""
    dense = _DENSE_MATRICES * nao * nao * 8
    grid = _GRID_VALUES_PER_AO * nao * 8 if settings.is_dft else 0
    fitted = naux * nao * (nao + 1) // 2 * 8 if settings.density_fit else 0
    return (dense + grid + fitted) / 1e6


def refusal_reason(atoms: Atoms, settings: QMSettings, limits: ResourceLimits) -> str | None:
    """Why ``atoms`` exceed ``limits`` (a sentence), or None if they fit."""
    natoms = len(atoms)
    if natoms > limits.max_atoms:
        return f"refused: {natoms} atoms > max_atoms {limits.max_atoms}"
    from atomloop.qm.scf import build_molecule  # PySCF: imported when a molecule is checked

    mol = build_molecule(atoms, settings)
    if mol.nao > limits.max_basis_functions:
        return f"refused: {mol.nao} basis functions in {settings.basis} > max_basis_functions {limits.max_basis_functions}"
    naux = 0
    if settings.density_fit:
        from pyscf import df

        naux = df.make_auxmol(mol, settings.auxbasis or df.make_auxbasis(mol)).nao
    memory = estimated_memory_mb(mol.nao, settings, naux)
    if memory > limits.max_memory_mb:
        return f"refused: estimated {memory:.0f} MB > max_memory_mb {limits.max_memory_mb:.0f}"
    return None
