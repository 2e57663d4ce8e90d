"""Exact, term-by-term partition of a converged SCF energy into atomic contributions (Hartree).

Every electronic term is linear in an atomic density D_A, so it is a trace Tr(O D_A) with an
energy operator O built once per calculation (:mod:`atomloop.qm.operators`; J, K and eps_xc
taken from the SCF's last Fock build where it was kept) and kept reduced to
the blocks that every scheme needs (:class:`OperatorBlocks`):

====================  ===================================================================
kinetic               Tr(T D_A)
nuclear_attraction    1/2 Tr(V_ne D_A) + 1/2 Tr(V_A D)  (+ Tr(V_ecp D_A) with ECPs)
coulomb               1/2 Tr(J[D] D_A)
exchange              -1/2 sum_s Tr(K_x[D_s] D_A,s), K_x scaled by the exact-exchange
                      fraction, long-range part added for range-separated hybrids
xc                    Tr(X D_A), X_mn = sum_g w_g eps_xc(r_g) phi_m(r_g) phi_n(r_g), i.e. the
                      grid integral of eps_xc[rho] times rho_A
nuclear_repulsion     1/2 sum_{B != A} Z_A Z_B / R_AB
====================  ===================================================================

An orbital "channel" is the occupied space of one spin (unrestricted, occupation 1) or both
spins at once (restricted, occupation 2). Two partitions of the density are provided:
AO-based (rows of atom A of the one-particle traces, ``ao_partition``) and MO-based
(D_A = sum_i w_iA n_i c_i c_i^T, ``mo_partition``). Both give sum_A E_A = E exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TERMS = ("kinetic", "nuclear_attraction", "coulomb", "exchange", "xc", "nuclear_repulsion")


@dataclass(frozen=True)
class Channel:
    """Occupied orbitals ``coeff`` (nao, nocc) of one channel, each with ``occupation`` electrons;
    ``free_rotations`` (nocc, nocc) bool marks the orbital pairs whose rotation the orbitals'
    definition leaves undetermined (see :mod:`atomloop.qm.blocks`; None: every orbital unique)."""

    coeff: np.ndarray
    occupation: float
    free_rotations: np.ndarray | None = None

    @property
    def density(self) -> np.ndarray:
        """The channel's density matrix (nao, nao)."""
        return self.occupation * self.coeff @ self.coeff.T


@dataclass(frozen=True)
class OperatorBlocks:
    """What every partition scheme needs of the energy operators O_t (Hartree) of one SCF.

    Per channel c (canonical occupied orbitals C_c, density D_c) and electronic term t (kinetic,
    nuclear_attraction, coulomb, exchange, and xc for DFT; see :mod:`atomloop.qm.operators`):
    ``occupied[c][t]`` (nocc_c, nocc_c) = C_c^T O_t C_c, enough for any rotation of the occupied
    orbitals (localization); ``ao_rows[c][t]`` (nao,) = sum_nu (O_t)_mu,nu (D_c)_nu,mu, the AO
    rows of Tr(O_t D_c). ``field_attraction`` (natm,) is 1/2 Tr(V_A D), ``nuclear_repulsion``
    (natm,) Hartree, ``ao_atom`` (nao,) the atom of each AO. Kept with the orbitals, so a scheme
    added later rebuilds no operator.
    """

    occupied: tuple[dict[str, np.ndarray], ...]
    ao_rows: tuple[dict[str, np.ndarray], ...]
    field_attraction: np.ndarray
    nuclear_repulsion: np.ndarray
    ao_atom: np.ndarray

    @property
    def natm(self) -> int:
        return len(self.nuclear_repulsion)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat named arrays (for an ``.npz``); inverse :meth:`from_arrays`."""
        arrays = {"field_attraction": self.field_attraction, "nuclear_repulsion": self.nuclear_repulsion,
                  "ao_atom": self.ao_atom}
        for index, (occupied, ao_rows) in enumerate(zip(self.occupied, self.ao_rows)):
            arrays.update({f"occupied_{index}_{term}": value for term, value in occupied.items()})
            arrays.update({f"ao_rows_{index}_{term}": value for term, value in ao_rows.items()})
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], nchannels: int) -> OperatorBlocks:
        def per_channel(kind: str) -> tuple[dict[str, np.ndarray], ...]:
            return tuple({name.removeprefix(f"{kind}_{index}_"): value for name, value in arrays.items()
                          if name.startswith(f"{kind}_{index}_")} for index in range(nchannels))

        return cls(per_channel("occupied"), per_channel("ao_rows"), arrays["field_attraction"],
                   arrays["nuclear_repulsion"], arrays["ao_atom"])

def _assemble(blocks: OperatorBlocks, trace_by_atom) -> dict[str, np.ndarray]:
    """Terms (natm,) from ``trace_by_atom(term, channel_index)`` -> per-atom traces."""
    terms = {term: np.zeros(blocks.natm) for term in TERMS}
    for channel, channel_terms in enumerate(blocks.occupied):
        for term in channel_terms:
            terms[term] += trace_by_atom(term, channel)
    terms["nuclear_attraction"] += blocks.field_attraction
    terms["nuclear_repulsion"] = blocks.nuclear_repulsion.copy()
    return terms


def ao_partition(blocks: OperatorBlocks) -> dict[str, np.ndarray]:
    """AO-based ("eda") terms: E_A = sum_{mu in A} sum_nu O_mu,nu D_nu,mu, each (natm,)."""

    def trace_by_atom(term: str, channel: int) -> np.ndarray:
        return np.bincount(blocks.ao_atom, weights=blocks.ao_rows[channel][term], minlength=blocks.natm)

    return _assemble(blocks, trace_by_atom)


def mo_partition(
    blocks: OperatorBlocks, channels: list[Channel], rotations: list[np.ndarray], populations: list[np.ndarray]
) -> dict[str, np.ndarray]:
    """MO-based terms with D_A = n sum_ij W[A]_ij c_i c_j^T; ``channels[c].coeff`` are the
    (possibly localized) orbitals c = C U of channel c, ``rotations[c]`` (nocc, nocc) their U
    from the canonical occupied orbitals C of ``blocks``, and ``populations[c]`` (natm, nocc, nocc)
    their atomic population matrices. Only the pairs in ``channels[c].free_rotations`` keep their
    off-diagonal populations (the diagonal alone, w_iA = W[A]_ii, where every orbital is unique;
    see :mod:`atomloop.qm.blocks`)."""

    def restricted(channel: Channel, matrices: np.ndarray) -> np.ndarray:
        if channel.free_rotations is None:
            return matrices * np.eye(channel.coeff.shape[1])
        return matrices * channel.free_rotations

    populations = [restricted(channel, matrices) for channel, matrices in zip(channels, populations)]

    def trace_by_atom(term: str, channel: int) -> np.ndarray:
        rotation = rotations[channel]
        orbital_matrix = rotation.T @ blocks.occupied[channel][term] @ rotation
        return channels[channel].occupation * np.einsum("aij,ji->a", populations[channel], orbital_matrix)

    return _assemble(blocks, trace_by_atom)


def total_by_atom(terms: dict[str, np.ndarray]) -> np.ndarray:
    """E_A = sum of all terms (Hartree), shape (natm,)."""
    return np.sum([terms[term] for term in TERMS], axis=0)
