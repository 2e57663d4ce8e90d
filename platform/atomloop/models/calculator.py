"""ASE calculator for a trained atomloop model (a registered one: :func:`atomloop.recipes.registered_model.registered_calculator`).

Units follow ASE: ``get_potential_energy()`` in eV, per-atom energies (``get_energies()`` or
``atoms.get_potential_energies()``) in eV, forces in eV/Å. The model itself works in Hartree;
values are converted with ``ase.units.Hartree`` (1 Ha = 27.211386 eV). Forces are
F_i = -dE/dr_i by automatic differentiation through the model (edge vectors are computed
inside the network from the positions, so every term is differentiated).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from ase import Atoms, units
from ase.calculators.calculator import Calculator, all_changes

from atomloop.models import keys
from atomloop.models.checkpoint import load_model
from atomloop.models.data import atoms_to_graph, to_device
from atomloop.models.networks import AtomEnergyModel


class AtomloopCalculator(Calculator):
    """Energy, per-atom energies and forces of ``model`` (an :class:`AtomEnergyModel`)."""

    implemented_properties = ["energy", "free_energy", "energies", "forces"]

    def __init__(self, model: AtomEnergyModel, *, device: str = "cpu", **kwargs) -> None:
        super().__init__(**kwargs)
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()

    @classmethod
    def from_file(cls, path: Path, *, expected_sha256: str | None = None, device: str = "cpu") -> AtomloopCalculator:
        """Calculator of a model file written by :func:`atomloop.models.checkpoint.save_model`."""
        return cls(load_model(Path(path), expected_sha256=expected_sha256), device=device)

    def calculate(self, atoms: Atoms | None = None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        graph = to_device(atoms_to_graph(self.atoms, self.model.type_names, self.model.r_max), self.device)
        positions = graph[keys.POSITIONS].requires_grad_(True)
        out = self.model(graph)
        (gradient,) = torch.autograd.grad(out[keys.TOTAL_ENERGY].sum(), positions)
        energy = float(out[keys.TOTAL_ENERGY].detach()[0]) * units.Hartree
        self.results = {
            "energy": energy,
            "free_energy": energy,
            "energies": out[keys.ATOMIC_ENERGY].detach().cpu().numpy() * units.Hartree,
            "forces": -gradient.cpu().numpy() * units.Hartree,
        }

    def get_energies(self, atoms: Atoms | None = None) -> np.ndarray:
        """Per-atom energies, eV, shape (natoms,); they sum to ``get_potential_energy()``."""
        return self.get_property("energies", atoms)
