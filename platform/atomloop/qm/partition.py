"""Exact, term-by-term partition of a converged SCF energy into atomic contributions (Hartree).

Every electronic term is linear in an atomic density D_A, so it is a trace Tr(O D_A) with an
energy operator O built once per calculation:

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
from pyscf import dft, gto, scf

from atomloop.qm.errors import UnsupportedCalculationError
from atomloop.qm.populations import ao_atom_index

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
class EnergyOperators:
    """Operators (nao, nao) whose traces with atomic densities give the atomic energy terms.

    ``one_electron``: kinetic, nuclear attraction (1/2 V_ne + V_ecp), coulomb (1/2 J), xc (X);
    ``exchange``: one operator per channel; ``field_attraction`` (natm,) is 1/2 Tr(V_A D);
    ``nuclear_repulsion`` (natm,); ``ao_atom`` (nao,) the atom of each AO.
    """

    one_electron: dict[str, np.ndarray]
    exchange: list[np.ndarray]
    field_attraction: np.ndarray
    nuclear_repulsion: np.ndarray
    ao_atom: np.ndarray
    natm: int


def nuclear_repulsion_by_atom(mol: gto.Mole) -> np.ndarray:
    """E_nn,A = 1/2 sum_{B != A} Z_A Z_B / R_AB (Hartree), shape (natm,)."""
    charges = mol.atom_charges().astype(float)
    coords = mol.atom_coords()
    distances = np.linalg.norm(coords[:, None, :] - coords[None, :, :], axis=-1)
    np.fill_diagonal(distances, np.inf)
    return 0.5 * charges * (charges[None, :] / distances).sum(axis=1)


def field_attraction_by_atom(mol: gto.Mole, density: np.ndarray) -> np.ndarray:
    """1/2 Tr(V_A D): half the attraction of all electrons to nucleus A (Hartree), shape (natm,)."""
    out = np.empty(mol.natm)
    for atom in range(mol.natm):
        with mol.with_rinv_at_nucleus(atom):
            potential = -mol.atom_charge(atom) * mol.intor_symmetric("int1e_rinv")
        out[atom] = 0.5 * np.einsum("ij,ji->", potential, density)
    return out


def _exchange_fractions(mf: scf.hf.SCF) -> tuple[float, float, float]:
    """(omega, alpha, hyb) of PySCF's range-separation convention; HF is (0, 1, 1)."""
    if isinstance(mf, dft.rks.KohnShamDFT):
        return mf._numint.rsh_and_hybrid_coeff(mf.xc, spin=mf.mol.spin)
    return 0.0, 1.0, 1.0


