"""The converged occupied orbitals of one SCF: all that partitioning needs, kept so that a new
scheme on a labelled molecule costs no new SCF.

Stored as a compressed ``.npz`` (float64, bit-exact): per channel (one restricted, two for
alpha/beta) the coefficients (nao, nocc) and orbital energies (nocc,), Hartree.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import numpy as np

from atomloop.qm.blocks import degenerate_mask
from atomloop.qm.partition import Channel

FORMAT = "npz-occupied-v1"


@dataclass(frozen=True)
class OccupiedOrbitals:
    """Occupied orbitals per channel: ``coefficients[c]`` (nao, nocc_c), ``energies[c]`` (nocc_c,)
    in Hartree, ``occupation`` electrons per orbital (2 restricted, 1 unrestricted)."""

    coefficients: tuple[np.ndarray, ...]
    energies: tuple[np.ndarray, ...]
    occupation: float

    @classmethod
    def from_mean_field(cls, mf) -> OccupiedOrbitals:
        """The occupied orbitals of a converged PySCF mean field (RHF/RKS or UHF/UKS)."""
        from pyscf import scf

        if isinstance(mf, scf.uhf.UHF):
            spins = list(zip(mf.mo_coeff, mf.mo_occ, mf.mo_energy))
            occupation = 1.0
        else:
            spins = [(mf.mo_coeff, mf.mo_occ, mf.mo_energy)]
            occupation = 2.0
        return cls(
            tuple(np.ascontiguousarray(c[:, occ > 0]) for c, occ, _ in spins),
            tuple(np.asarray(e)[occ > 0].copy() for _, occ, e in spins),
            occupation,
        )

    def channels(self) -> list[Channel]:
        """The partitioning's channels; degenerate orbitals are marked free to rotate."""
        return [Channel(c, self.occupation, degenerate_mask(e)) for c, e in zip(self.coefficients, self.energies)]

    def to_bytes(self) -> bytes:
        """Compressed ``.npz`` of the arrays (see :data:`FORMAT`)."""
        arrays = {"occupation": np.array(self.occupation)}
        for index, (coefficients, energies) in enumerate(zip(self.coefficients, self.energies)):
            arrays[f"coefficients_{index}"] = coefficients
            arrays[f"energies_{index}"] = energies
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> OccupiedOrbitals:
        """Inverse of :meth:`to_bytes`."""
        with np.load(io.BytesIO(data)) as arrays:
            count = sum(1 for name in arrays.files if name.startswith("coefficients_"))
            return cls(
                tuple(arrays[f"coefficients_{i}"] for i in range(count)),
                tuple(arrays[f"energies_{i}"] for i in range(count)),
                float(arrays["occupation"]),
            )


def checksum(data: bytes) -> str:
    """sha256 hex of stored orbitals."""
    return hashlib.sha256(data).hexdigest()
