"""Localized occupied orbitals: Pipek-Mezey (IAO populations) and Foster-Boys, both started from
intrinsic bond orbitals (IBOs; Foster-Boys from the canonical orbitals when ECPs are present).

Three stages, each checked:

1. PySCF's second-order (CIAH) optimiser from the IBOs, to |g| < :data:`HANDOVER_GRADIENT`;
2. the stability analysis (Jacobi sweeps for PM, a Hessian eigenvalue for Foster-Boys, seeded
   so that it is the same on every run) with re-optimisation until no descent direction is left
   (a localizer can stop at a saddle point);
3. Newton steps with the exact, slightly level-shifted Hessian (solved by MINRES; the shift
   keeps flat directions from taking large steps) with backtracking, until the
   orbital-rotation gradient is below :data:`GRADIENT_TOLERANCE`.

Stage 3 exists because CIAH stalls: for water at HF/STO-3G it stops at |g| = 1.3e-7 with
delta_f = 0 for 100 macro iterations, and the atomic energies then depend on the BLAS kernels
(E_O moved by 3e-7 Ha, the two hydrogens differed by 3e-6 Ha). A localization whose gradient is
above :data:`GRADIENT_LIMIT` after all stages raises :class:`LocalizationError` (a failed calculation).

PySCF 2.14 signature: ``lo.PM(mol, mo_coeff, pop_method=...)``.
"""

from __future__ import annotations

import numpy as np
from pyscf import gto, lo
from scipy.sparse.linalg import LinearOperator, minres

from atomloop.qm.errors import LocalizationError

MAX_STABILITY_ROUNDS = 10
MAX_NEWTON_STEPS = 12
BACKTRACKING = (1.0, 0.5, 0.25, 0.1, 0.01)
# Added to the Hessian: a flat direction (eigenvalue ~0, CH3CN has one at -6.5e-10) would otherwise
# take a step of g/lambda, a large rotation that changes the gradient everywhere else.
LEVEL_SHIFT = 1e-6
# Norm of the orbital-rotation gradient a localization must reach. Atomic energies move by about
# 10 x |g| Ha (measured on water), so 1e-10 keeps them reproducible far below 1e-8 Ha.
GRADIENT_TOLERANCE = 1e-10
# A localization whose gradient stays above this is a failed calculation. Between the two,
# Newton converges slowly along nearly flat directions (CF4 PM(IAO): F lone-pair rotations with
# Hessian eigenvalues 4e-9 stop near 1.2e-10): kept, the gradient recorded in the calculation's
# ``scf_info['localization_gradient']``.
GRADIENT_LIMIT = 1e-6
# CIAH's own gradient target: from there stage 3 converges quadratically to the same maximum
# (atomic energies within 2e-13 Ha of a CIAH run to 1e-8, water to C6H6), where CIAH would
# stall until its iteration limit.
HANDOVER_GRADIENT = 1e-6
# CIAH macro iterations at most: it reaches the handover in a few where it gets there at all,
# then stalls without moving the orbitals (ethanol FB at |g| = 1.2e-6, delta_f = 0).
MAX_CIAH_CYCLES = 25
STABILITY_SEED = 20240459  # the Foster-Boys stability analysis starts from random vectors


def intrinsic_bond_orbitals(mol: gto.Mole, coeff: np.ndarray) -> np.ndarray:
    """IBOs spanning the same space as ``coeff`` (nao, nocc)."""
    overlap = mol.intor_symmetric("int1e_ovlp")
    iaos = lo.orth.vec_lowdin(lo.iao.iao(mol, coeff), overlap)
    return lo.ibo.ibo(mol, coeff, iaos=iaos, verbose=0)


def with_kept_dipole_integrals(mol: gto.Mole) -> gto.Mole:
    """A copy of ``mol`` that computes its AO dipole integrals (int1e_r, (3, nao, nao) bohr)
    once per common origin: PySCF's Foster-Boys asks for them at every step and every cost or
    gradient evaluation."""
    copy = mol.copy()
    intor_symmetric, kept = copy.intor_symmetric, {}

    def intor(name, comp=None, *args, **kwargs):
        if name != "int1e_r" or args or kwargs:
            return intor_symmetric(name, comp, *args, **kwargs)
        key = (comp, tuple(copy._env[gto.mole.PTR_COMMON_ORIG:gto.mole.PTR_COMMON_ORIG + 3]))
        if key not in kept:
            kept[key] = intor_symmetric(name, comp)
        return kept[key]

    copy.intor_symmetric = intor
    return copy