def coulomb_and_exchange(mf: scf.hf.SCF, densities: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """J[D] of the total density and the scaled exact-exchange matrix K_x[D_c] per channel.

    Follows PySCF's hybrid/range-separated convention so that the energies match ``mf.e_tot``.
    """
    mol = mf.mol
    dms = np.asarray(densities)
    omega, alpha, hyb = _exchange_fractions(mf)
    if hyb == 0 and alpha == 0:
        vj = mf.get_j(mol, dms, hermi=1)
        return vj.sum(axis=0), [np.zeros_like(d) for d in densities]
    if omega == 0:
        vj, vk = mf.get_jk(mol, dms, hermi=1)
        vk = vk * hyb
    elif alpha == 0:  # short-range exact exchange only
        vj = mf.get_j(mol, dms, hermi=1)
        vk = hyb * mf.get_k(mol, dms, hermi=1, omega=-omega)
    elif hyb == 0:  # long-range exact exchange only
        vj = mf.get_j(mol, dms, hermi=1)
        vk = alpha * mf.get_k(mol, dms, hermi=1, omega=omega)
    else:
        vj, vk = mf.get_jk(mol, dms, hermi=1)
        vk = vk * hyb + (alpha - hyb) * mf.get_k(mol, dms, hermi=1, omega=omega)
    return vj.sum(axis=0), list(vk)


def xc_energy_matrix(mf: scf.hf.SCF, densities: list[np.ndarray]) -> np.ndarray:
    """X_mn = sum_g w_g eps_xc(r_g) phi_m(r_g) phi_n(r_g) on the SCF grid (Hartree), (nao, nao).

    eps_xc is the XC energy per electron of the total (spin) density, so Tr(X D) = E_xc.
    """
    mol, ni = mf.mol, mf._numint
    xctype = ni._xc_type(mf.xc)
    if xctype not in ("LDA", "GGA", "MGGA"):
        raise UnsupportedCalculationError(f"{mf.xc}: exchange-correlation type {xctype} is not partitioned")
    unrestricted = isinstance(mf, scf.uhf.UHF)
    spin_densities = densities if unrestricted else [densities[0]]
    ao_deriv = 0 if xctype == "LDA" else 1
    matrix = np.zeros((mol.nao, mol.nao))
    for ao, mask, weight, _ in ni.block_loop(mol, mf.grids, mol.nao, ao_deriv, max_memory=mf.max_memory):
        rho = [ni.eval_rho(mol, ao, dm, mask, xctype, hermi=1, with_lapl=False) for dm in spin_densities]
        rho = np.asarray(rho) if unrestricted else rho[0]
        exc = ni.eval_xc_eff(mf.xc, rho, deriv=0, xctype=xctype, spin=int(unrestricted))[0]
        values = ao if ao_deriv == 0 else ao[0]
        matrix += values.T @ (values * (weight * exc.ravel())[:, None])
    return matrix


def build_operators(mf: scf.hf.SCF, channels: list[Channel]) -> EnergyOperators:
    """All energy operators of a converged ``mf`` for the densities of ``channels``."""
    mol = mf.mol
    densities = [channel.density for channel in channels]
    total = sum(densities)
    coulomb, exact_exchange = coulomb_and_exchange(mf, densities)
    # Restricted: one channel of occupation 2 holds both spins, E_x = -1/4 Tr(K[D] D).
    exchange_scale = -0.25 if len(channels) == 1 else -0.5
    nuclear = 0.5 * mol.intor_symmetric("int1e_nuc")
    if mol.has_ecp():
        nuclear = nuclear + mol.intor_symmetric("ECPscalar")
    one_electron = {
        "kinetic": mol.intor_symmetric("int1e_kin"),
        "nuclear_attraction": nuclear,
        "coulomb": 0.5 * coulomb,
    }
    if isinstance(mf, dft.rks.KohnShamDFT):
        one_electron["xc"] = xc_energy_matrix(mf, densities)
    return EnergyOperators(
        one_electron=one_electron,
        exchange=[exchange_scale * k for k in exact_exchange],
        field_attraction=field_attraction_by_atom(mol, total),
        nuclear_repulsion=nuclear_repulsion_by_atom(mol),
        ao_atom=ao_atom_index(mol),
        natm=mol.natm,
    )


def _assemble(operators: EnergyOperators, trace_by_atom) -> dict[str, np.ndarray]:
    """Terms (natm,) from ``trace_by_atom(operator, channel_index)`` -> per-atom traces."""
    nchannels = len(operators.exchange)
    terms = {term: np.zeros(operators.natm) for term in TERMS}
    for channel in range(nchannels):
        for term, operator in operators.one_electron.items():
            terms[term] += trace_by_atom(operator, channel)
        terms["exchange"] += trace_by_atom(operators.exchange[channel], channel)
    terms["nuclear_attraction"] += operators.field_attraction
    terms["nuclear_repulsion"] = operators.nuclear_repulsion.copy()
    return terms


def ao_partition(operators: EnergyOperators, channels: list[Channel]) -> dict[str, np.ndarray]:
    """AO-based ("eda") terms: E_A = sum_{mu in A} sum_nu O_mu,nu D_nu,mu, each (natm,)."""
    densities = [channel.density for channel in channels]

    def trace_by_atom(operator: np.ndarray, channel: int) -> np.ndarray:
        diagonal = np.einsum("ij,ji->i", operator, densities[channel])
        return np.bincount(operators.ao_atom, weights=diagonal, minlength=operators.natm)

    return _assemble(operators, trace_by_atom)


def mo_partition(
    operators: EnergyOperators, channels: list[Channel], populations: list[np.ndarray]
) -> dict[str, np.ndarray]:
    """MO-based terms with D_A = n sum_ij W[A]_ij c_i c_j^T; ``channels[c].coeff`` are the
    (possibly localized) orbitals and ``populations[c]`` (natm, nocc, nocc) their atomic
    population matrices. Only the pairs in ``channels[c].free_rotations`` keep their
    off-diagonal populations (the diagonal alone, w_iA = W[A]_ii, where every orbital is unique;
    see :mod:`atomloop.qm.blocks`)."""

    def restricted(channel: Channel, matrices: np.ndarray) -> np.ndarray:
        if channel.free_rotations is None:
            return matrices * np.eye(channel.coeff.shape[1])
        return matrices * channel.free_rotations

    populations = [restricted(channel, matrices) for channel, matrices in zip(channels, populations)]

    def trace_by_atom(operator: np.ndarray, channel: int) -> np.ndarray:
        coeff = channels[channel].coeff
        orbital_matrix = coeff.T @ operator @ coeff
        return channels[channel].occupation * np.einsum("aij,ji->a", populations[channel], orbital_matrix)

    return _assemble(operators, trace_by_atom)


def total_by_atom(terms: dict[str, np.ndarray]) -> np.ndarray:
    """E_A = sum of all terms (Hartree), shape (natm,)."""
    return np.sum([terms[term] for term in TERMS], axis=0)
