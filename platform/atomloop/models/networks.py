"""``build(arch, type_names, **hyperparameters)``: an atom-based energy model.

Every model maps a batch (:mod:`atomloop.models.keys`) to per-atom energies E_i (N,) and their
per-molecule sums E_m = sum_{i in m} E_i (B,), both float64 Hartree:
E_i = scale * y_i + e_{Z_i}, with y_i from the network (SchNet or NequIP) and the reference
energies/scale of :mod:`atomloop.models.reference` (fitted on the training set, saved with
the weights).

Hyper-parameters (defaults in ``DEFAULT_HYPERPARAMETERS``): ``r_max`` cutoff (Å),
``num_layers`` interaction blocks, ``num_features`` feature channels, ``seed`` weight
initialisation, ``dtype`` of the network (``float32``/``float64``; energies are summed in
float64 regardless); SchNet: ``num_rbf`` Gaussians; NequIP: ``l_max`` highest rotation order
and ``avg_num_neighbors`` (normalises neighbour sums; the trainer sets it from the data).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from atomloop.errors import InputError
from atomloop.models import keys
from atomloop.models.names import ARCHITECTURES
from atomloop.models.reference import ReferenceEnergies

_COMMON = {"r_max": 4.0, "num_layers": 3, "num_features": 32, "seed": 0, "dtype": "float32"}
DEFAULT_HYPERPARAMETERS: dict[str, dict[str, Any]] = {
    "schnet": {**_COMMON, "num_rbf": 32},
    "nequip": {**_COMMON, "num_layers": 2, "num_features": 16, "l_max": 1, "avg_num_neighbors": 8.0},
}
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


@contextmanager
def _default_dtype(dtype: torch.dtype) -> Iterator[None]:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def _network(arch: str, type_names: Sequence[str], hp: dict[str, Any]) -> nn.Module:
    if arch == "schnet":
        from atomloop.models.schnet import SchNet

        # Same weights whatever the process-wide default dtype (nequip sets it to float64).
        with _default_dtype(_DTYPES[hp["dtype"]]):
            torch.manual_seed(hp["seed"])
            return SchNet(
                len(type_names), r_max=hp["r_max"], num_features=hp["num_features"],
                num_layers=hp["num_layers"], num_rbf=hp["num_rbf"],
            )
    from atomloop.models.nequip_model import NequIPNetwork

    return NequIPNetwork(
        type_names, r_max=hp["r_max"], num_layers=hp["num_layers"], l_max=hp["l_max"],
        num_features=hp["num_features"], avg_num_neighbors=hp["avg_num_neighbors"],
        seed=hp["seed"], model_dtype=hp["dtype"],
    )


class AtomEnergyModel(nn.Module):
    """A network plus reference energies: batch -> per-atom and per-molecule energies (Ha)."""

    def __init__(self, arch: str, type_names: Sequence[str], hyperparameters: dict[str, Any]) -> None:
        super().__init__()
        self.arch = arch
        self.type_names = list(type_names)
        self.hyperparameters = dict(hyperparameters)
        self.network = _network(arch, self.type_names, self.hyperparameters)
        self.reference = ReferenceEnergies(len(self.type_names))

    @property
    def r_max(self) -> float:
        """Cutoff radius, Å (neighbour lists must use it)."""
        return float(self.hyperparameters["r_max"])

    def spec(self) -> dict[str, Any]:
        """What :func:`build` needs to rebuild this model (weights excluded)."""
        return {"arch": self.arch, "type_names": self.type_names, "hyperparameters": self.hyperparameters}

    def forward(self, batch: keys.Batch) -> keys.Batch:
        """Returns ``{ATOMIC_ENERGY: (N,), TOTAL_ENERGY: (B,)}``, float64 Hartree."""
        atomic = self.reference(self.network(batch), batch[keys.ATOM_TYPES])
        total = torch.zeros(len(batch[keys.NUM_ATOMS]), dtype=atomic.dtype, device=atomic.device)
        total = total.index_add(0, batch[keys.BATCH], atomic)
        return {keys.ATOMIC_ENERGY: atomic, keys.TOTAL_ENERGY: total}


def build(arch: str, type_names: Sequence[str], **hyperparameters: Any) -> AtomEnergyModel:
    """A freshly initialised model of architecture ``arch`` ("schnet" or "nequip") for the
    elements ``type_names`` (symbols); unknown hyper-parameters are an error."""
    if arch not in ARCHITECTURES:
        raise InputError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
    if not type_names:
        raise InputError("a model needs at least one element type")
    defaults = DEFAULT_HYPERPARAMETERS[arch]
    unknown = sorted(set(hyperparameters) - set(defaults))
    if unknown:
        raise InputError(f"unknown {arch} hyper-parameter(s): {', '.join(unknown)}; known: {', '.join(sorted(defaults))}")
    if hyperparameters.get("dtype", defaults["dtype"]) not in _DTYPES:
        raise InputError(f"dtype must be one of {', '.join(_DTYPES)}")
    return AtomEnergyModel(arch, type_names, {**defaults, **hyperparameters})
