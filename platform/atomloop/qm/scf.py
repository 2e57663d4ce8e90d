"""Build a PySCF molecule from ASE ``Atoms`` and converge its SCF like an experienced user would.

Strategies, in order, each from scratch until one converges: plain DIIS from the MINAO guess;
a better initial guess (superposition of atomic densities) with damping; a 0.5 Hartree level
shift; the second-order (Newton) solver started from the last density. If all fail,
:class:`SCFConvergenceError` says what was tried and how close each came.

On ``device="cuda"`` each strategy runs as the gpu4pyscf twin of the same PySCF object
(``to_gpu``); the converged orbitals come back as a CPU mean field on the SCF's own grid.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from ase import Atoms
from pyscf import dft, gto, scf
from pyscf.scf.stability import uhf_internal

from atomloop.errors import InputError
from atomloop.qm.device import resolve_label_device, to_host
from atomloop.qm.electrons import charge_and_multiplicity
from atomloop.qm.errors import SCFConvergenceError, UnsupportedCalculationError
from atomloop.qm.final_build import FinalBuild, FinalBuildRecorder
from atomloop.qm.settings import QMSettings

LEVEL_SHIFT = 0.5  # Hartree
MAX_STABILITY_ROUNDS = 5
# Hartree: an unstable direction that lowers the energy by less than this and cannot be converged
# is grid noise (free O at B3LYP/STO-3G, grid 1: 3e-7 Ha), not a lower state.
MARGINAL_INSTABILITY = 1e-5


def effective_core_potentials(basis: str, symbols: set[str]) -> dict[str, str]:
    """The elements of ``symbols`` that ``basis`` defines with an ECP (e.g. def2 for Rb-Rn)."""
    ecp = {}
    for symbol in sorted(symbols):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                defined = gto.basis.load_ecp(basis, symbol)
            except Exception:  # noqa: BLE001 - PySCF signals "no ECP" in several ways
                defined = None
        if defined:
            ecp[symbol] = basis
    return ecp


def build_molecule(atoms: Atoms, settings: QMSettings, *, max_memory_mb: float | None = None) -> gto.Mole:
    """A built ``gto.Mole`` (positions in Å) with the charge and spin of ``atoms``."""
    charge, multiplicity = charge_and_multiplicity(atoms, settings)
    mol = gto.Mole()
    mol.atom = [(symbol, tuple(position)) for symbol, position in zip(atoms.get_chemical_symbols(), atoms.positions)]
    mol.unit = "Angstrom"
    mol.basis = settings.basis
    mol.ecp = effective_core_potentials(settings.basis, set(atoms.get_chemical_symbols()))
    mol.charge = charge
    mol.spin = multiplicity - 1
    mol.verbose = 0
    mol.symmetry = False
    if max_memory_mb is not None:
        mol.max_memory = max_memory_mb
    try:
        mol.build(dump_input=False, parse_arg=False)
    except (KeyError, RuntimeError, ValueError) as error:
        raise InputError(f"{atoms.get_chemical_formula()}: cannot build the molecule in basis {settings.basis!r}: {error}") from None
    return mol


def is_unrestricted(mol: gto.Mole, settings: QMSettings) -> bool:
    """Whether the calculation is spin-unrestricted (open shells always are)."""
    if settings.reference == "restricted" and mol.spin != 0:
        raise UnsupportedCalculationError(
            "restricted open-shell references are not partitioned; use reference 'auto' or 'unrestricted'"
        )
    return settings.reference == "unrestricted" or mol.spin != 0


def make_mean_field(mol: gto.Mole, settings: QMSettings) -> scf.hf.SCF:
    """An unconverged RHF/UHF/RKS/UKS object configured from ``settings``."""
    unrestricted = is_unrestricted(mol, settings)
    if settings.is_dft:
        mf = (dft.UKS if unrestricted else dft.RKS)(mol, xc=settings.method)
        if mf._numint.libxc.is_nlc(settings.method):
            raise UnsupportedCalculationError(f"{settings.method}: non-local (VV10) correlation is not partitioned")
        mf.grids.level = settings.grid_level
    else:
        mf = (scf.UHF if unrestricted else scf.RHF)(mol)
    if settings.density_fit:
        mf = mf.density_fit(auxbasis=settings.auxbasis)
    mf.conv_tol = settings.conv_tol
    if settings.conv_tol_grad is not None:
        mf.conv_tol_grad = settings.conv_tol_grad
    mf.max_cycle = settings.max_cycle
    mf.verbose = 0
    return mf


def _plain(mf: scf.hf.SCF) -> scf.hf.SCF:
    return mf


def _atomic_guess(mf: scf.hf.SCF) -> scf.hf.SCF:
    mf.init_guess = "atom"
    mf.damp = 0.3
    return mf


def _level_shift(mf: scf.hf.SCF) -> scf.hf.SCF:
    mf.init_guess = "atom"
    mf.level_shift = LEVEL_SHIFT
    mf.damp = 0.5
    return mf


def _second_order(mf: scf.hf.SCF) -> scf.hf.SCF:
    return mf.newton()


STRATEGIES: tuple[tuple[str, Callable[[scf.hf.SCF], scf.hf.SCF]], ...] = (
    ("diis", _plain),
    ("atomic-guess", _atomic_guess),
    ("level-shift", _level_shift),
    ("second-order", _second_order),
)


@dataclass
class SCFOutcome:
    """A converged mean-field object and what it took (``info`` is JSON-ready); ``final``: the
    SCF's last Fock build at the converged density (CPU SCFs), for the partition to reuse."""

    mf: scf.hf.SCF
    info: dict[str, Any]
    final: FinalBuild | None = None


