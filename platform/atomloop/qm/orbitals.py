"""The converged occupied orbitals of one SCF and its energy-operator blocks: all that
partitioning needs, kept so that a new scheme on a labelled molecule costs no new SCF and no
operator build.

Stored as a compressed ``.npz`` (float64, bit-exact): per channel (one restricted, two for
alpha/beta) the coefficients (nao, nocc) and orbital energies (nocc,), Hartree, and the
:class:`~atomloop.qm.partition.OperatorBlocks` under ``operator_*`` names (format v2). A v1 blob
(orbitals only) still loads; its schemes rebuild the operators from the orbitals.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import numpy as np

from atomloop.qm.blocks import degenerate_mask
from atomloop.qm.partition import Channel, OperatorBlocks

FORMAT = "npz-occupied-v2"
OPERATOR_PREFIX = "operator_"


@dataclass(frozen=True)
class OccupiedOrbitals:
    """Occupied orbitals per channel: ``coefficients[c]`` (nao, nocc_c), ``energies[c]`` (nocc_c,)
    in Hartree, ``occupation`` electrons per orbital (2 restricted, 1 unrestricted);
    ``operators``: the SCF's operator blocks in these orbitals (None until partitioned)."""

    coefficients: tuple[np.ndarray, ...]
    energies: tuple[np.ndarray, ...]
    occupation: float
    operators: OperatorBlocks | None = None

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
        if self.operators is not None:
            arrays.update({OPERATOR_PREFIX + name: value for name, value in self.operators.to_arrays().items()})
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> OccupiedOrbitals:
        """Inverse of :meth:`to_bytes`."""
        with np.load(io.BytesIO(data)) as arrays:
            count = sum(1 for name in arrays.files if name.startswith("coefficients_"))
            operator_arrays = {name.removeprefix(OPERATOR_PREFIX): arrays[name]
                               for name in arrays.files if name.startswith(OPERATOR_PREFIX)}
            return cls(
                tuple(arrays[f"coefficients_{i}"] for i in range(count)),
                tuple(arrays[f"energies_{i}"] for i in range(count)),
                float(arrays["occupation"]),
                OperatorBlocks.from_arrays(operator_arrays, count) if operator_arrays else None,
            )


def checksum(data: bytes) -> str:
    """sha256 hex of stored orbitals."""
    return hashlib.sha256(data).hexdigest()
