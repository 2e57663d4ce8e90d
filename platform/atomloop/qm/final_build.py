"""The last Fock build of a PySCF SCF, kept for the partition instead of rebuilt.

PySCF's kernel ends with a build of the effective potential at the converged density (the
extra cycle of ``conv_check``), from which it takes ``mf.e_tot``; for DFT that build's grid pass
evaluates eps_xc, the XC energy per electron, on every grid point. :class:`FinalBuildRecorder`
wraps one mean field's ``get_veff`` and XC grid pass and keeps the last of each;
:meth:`FinalBuildRecorder.final` hands them back only when both were computed at the density of
the converged orbitals, bit for bit, so that the orbital gradient, J, K and the XC energy
matrix come from the arithmetic of ``mf.e_tot`` without another J/K build or XC evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pyscf import dft, scf


@dataclass(frozen=True)
class FinalBuild:
    """The SCF's last effective potential ``veff`` (Hartree; (nao, nao), (2, nao, nao) for
    UHF/UKS; for Kohn-Sham tagged by PySCF with ``vj``, the Coulomb matrix of the total density,
    and ``vk``, the exact exchange scaled by the functional's hybrid and range-separated
    fractions, None for a pure functional) and ``eps_xc`` (ngrids,), the XC energy per
    electron (Hartree) on the SCF's grid at the same density; None for HF."""

    veff: np.ndarray
    eps_xc: np.ndarray | None

    def coulomb_and_exchange(self) -> tuple[np.ndarray, list[np.ndarray]] | None:
        """J[D] (nao, nao) and the scaled exchange per channel, as
        :func:`atomloop.qm.operators.coulomb_and_exchange` returns them; None for HF, whose
        potential J - K/2 (J - K per spin for UHF) PySCF keeps as one matrix."""
        vj = getattr(self.veff, "vj", None)
        if vj is None:
            return None
        vk = getattr(self.veff, "vk", None)
        channels = 2 if np.ndim(self.veff) == 3 else 1
        if vk is None:
            return np.asarray(vj), [np.zeros_like(vj) for _ in range(channels)]
        return np.asarray(vj), list(np.asarray(vk).reshape(channels, *vj.shape))


class FinalBuildRecorder:
    """Keeps the last ``get_veff`` of a CPU mean field ``mf`` and, for DFT, the eps_xc of the
    last XC grid pass (a ground-state density on ``mf.grids``) while ``mf`` runs its SCF."""

    def __init__(self, mf: scf.hf.SCF) -> None:
        self._veff: tuple[np.ndarray, np.ndarray] | None = None
        self._eps_xc: tuple[np.ndarray, np.ndarray] | None = None
        self._blocks: list[np.ndarray] | None = None
        self._wrap_get_veff(mf)
        if isinstance(mf, dft.rks.KohnShamDFT):
            self._wrap_xc_pass(mf._numint, "nr_uks" if isinstance(mf, scf.uhf.UHF) else "nr_rks")

    def _wrap_get_veff(self, mf: scf.hf.SCF) -> None:
        get_veff = mf.get_veff

        def recorded(mol=None, dm=None, *args: Any, **kwargs: Any):
            veff = get_veff(mol, dm, *args, **kwargs)
            self._veff = None if dm is None else (np.array(dm, copy=True), veff)
            return veff

        mf.get_veff = recorded

    def _wrap_xc_pass(self, numint: dft.numint.NumInt, name: str) -> None:
        xc_pass, eval_xc_eff = getattr(numint, name), numint.eval_xc_eff

        def recorded_pass(mol, grids, xc_code, dms, *args: Any, **kwargs: Any):
            self._blocks = []
            try:
                result = xc_pass(mol, grids, xc_code, dms, *args, **kwargs)
                eps = np.concatenate(self._blocks) if self._blocks else np.zeros(0)
                self._eps_xc = (np.array(dms, copy=True), eps) if eps.size == grids.weights.size else None
            finally:
                self._blocks = None
            return result

        def recorded_eval(*args: Any, **kwargs: Any):
            values = eval_xc_eff(*args, **kwargs)
            if self._blocks is not None:
                self._blocks.append(np.array(values[0], copy=True).ravel())
            return values

        setattr(numint, name, recorded_pass)
        numint.eval_xc_eff = recorded_eval

    def final(self, mf: scf.hf.SCF) -> FinalBuild | None:
        """The last build of the converged ``mf`` if it was made at ``mf``'s density (and, for
        DFT, its last grid pass too); None otherwise (then the partition rebuilds them)."""
        if self._veff is None:
            return None
        density = mf.make_rdm1(mf.mo_coeff, mf.mo_occ)
        built_at, veff = self._veff
        if not np.array_equal(built_at, density):
            return None
        if not isinstance(mf, dft.rks.KohnShamDFT):
            return FinalBuild(veff=veff, eps_xc=None)
        if self._eps_xc is None or not np.array_equal(self._eps_xc[0], density):
            return None
        return FinalBuild(veff=veff, eps_xc=self._eps_xc[1])