def _make_localizer(mol: gto.Mole, start: np.ndarray, method: str, tol: float) -> lo.boys.OrbitalLocalizer:
    localizer = lo.PM(mol, start, pop_method="iao") if method == "pm" else lo.Boys(with_kept_dipole_integrals(mol), start)
    localizer.conv_tol = tol
    localizer.conv_tol_grad = HANDOVER_GRADIENT
    localizer.max_cycle = MAX_CIAH_CYCLES
    localizer.verbose = 0
    return localizer


def _check_stability(localizer: lo.boys.OrbitalLocalizer, method: str) -> tuple[np.ndarray, bool]:
    if method == "pm":
        return localizer.stability_jacobi(return_status=True)
    state = np.random.get_state()
    np.random.seed(STABILITY_SEED)
    try:
        return localizer.stability(return_status=True)
    finally:
        np.random.set_state(state)


def _gradient_and_hessian(localizer: lo.boys.OrbitalLocalizer, orbitals: np.ndarray):
    localizer.mo_coeff = orbitals
    if hasattr(localizer, "get_proj_data"):  # PM caches its IAO projections between calls
        localizer._proj_data = localizer.get_proj_data()
    gradient, hessian_product, _ = localizer.gen_g_hop()
    return gradient, hessian_product


def newton_polish(localizer: lo.boys.OrbitalLocalizer, orbitals: np.ndarray) -> tuple[np.ndarray, float]:
    """Newton steps from ``orbitals`` (nao, nocc) until |g| < :data:`GRADIENT_TOLERANCE`.

    PySCF's ``gen_g_hop`` returns the gradient and Hessian of the objective to *minimise*; each
    step solves (H + :data:`LEVEL_SHIFT`) x = -g by MINRES, so exactly flat directions get no
    large step. Returns the orbitals and the final gradient norm.
    """
    gradient, hessian_product = _gradient_and_hessian(localizer, orbitals)
    norm = float(np.linalg.norm(gradient))
    for _ in range(MAX_NEWTON_STEPS):
        if norm < GRADIENT_TOLERANCE:
            break
        size = gradient.size
        operator = LinearOperator((size, size), matvec=lambda x, h=hessian_product: h(x) + LEVEL_SHIFT * x, dtype=float)
        step, _ = minres(operator, -gradient, rtol=1e-12, maxiter=10 * size)
        for scale in BACKTRACKING:  # nearly flat directions can make the full step overshoot
            candidate = orbitals @ localizer.extract_rotation(scale * step)
            new_gradient, new_hessian_product = _gradient_and_hessian(localizer, candidate)
            new_norm = float(np.linalg.norm(new_gradient))
            if new_norm < norm:
                break
        else:  # Newton no longer helps: report where it stands
            break
        orbitals, gradient, hessian_product, norm = candidate, new_gradient, new_hessian_product, new_norm
    if hasattr(localizer, "_proj_data"):
        localizer._proj_data = None
    return orbitals, norm


def localize(mol: gto.Mole, coeff: np.ndarray, method: str, *, tol: float = 1e-10) -> tuple[np.ndarray, float]:
    """Occupied orbitals (nao, nocc) localized by ``method`` ('canonical': unchanged, 'pm', 'fb')
    and the norm of their final orbital-rotation gradient (0 where nothing is optimised).

    ``tol`` is the objective-change threshold of PySCF's optimiser; convergence is judged by the
    gradient (target :data:`GRADIENT_TOLERANCE`). Raises :class:`LocalizationError` above
    :data:`GRADIENT_LIMIT`.
    """
    if method == "canonical" or coeff.shape[1] < 2:
        return coeff, 0.0
    if method not in ("pm", "fb"):
        raise ValueError(f"unknown localization {method!r}")
    # IBOs need IAOs, which need all-electron atoms; with ECPs Foster-Boys starts from ``coeff``.
    orbitals = coeff if mol.has_ecp() else intrinsic_bond_orbitals(mol, coeff)
    localizer = _make_localizer(mol, orbitals, method, tol)
    for _ in range(MAX_STABILITY_ROUNDS):
        orbitals = localizer.kernel(orbitals)
        rotated, stable = _check_stability(localizer, method)
        if stable:
            break
        orbitals = rotated
    else:
        raise LocalizationError(
            f"{method.upper()} localization still unstable after {MAX_STABILITY_ROUNDS} re-optimisations"
        )
    orbitals, gradient_norm = newton_polish(localizer, orbitals)
    if not gradient_norm < GRADIENT_LIMIT:
        raise LocalizationError(
            f"{method.upper()} localization did not converge: orbital-rotation gradient {gradient_norm:.1e} "
            f"after {MAX_NEWTON_STEPS} Newton steps (needs < {GRADIENT_LIMIT:.0e})"
        )
    return orbitals, gradient_norm
