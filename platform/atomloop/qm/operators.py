"""The energy operators of a converged PySCF mean field, reduced to :class:`OperatorBlocks`.

J, K and, for DFT, eps_xc on the SCF's grid come from the SCF's last Fock build where it was
kept (:mod:`atomloop.qm.final_build`; then only the AO values are evaluated on the grid), else
from one J/K build and one grid pass over the SCF's density (see the table in
:mod:`atomloop.qm.partition`); afterwards only the blocks are kept: occupied-space matrices
C^T O C and the AO rows of Tr(O D), per channel. Every scheme, including one added later to the
stored orbitals, partitions from those blocks without rebuilding an operator.
"""

from __future__ import annotations

import numpy as np
from pyscf import dft, gto, scf
from pyscf.dft.numint import NBINS, _dot_ao_ao_sparse

from atomloop.qm.errors import UnsupportedCalculationError
from atomloop.qm.final_build import FinalBuild
from atomloop.qm.partition import Channel, OperatorBlocks
from atomloop.qm.populations import ao_atom_index


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


def xc_energy_matrix(mf: scf.hf.SCF, densities: list[np.ndarray], eps_xc: np.ndarray | None = None) -> np.ndarray:
    """X_mn = sum_g w_g eps_xc(r_g) phi_m(r_g) phi_n(r_g) on the SCF grid (Hartree), (nao, nao).

    eps_xc is the XC energy per electron of the total (spin) density, so Tr(X D) = E_xc; given
    (``eps_xc``, (ngrids,) Hartree, at ``densities``), only the AO values are evaluated.
    """
    mol, ni, grids = mf.mol, mf._numint, mf.grids
    xctype = ni._xc_type(mf.xc)
    if xctype not in ("LDA", "GGA", "MGGA"):
        raise UnsupportedCalculationError(f"{mf.xc}: exchange-correlation type {xctype} is not partitioned")
    unrestricted = isinstance(mf, scf.uhf.UHF)
    spin_densities = densities if unrestricted else [densities[0]]
    ao_deriv = 0 if xctype == "LDA" or eps_xc is not None else 1
    # PySCF's own screening of AO pairs and grid blocks (as in numint.nr_rks)
    nbins = NBINS * 2 - int(NBINS * np.log(grids.cutoff * 1e2) / np.log(grids.cutoff))
    pair_mask = mol.get_overlap_cond() < -np.log(ni.cutoff)
    ao_loc = mol.ao_loc_nr()
    matrix = np.zeros((mol.nao, mol.nao))
    start = 0
    for ao, mask, weight, _ in ni.block_loop(mol, grids, mol.nao, ao_deriv, max_memory=mf.max_memory):
        if eps_xc is None:
            rho = [ni.eval_rho(mol, ao, dm, mask, xctype, hermi=1, with_lapl=False) for dm in spin_densities]
            rho = np.asarray(rho) if unrestricted else rho[0]
            exc = ni.eval_xc_eff(mf.xc, rho, deriv=0, xctype=xctype, spin=int(unrestricted))[0].ravel()
        else:
            exc = eps_xc[start:start + weight.size]
        start += weight.size
        values = ao if ao_deriv == 0 else ao[0]
        _dot_ao_ao_sparse(values, values, weight * exc, nbins, mask, pair_mask, ao_loc, hermi=1, out=matrix)
    return matrix


def build_operators(mf: scf.hf.SCF, channels: list[Channel], final: FinalBuild | None = None) -> OperatorBlocks:
    """The operator blocks of a converged ``mf`` for the canonical occupied ``channels``; J, K
    and eps_xc from ``final``, the SCF's last Fock build at this density, where it holds them."""
    mol = mf.mol
    densities = [channel.density for channel in channels]
    kept = None if final is None else final.coulomb_and_exchange()
    coulomb, exact_exchange = coulomb_and_exchange(mf, densities) if kept is None else kept
    # Restricted: one channel of occupation 2 holds both spins, E_x = -1/4 Tr(K[D] D).
    exchange_scale = -0.25 if len(channels) == 1 else -0.5
    nuclear = 0.5 * mol.intor_symmetric("int1e_nuc")
    if mol.has_ecp():
        nuclear = nuclear + mol.intor_symmetric("ECPscalar")
    shared = {
        "kinetic": mol.intor_symmetric("int1e_kin"),
        "nuclear_attraction": nuclear,
        "coulomb": 0.5 * coulomb,
    }
    if isinstance(mf, dft.rks.KohnShamDFT):
        shared["xc"] = xc_energy_matrix(mf, densities, None if final is None else final.eps_xc)
    occupied, ao_rows = [], []
    for channel, density, exchange in zip(channels, densities, exact_exchange):
        operators = {**shared, "exchange": exchange_scale * exchange}
        occupied.append({term: channel.coeff.T @ operator @ channel.coeff for term, operator in operators.items()})
        ao_rows.append({term: np.einsum("ij,ji->i", operator, density) for term, operator in operators.items()})
    return OperatorBlocks(
        occupied=tuple(occupied),
        ao_rows=tuple(ao_rows),
        field_attraction=field_attraction_by_atom(mol, sum(densities)),
        nuclear_repulsion=nuclear_repulsion_by_atom(mol),
        ao_atom=ao_atom_index(mol),
    )


def blocks_belong_to(blocks: OperatorBlocks, mol: gto.Mole) -> bool:
    """Whether kept ``blocks`` were built for ``mol``: the same AOs on the same atoms and the
    same nuclear repulsion per atom (to 1e-9 Hartree, a fingerprint of the geometry)."""
    return (
        np.array_equal(blocks.ao_atom, ao_atom_index(mol))
        and np.allclose(blocks.nuclear_repulsion, nuclear_repulsion_by_atom(mol), rtol=0, atol=1e-9)
    )
