r"""A compact SchNet (Schütt et al., J. Chem. Phys. 148, 241722 (2018)): continuous-filter
convolutions on interatomic distances, invariant to rotation, translation and permutation.

For atoms i with neighbours j within the cutoff r_c (Å), r_ij = |r_j - r_i|:

- embedding:       h_i^(0) = A[type_i]                                  (F features)
- radial basis:    e_k(r) = exp(-gamma (r - mu_k)^2),  mu_k = k r_c / (K - 1), k = 0..K-1,
                   gamma = 1 / (2 (mu_1 - mu_0)^2)
- cutoff:          f_c(r) = (cos(pi r / r_c) + 1) / 2 for r < r_c, else 0
- filter:          W_ij^(t) = f_c(r_ij) * Dense(ssp(Dense(e(r_ij))))      (F)
- convolution:     v_i = sum_j (Dense_in h_j^(t)) ⊙ W_ij^(t)
- interaction:     h_i^(t+1) = h_i^(t) + Dense(ssp(Dense_out v_i)),      t = 0..T-1
- readout:         y_i = Dense(ssp(Dense(h_i^(T))))                      (scalar)

with the shifted softplus ssp(x) = ln(0.5 e^x + 0.5). y_i is dimensionless; the model turns
it into a per-atom energy in Hartree with :class:`atomloop.models.reference.ReferenceEnergies`.

Initialisation as schnetpack's ``Dense`` layers: every Dense weight Xavier-uniform,
U(+-sqrt(6 / (fan_in + fan_out))), every bias zero; embeddings N(0, 1). (torch's default
U(+-1 / sqrt(fan_in)) weights and biases gave a 1.25x larger QM9 test MAE at equal budgets:
bench/accuracy.py, README "Accuracy against peers".) Initialisation changes no
parameter name or shape, so stored models load unchanged.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from atomloop.models import keys


class ShiftedSoftplus(nn.Module):
    """ssp(x) = softplus(x) - ln 2, zero at the origin."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.softplus(x) - math.log(2.0)


class GaussianRBF(nn.Module):
    """K Gaussians on [0, r_c]: (E,) distances -> (E, K)."""

    def __init__(self, r_max: float, num_rbf: int) -> None:
        super().__init__()
        centres = torch.linspace(0.0, r_max, num_rbf)
        self.register_buffer("centres", centres)
        self.gamma = 0.5 / float(centres[1] - centres[0]) ** 2

    def forward(self, distance: torch.Tensor) -> torch.Tensor:
        return torch.exp(-self.gamma * (distance[:, None] - self.centres) ** 2)


class Interaction(nn.Module):
    """One continuous-filter convolution with its residual update."""

    def __init__(self, num_features: int, num_rbf: int) -> None:
        super().__init__()
        self.filter = nn.Sequential(
            nn.Linear(num_rbf, num_features), ShiftedSoftplus(), nn.Linear(num_features, num_features)
        )
        self.dense_in = nn.Linear(num_features, num_features, bias=False)
        self.update = nn.Sequential(
            nn.Linear(num_features, num_features), ShiftedSoftplus(), nn.Linear(num_features, num_features)
        )

    def forward(
        self, h: torch.Tensor, edge_index: torch.Tensor, rbf: torch.Tensor, cutoff: torch.Tensor
    ) -> torch.Tensor:
        centre, neighbour = edge_index
        messages = self.dense_in(h)[neighbour] * self.filter(rbf) * cutoff[:, None]
        v = torch.zeros_like(h).index_add_(0, centre, messages)
        return h + self.update(v)


class SchNet(nn.Module):
    """Batch -> (N,) dimensionless per-atom outputs y_i (see the module docstring)."""

    def __init__(
        self, num_types: int, *, r_max: float, num_features: int, num_layers: int, num_rbf: int
    ) -> None:
        super().__init__()
        self.r_max = r_max
        self.embedding = nn.Embedding(num_types, num_features)
        self.rbf = GaussianRBF(r_max, num_rbf)
        self.interactions = nn.ModuleList(Interaction(num_features, num_rbf) for _ in range(num_layers))
        self.readout = nn.Sequential(
            nn.Linear(num_features, num_features // 2), ShiftedSoftplus(), nn.Linear(num_features // 2, 1)
        )
        for layer in self.modules():
            if isinstance(layer, nn.Linear):
                nn.init.xavier_uniform_(layer.weight)
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)

    def forward(self, batch: keys.Batch) -> torch.Tensor:
        dtype = self.embedding.weight.dtype
        edge_index = batch[keys.EDGE_INDEX]
        positions = batch[keys.POSITIONS]
        distance = (positions[edge_index[1]] - positions[edge_index[0]]).norm(dim=1).to(dtype)
        cutoff = 0.5 * (torch.cos(math.pi * distance / self.r_max) + 1.0) * (distance < self.r_max)
        rbf = self.rbf(distance)
        h = self.embedding(batch[keys.ATOM_TYPES])
        for interaction in self.interactions:
            h = interaction(h, edge_index, rbf, cutoff)
        return self.readout(h).squeeze(-1)
