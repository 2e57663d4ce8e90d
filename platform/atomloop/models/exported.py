"""ASE calculator for a model that ``atomloop export-model`` wrote as TorchScript (SchNet).

Needs only torch, NumPy and ASE, not atomloop: the export directory holds a copy of this file
(``atomloop_torchscript.py``), so elsewhere::

    from atomloop_torchscript import TorchScriptCalculator
    atoms.calc = TorchScriptCalculator("model.torchscript.pt")

The TorchScript module maps ``(positions (N, 3) float64 Å, atom_types (N,) int64, edge_index
(2, E) int64)`` to per-atom energies (N,) float64 in eV; ``atom_types`` index the type names
stored in the file and ``edge_index`` holds both directions of every pair closer than ``r_max``
(row 0 the centre atom). This calculator builds them for a molecule (non-periodic) and gives
the energy and per-atom energies in eV and forces F_i = -dE/dr_i in eV/Å (autograd).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.neighborlist import neighbor_list

METADATA_ENTRY = "atomloop.json"  # the file's extra entry: {"type_names": [...], "r_max": Å, ...}


class TorchScriptCalculator(Calculator):
    """Energy (eV), per-atom energies (eV) and forces (eV/Å) of an exported TorchScript model."""

    implemented_properties = ["energy", "free_energy", "energies", "forces"]

    def __init__(self, path: str | Path, *, device: str = "cpu", **kwargs) -> None:
        super().__init__(**kwargs)
        extra = {METADATA_ENTRY: ""}
        self.device = torch.device(device)
        self.model = torch.jit.load(str(path), map_location=self.device, _extra_files=extra).eval()
        self.metadata = json.loads(extra[METADATA_ENTRY])
        self.type_names: list[str] = list(self.metadata["type_names"])
        self.r_max = float(self.metadata["r_max"])

    def _atom_types(self, atoms: Atoms) -> torch.Tensor:
        symbols = atoms.get_chemical_symbols()
        unknown = sorted(set(symbols) - set(self.type_names))
        if unknown:
            raise ValueError(f"element(s) {', '.join(unknown)} unknown to the model (it knows {', '.join(self.type_names)})")
        return torch.tensor([self.type_names.index(s) for s in symbols], dtype=torch.int64, device=self.device)

    def calculate(self, atoms: Atoms | None = None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        if self.atoms.pbc.any():
            raise ValueError("the exported model is for molecules: periodic boundary conditions are not supported")
        centre, neighbour = neighbor_list("ij", self.atoms, self.r_max)
        edge_index = torch.as_tensor(np.stack([centre, neighbour]), dtype=torch.int64, device=self.device)
        positions = torch.tensor(self.atoms.positions, dtype=torch.float64, device=self.device, requires_grad=True)
        energies = self.model(positions, self._atom_types(self.atoms), edge_index)
        (gradient,) = torch.autograd.grad(energies.sum(), positions)
        energy = float(energies.detach().sum())
        self.results = {
            "energy": energy,
            "free_energy": energy,
            "energies": energies.detach().cpu().numpy(),
            "forces": -gradient.cpu().numpy(),
        }
