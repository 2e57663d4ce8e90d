"""ASE ``Atoms`` -> graphs -> batches of tensors (keys in :mod:`atomloop.models.keys`).

Labels are read from ``atoms.info["energy"]`` (molecular energy, Hartree) and
``atoms.arrays["atomic_energies"]`` (per-atom energies, Hartree, shape (natoms,)); either may be
absent (unlabelled pool molecules). Neighbour lists are built once per molecule, vectorized in
torch over all atom pairs of each molecule (no Python loop over pairs); molecules are never
periodic.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from ase import Atoms
from ase.data import atomic_numbers, chemical_symbols

from atomloop.errors import InputError
from atomloop.models import keys
from atomloop.models.names import ATOMIC_ENERGIES_ARRAY_KEY, ENERGY_INFO_KEY


def type_names_for(atoms_list: Sequence[Atoms]) -> list[str]:
    """Element symbols present in ``atoms_list``, sorted by atomic number."""
    numbers = sorted({int(z) for atoms in atoms_list for z in atoms.numbers})
    return [chemical_symbols[z] for z in numbers]


def neighbour_list(positions: torch.Tensor, num_atoms: torch.Tensor, r_max: float) -> torch.Tensor:
    """Directed edges (i, j), i != j, |r_j - r_i| < ``r_max`` (Å) within each molecule.

    ``positions``: (N, 3), atoms of consecutive molecules concatenated; ``num_atoms``: (B,).
    Returns ``edge_index`` (2, E), int64. Cost O(sum n_b^2), all in tensor operations.
    """
    starts = torch.cumsum(num_atoms, 0) - num_atoms
    pair_counts = num_atoms * num_atoms
    molecule = torch.repeat_interleave(torch.arange(len(num_atoms)), pair_counts)
    first_pair = torch.cumsum(pair_counts, 0) - pair_counts
    local = torch.arange(int(pair_counts.sum())) - first_pair[molecule]
    size = num_atoms[molecule]
    i = starts[molecule] + torch.div(local, size, rounding_mode="floor")
    j = starts[molecule] + local % size
    distance = (positions[j] - positions[i]).norm(dim=1)
    keep = (i != j) & (distance < r_max)
    return torch.stack([i[keep], j[keep]])


def _atom_types(atoms: Atoms, type_names: Sequence[str]) -> torch.Tensor:
    index = {atomic_numbers[name]: k for k, name in enumerate(type_names)}
    unknown = sorted({chemical_symbols[z] for z in atoms.numbers if int(z) not in index})
    if unknown:
        raise InputError(
            f"{atoms.get_chemical_formula()}: element(s) {', '.join(unknown)} unknown to the model "
            f"(it knows {', '.join(type_names)})"
        )
    return torch.tensor([index[int(z)] for z in atoms.numbers], dtype=torch.int64)


def atoms_to_graph(atoms: Atoms, type_names: Sequence[str], r_max: float) -> keys.Batch:
    """One molecule as a single-molecule batch, with its labels when ``atoms`` carries them."""
    positions = torch.as_tensor(np.asarray(atoms.positions), dtype=torch.float64)
    num_atoms = torch.tensor([len(atoms)], dtype=torch.int64)
    graph: keys.Batch = {
        keys.POSITIONS: positions,
        keys.ATOMIC_NUMBERS: torch.as_tensor(np.asarray(atoms.numbers), dtype=torch.int64),
        keys.ATOM_TYPES: _atom_types(atoms, type_names),
        keys.BATCH: torch.zeros(len(atoms), dtype=torch.int64),
        keys.NUM_ATOMS: num_atoms,
        keys.EDGE_INDEX: neighbour_list(positions, num_atoms, r_max),
    }
    if ENERGY_INFO_KEY in atoms.info:
        graph[keys.REF_TOTAL_ENERGY] = torch.tensor([float(atoms.info[ENERGY_INFO_KEY])], dtype=torch.float64)
    if ATOMIC_ENERGIES_ARRAY_KEY in atoms.arrays:
        graph[keys.REF_ATOMIC_ENERGY] = torch.as_tensor(
            np.asarray(atoms.arrays[ATOMIC_ENERGIES_ARRAY_KEY], dtype=np.float64)
        )
    return graph


def atoms_to_graphs(atoms_list: Sequence[Atoms], type_names: Sequence[str], r_max: float) -> list[keys.Batch]:
    """:func:`atoms_to_graph` for every molecule."""
    return [atoms_to_graph(atoms, type_names, r_max) for atoms in atoms_list]


def collate(graphs: Sequence[keys.Batch]) -> keys.Batch:
    """Concatenate single-molecule graphs into one batch (atom and molecule indices shifted).

    Label keys are kept only when every graph has them.
    """
    num_atoms = torch.cat([g[keys.NUM_ATOMS] for g in graphs])
    offsets = torch.cumsum(num_atoms, 0) - num_atoms
    batch: keys.Batch = {
        keys.NUM_ATOMS: num_atoms,
        keys.BATCH: torch.repeat_interleave(torch.arange(len(graphs)), num_atoms),
        keys.EDGE_INDEX: torch.cat([g[keys.EDGE_INDEX] + offset for g, offset in zip(graphs, offsets.tolist())], dim=1),
    }
    for key in (keys.POSITIONS, keys.ATOMIC_NUMBERS, keys.ATOM_TYPES, keys.REF_TOTAL_ENERGY, keys.REF_ATOMIC_ENERGY):
        if all(key in g for g in graphs):
            batch[key] = torch.cat([g[key] for g in graphs])
    return batch


def to_device(batch: keys.Batch, device: torch.device) -> keys.Batch:
    """The batch with every tensor on ``device``."""
    return {key: value.to(device, non_blocking=True) for key, value in batch.items()}


def iterate_batches(
    graphs: Sequence[keys.Batch],
    batch_size: int,
    *,
    generator: torch.Generator | None = None,
) -> Iterator[keys.Batch]:
    """Batches of ``batch_size`` molecules, shuffled when a ``generator`` is given."""
    order = torch.randperm(len(graphs), generator=generator).tolist() if generator is not None else list(range(len(graphs)))
    for start in range(0, len(order), batch_size):
        yield collate([graphs[k] for k in order[start : start + batch_size]])