def on_device(mf: scf.hf.SCF, device: str) -> Any:
    """``mf`` itself on ``cpu``; its gpu4pyscf twin (same settings, grid and guess) on ``cuda``."""
    return mf if device == "cpu" else mf.to_gpu()


def host_mean_field(device_mf: Any, mol: gto.Mole, settings: QMSettings) -> scf.hf.SCF:
    """A CPU mean field of ``mol`` at ``settings`` holding the converged orbitals, orbital
    energies (Hartree) and energy of the GPU ``device_mf``, on the DFT grid its SCF used."""
    mf = make_mean_field(mol, settings)
    mf.mo_coeff, mf.mo_occ, mf.mo_energy = (to_host(a) for a in (device_mf.mo_coeff, device_mf.mo_occ,
                                                                   device_mf.mo_energy))
    mf.e_tot, mf.converged = float(device_mf.e_tot), bool(device_mf.converged)
    if settings.is_dft:
        mf.grids.coords, mf.grids.weights = to_host(device_mf.grids.coords), to_host(device_mf.grids.weights)
    return mf


def run_scf(mol: gto.Mole, settings: QMSettings, *, label: str = "molecule", device: str = "cpu") -> SCFOutcome:
    """Converge the SCF of ``mol`` (``label`` names it in errors), falling back through :data:`STRATEGIES`.

    Converged means an energy change below ``conv_tol`` and an orbital gradient below
    ``conv_tol_grad`` (the gradient is recorded in ``info['orbital_gradient']``); where no
    strategy gets there, PySCF's own criterion (strategy ``pyscf-gradient-criterion``).
    ``device`` (:data:`~atomloop.qm.device.LABEL_DEVICES`) runs the SCF with PySCF or, on
    ``cuda``, gpu4pyscf; the outcome's ``mf`` is a CPU mean field either way and
    ``info['device']`` says which ran.
    """
    device = resolve_label_device(device)
    attempts: list[dict[str, Any]] = []
    last_dm = None
    for name, configure in STRATEGIES:
        mf = configure(on_device(make_mean_field(mol, settings), device))
        recorder = FinalBuildRecorder(mf) if device == "cpu" else None
        energy = mf.kernel(dm0=last_dm) if name == "second-order" else mf.kernel()
        last_dm = mf.make_rdm1()
        attempts.append(
            {"strategy": name, "converged": bool(mf.converged), "energy": float(energy),
             "cycles": int(getattr(mf, "cycles", -1))}
        )
        if mf.converged:
            return _outcome(mol, mf, name, attempts, settings, device, recorder)
    relaxed = _converge_to_pyscf_criterion(mol, settings, last_dm, device)
    if relaxed is not None:
        attempts.append({"strategy": "pyscf-gradient-criterion", "converged": True, "energy": float(relaxed.e_tot),
                         "cycles": int(getattr(relaxed, "cycles", -1))})
        return _outcome(mol, relaxed, "pyscf-gradient-criterion", attempts, settings, device)
    tried = "; ".join(f"{a['strategy']}: E={a['energy']:.8f} after {a['cycles']} cycles" for a in attempts)
    raise SCFConvergenceError(
        f"SCF of {label} did not converge to "
        f"{settings.conv_tol:g} Ha within {settings.max_cycle} cycles with any strategy ({tried})"
    )


def orbital_gradient_norm(mf: Any, veff: np.ndarray | None = None) -> float:
    """Norm of the SCF orbital-rotation gradient at ``mf``'s orbitals, from ``veff`` (Hartree,
    the effective potential at ``mf``'s density) or else one Fock build on the device of ``mf``
    (PySCF or gpu4pyscf)."""
    if veff is None:
        veff = mf.get_veff(mf.mol, mf.make_rdm1(mf.mo_coeff, mf.mo_occ))
    fock = mf.get_hcore(mf.mol) + veff
    return float(np.linalg.norm(to_host(mf.get_grad(mf.mo_coeff, mf.mo_occ, fock))))


