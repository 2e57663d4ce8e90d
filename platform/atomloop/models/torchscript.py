"""A trained atomloop model (SchNet) as a TorchScript file for
:class:`atomloop.models.exported.TorchScriptCalculator` (torch, NumPy and ASE only).

The file's module maps ``(positions (N, 3) float64 Å, atom_types (N,) int64, edge_index (2, E)
int64)`` of one molecule to its per-atom energies (N,) float64 in eV (the model's Hartree times
``ase.units.Hartree``); the type names and cutoff travel in the file's extra entry
:data:`~atomloop.models.exported.METADATA_ENTRY`. The module is traced on an example molecule:
SchNet's operations are shape-generic (gathers and scatters over the given edges), so the trace
holds for any number of atoms and edges; the neighbour list stays outside, in the loader.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import torch
from ase import Atoms, units
from torch import nn

from atomloop.models import keys
from atomloop.models.data import atoms_to_graph
from atomloop.models.exported import METADATA_ENTRY
from atomloop.models.networks import AtomEnergyModel


class PerAtomEnergiesEV(nn.Module):
    """One molecule's positions, types and edges -> (N,) per-atom energies, eV."""

    def __init__(self, model: AtomEnergyModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, positions: torch.Tensor, atom_types: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        batch = {
            keys.POSITIONS: positions,
            keys.ATOM_TYPES: atom_types,
            keys.BATCH: torch.zeros_like(atom_types),
            keys.NUM_ATOMS: torch.ones(1, dtype=torch.int64),
            keys.EDGE_INDEX: edge_index,
        }
        return self.model(batch)[keys.ATOMIC_ENERGY] * units.Hartree


def write_torchscript(model: AtomEnergyModel, path: Path, *, example: Atoms, metadata: dict[str, Any]) -> None:
    """Trace ``model`` on ``example`` (a molecule of its elements) and save it to ``path``, with
    ``metadata`` (plus the type names and ``r_max`` in Å) as the file's extra entry."""
    graph = atoms_to_graph(example, model.type_names, model.r_max)
    inputs = (graph[keys.POSITIONS], graph[keys.ATOM_TYPES], graph[keys.EDGE_INDEX])
    entry = {**metadata, "type_names": model.type_names, "r_max": model.r_max}
    with warnings.catch_warnings():
        # The tracer flags unpacking edge_index's fixed first dimension (2) and len() of the
        # one-molecule num_atoms: both are the same for every molecule. (torch 2.13 also marks
        # torch.jit deprecated; it still writes and loads TorchScript.)
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.\w+` is deprecated", category=DeprecationWarning)
        traced = torch.jit.trace(PerAtomEnergiesEV(model.eval()), inputs)
        torch.jit.save(traced, str(path), _extra_files={METADATA_ENTRY: json.dumps(entry)})
