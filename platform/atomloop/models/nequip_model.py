"""NequIP (Batzner et al., Nat. Commun. 13, 2453 (2022)) built with the ``nequip`` package's
own model builder, :func:`nequip.model.NequIPGNNModel`, configured from atomloop settings.

The package's per-type scale/shift is left neutral (scale 1, shift 0): the per-atom output is
the dimensionless y_i that :class:`atomloop.models.reference.ReferenceEnergies` turns into
Hartree, exactly as for SchNet. Forces are not computed inside the package model
(``do_derivatives=False``); the calculator differentiates the energy itself.

Note: ``nequip.utils.global_state.set_global_state()`` (required before building) sets
torch's default dtype to float64 for the whole process.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from atomloop.models import keys


def build_nequip_graph_model(
    type_names: Sequence[str],
    *,
    r_max: float,
    num_layers: int,
    l_max: int,
    num_features: int,
    avg_num_neighbors: float,
    seed: int,
    model_dtype: str,
    per_type_energy_scales: float = 1.0,
    per_type_energy_shifts: dict[str, float] | None = None,
    do_derivatives: bool = False,
) -> nn.Module:
    """The ``nequip`` package's NequIP ``GraphModel``; by default energies only with neutral
    scale/shift (scale 1, shifts 0). The scale and shifts (dict keyed by type name) are in the
    unit the model's per-atom energies are to have; ``do_derivatives`` adds forces."""
    from nequip.model import NequIPGNNModel
    from nequip.utils.global_state import set_global_state

    set_global_state()
    return NequIPGNNModel(
        seed=seed,
        model_dtype=model_dtype,
        r_max=r_max,
        type_names=list(type_names),
        num_layers=num_layers,
        l_max=l_max,
        num_features=num_features,
        avg_num_neighbors=avg_num_neighbors,
        per_type_energy_scales=per_type_energy_scales,
        per_type_energy_shifts=per_type_energy_shifts or {name: 0.0 for name in type_names},
        do_derivatives=do_derivatives,
    )


class NequIPNetwork(nn.Module):
    """Batch -> (N,) dimensionless per-atom outputs from a NequIP ``GraphModel``."""

    def __init__(self, type_names: Sequence[str], **settings) -> None:
        super().__init__()
        self.settings = settings  # the builder's arguments, to rebuild the graph model (e.g. for export)
        self.graph_model = build_nequip_graph_model(type_names, **settings)

    def forward(self, batch: keys.Batch) -> torch.Tensor:
        # GraphModel copies only its input fields, so labels in ``batch`` are never touched.
        return self.graph_model(batch)[keys.ATOMIC_ENERGY].squeeze(-1)
