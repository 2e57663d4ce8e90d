"""Names of the tensors in a batch (one dict of tensors per batch of molecules).

The strings are the ones of ``nequip.data.AtomicDataDict`` so a batch can be handed to a
NequIP ``GraphModel`` unchanged. The model writes its predictions under ``ATOMIC_ENERGY`` and
``TOTAL_ENERGY``; the labels travel under separate ``REF_*`` keys so they are never overwritten.

Shapes: N atoms in the batch, B molecules, E directed edges (i -> j, both directions stored).
"""

from __future__ import annotations

from typing import Final

import torch

POSITIONS: Final[str] = "pos"  # (N, 3) float64, Å
ATOMIC_NUMBERS: Final[str] = "atomic_numbers"  # (N,) int64
ATOM_TYPES: Final[str] = "atom_types"  # (N,) int64, index into the model's type_names
BATCH: Final[str] = "batch"  # (N,) int64, molecule index of each atom
NUM_ATOMS: Final[str] = "num_atoms"  # (B,) int64, atoms per molecule
EDGE_INDEX: Final[str] = "edge_index"  # (2, E) int64, row 0 = centre atom, row 1 = neighbour

ATOMIC_ENERGY: Final[str] = "atomic_energy"  # (N,) float64, Hartree (prediction)
TOTAL_ENERGY: Final[str] = "total_energy"  # (B,) float64, Hartree (prediction)

REF_TOTAL_ENERGY: Final[str] = "ref_total_energy"  # (B,) float64, Hartree (label)
REF_ATOMIC_ENERGY: Final[str] = "ref_atomic_energy"  # (N,) float64, Hartree (label)

Batch = dict[str, torch.Tensor]