def _converge_to_pyscf_criterion(mol: gto.Mole, settings: QMSettings, dm0, device: str = "cpu") -> Any | None:
    """Last resort when no strategy reaches ``conv_tol_grad``: converge from ``dm0`` to PySCF's
    own gradient criterion sqrt(conv_tol). Radicals with degenerate orbitals on a DFT grid stall
    there (OH at UKS near 1e-6 at every grid level, measured); such a result is kept with
    its gradient in the info (``gradient_target_met`` says whether it is below ``conv_tol_grad``). ``None`` if that fails too."""
    if settings.conv_tol_grad is None:
        return None
    relaxed = on_device(make_mean_field(mol, replace(settings, conv_tol_grad=None)), device)
    relaxed.kernel(dm0=dm0)
    return relaxed if relaxed.converged else None


def _outcome(mol: gto.Mole, mf: Any, strategy: str, attempts: list[dict[str, Any]], settings: QMSettings,
             device: str, recorder: FinalBuildRecorder | None = None) -> SCFOutcome:
    """The outcome of the converged ``mf`` (on ``device``), its gradient taken where it ran,
    from the last Fock build that ``recorder`` kept where it was made at the final density."""
    final = recorder.final(mf) if recorder is not None else None
    gradient = orbital_gradient_norm(mf, None if final is None else final.veff)
    host = mf if device == "cpu" else host_mean_field(mf, mol, settings)
    return SCFOutcome(mf=host, info=_info(mol, host, strategy, attempts, settings, gradient, device), final=final)


def _info(
    mol: gto.Mole, mf: scf.hf.SCF, strategy: str, attempts: list[dict[str, Any]], settings: QMSettings,
    gradient: float, device: str,
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "orbital_gradient": gradient,
        "gradient_target_met": settings.conv_tol_grad is None or gradient <= settings.conv_tol_grad,
        "reference": _reference_name(mf),
        "strategy": strategy,
        "device": device,
        "attempts": attempts,
        "cycles": attempts[-1]["cycles"],
        "nao": int(mol.nao),
        "nelectron": int(mol.nelectron),
        "charge": int(mol.charge),
        "multiplicity": int(mol.spin + 1),
    }
    if isinstance(mf, scf.uhf.UHF):
        info["s2"] = float(mf.spin_square()[0])
    return info


def _reference_name(mf: scf.hf.SCF) -> str:
    unrestricted = isinstance(mf, scf.uhf.UHF)
    if isinstance(mf, dft.rks.KohnShamDFT):
        return "UKS" if unrestricted else "RKS"
    return "UHF" if unrestricted else "RHF"


def reoptimise_until_stable(mf: scf.uhf.UHF, settings: QMSettings, *, label: str = "molecule") -> scf.uhf.UHF:
    """Re-converge a converged UHF/UKS ``mf`` (at ``settings``) from the lower solution its internal
    stability analysis finds, until it finds none (a saddle point of the SCF energy is left for
    a minimum); where the tight gradient target is out of reach, to PySCF's own criterion.

    ``with_symmetry=False`` lets the analysis break spatial symmetry: for a converged, spherical
    atom PySCF's default guess has no component at all and cannot start.
    """
    settings = replace(settings, reference="unrestricted")
    if all(np.all(occ > 0) or np.all(occ == 0) for occ in mf.mo_occ):
        return mf  # no occupied-virtual rotation in either spin (the H atom in a minimal basis)
    for _ in range(MAX_STABILITY_ROUNDS):
        orbitals, stable = uhf_internal(mf, with_symmetry=False, return_status=True)
        if stable:
            return mf
        dm0 = mf.make_rdm1(orbitals, mf.mo_occ)
        attempt = make_mean_field(mf.mol, settings).newton()  # second order: robust from a rotated start
        attempt.kernel(dm0=dm0)
        lower = attempt if attempt.converged else _converge_to_pyscf_criterion(mf.mol, settings, dm0)
        if lower is not None and lower.e_tot <= mf.e_tot + settings.conv_tol:
            mf = lower
            continue
        if mf.e_tot - attempt.e_tot < MARGINAL_INSTABILITY:
            return mf  # the "instability" is grid noise (coarse DFT grids are not isotropic)
        raise SCFConvergenceError(f"SCF of {label} did not converge after leaving an unstable solution")
    raise SCFConvergenceError(f"SCF of {label} still unstable after {MAX_STABILITY_ROUNDS} re-optimisations")
