"""One SCF, several partitionings: ``compute(atoms, settings) -> QMResult``; more schemes from
the stored orbitals of that SCF, without a new one: ``repartition(atoms, settings, orbitals, energy)``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyscf
from ase import Atoms

from atomloop.qm.atoms import free_atom_energy
from atomloop.qm.blocks import single_atom_mask
from atomloop.qm.errors import QMError, UnsupportedCalculationError
from atomloop.qm.final_build import FinalBuild
from atomloop.qm.localize import localize
from atomloop.qm.operators import blocks_belong_to, build_operators
from atomloop.qm.orbitals import OccupiedOrbitals
from atomloop.qm.partition import Channel, OperatorBlocks, ao_partition, mo_partition, total_by_atom
from atomloop.qm.populations import orbital_weights, population_matrices
from atomloop.qm.scf import build_molecule, make_mean_field, run_scf
from atomloop.qm.schemes import Scheme, parse_scheme
from atomloop.qm.settings import QMSettings

SUM_RULE_TOLERANCE = 1e-7  # Hartree; the partition is exact, this only guards against bugs


@dataclass
class QMResult:
    """The labels of one molecule (energies in Hartree, times in seconds).

    ``atomic_energies[scheme]``: (natoms,) with sum = ``energy``; ``terms[scheme][term]``:
    (natoms,) per energy term (see :data:`atomloop.qm.partition.TERMS`);
    ``atomization[scheme]``: (natoms,) E_A minus the free atom's energy (when requested);
    ``timings``: seconds for 'scf', 'operators', 'localize:<method>', 'partition:<scheme>';
    ``orbitals``: the SCF's occupied orbitals, to derive more schemes later.
    """

    energy: float
    numbers: np.ndarray
    atomic_energies: dict[str, np.ndarray]
    terms: dict[str, dict[str, np.ndarray]]
    converged: bool
    scf_info: dict[str, Any]
    wall_time: float
    program_version: str
    settings_hash: str
    timings: dict[str, float] = field(default_factory=dict)
    atomization: dict[str, np.ndarray] = field(default_factory=dict)
    free_atom_energies: dict[int, float] = field(default_factory=dict)
    orbitals: OccupiedOrbitals | None = None


class _Partitioner:
    """Shares the operator blocks and localized orbitals between the schemes of one calculation."""

    def __init__(self, mol, blocks: OperatorBlocks, channels: list[Channel], settings: QMSettings,
                 timings: dict[str, float]) -> None:
        self.mol = mol
        self.blocks = blocks
        self.settings = settings
        self.timings = timings
        self.channels = channels
        self._localized: dict[str, tuple[list[Channel], list[np.ndarray]]] = {}
        self.localization_gradients: dict[str, float] = {}  # largest over channels

    def localized(self, method: str) -> tuple[list[Channel], list[np.ndarray]]:
        """The channels' orbitals localized by ``method`` and their rotations U (nocc, nocc)
        from the canonical orbitals C (localized = C U; U = C^T S localized)."""
        if method == "canonical":
            return self.channels, [np.eye(channel.coeff.shape[1]) for channel in self.channels]
        if method not in self._localized:
            start = time.perf_counter()
            overlap = self.mol.intor_symmetric("int1e_ovlp")
            channels, rotations = [], []
            for channel in self.channels:
                orbitals, gradient = localize(self.mol, channel.coeff, method, tol=self.settings.localization_tol)
                self.localization_gradients[method] = max(self.localization_gradients.get(method, 0.0), gradient)
                # PM(IAO) is exactly flat under rotations of orbitals that lie wholly on one atom
                free = single_atom_mask(orbital_weights(self.mol, orbitals, "iao")) if method == "pm" else None
                channels.append(Channel(orbitals, channel.occupation, free))
                rotations.append(channel.coeff.T @ overlap @ orbitals)
            self._localized[method] = channels, rotations
            self.timings[f"localize:{method}"] = time.perf_counter() - start
        return self._localized[method]

    def terms(self, scheme: Scheme) -> dict[str, np.ndarray]:
        if scheme.family == "ao":
            return ao_partition(self.blocks)
        channels, rotations = self.localized(scheme.localization)
        start = time.perf_counter()
        populations = [population_matrices(self.mol, channel.coeff, scheme.population) for channel in channels]
        terms = mo_partition(self.blocks, channels, rotations, populations)
        self.timings[f"weights:{scheme.name}"] = time.perf_counter() - start
        return terms


def _check_ecp_support(mol, settings: QMSettings) -> None:
    """IAOs (IAO weights, and PM which localizes with IAO populations) need all-electron atoms."""
    if not mol.has_ecp():
        return
    needs_iao = [name for name in settings.schemes
                 if (scheme := parse_scheme(name)).population == "iao" or scheme.localization == "pm"]
    if needs_iao:
        raise UnsupportedCalculationError(
            f"basis {settings.basis} puts effective core potentials on {sorted(mol.ecp)}; "
            f"IAO-based schemes {', '.join(needs_iao)} need all-electron atoms (use ao-eda, mo-canonical-/mo-fb-"
            "mulliken or -lowdin, or an all-electron basis)"
        )


def _partitioned(
    atoms: Atoms, settings: QMSettings, mol, mean_field: Callable[[], Any], orbitals: OccupiedOrbitals,
    energy: float, scf_info: dict[str, Any], timings: dict[str, float], started: float,
    final: FinalBuild | None = None,
) -> QMResult:
    """Every scheme of ``settings`` (and atomization) from ``orbitals`` of the SCF of energy
    ``energy``; ``mean_field()`` gives the SCF's mean field when the orbitals carry no operator
    blocks yet (they are built once, from the SCF's last Fock build ``final`` where it was kept,
    and kept with the orbitals of the result)."""
    numbers = atoms.get_atomic_numbers().copy()
    atomic_energies: dict[str, np.ndarray] = {}
    terms: dict[str, dict[str, np.ndarray]] = {}
    if settings.schemes:
        if orbitals.operators is None:
            start = time.perf_counter()
            orbitals = replace(orbitals, operators=build_operators(mean_field(), orbitals.channels(), final))
            timings["operators"] = time.perf_counter() - start
        elif not blocks_belong_to(orbitals.operators, mol):
            raise QMError(f"the kept orbitals of {atoms.get_chemical_formula()} belong to another geometry or basis")
        partitioner = _Partitioner(mol, orbitals.operators, orbitals.channels(), settings, timings)
        for name in settings.schemes:
            start = time.perf_counter()
            terms[name] = partitioner.terms(parse_scheme(name))
            atomic_energies[name] = total_by_atom(terms[name])
            timings[f"partition:{name}"] = time.perf_counter() - start
            error = abs(atomic_energies[name].sum() - energy)
            if not error <= SUM_RULE_TOLERANCE:  # also catches NaN
                raise QMError(f"{name}: atomic energies miss the total energy by {error:.2e} Ha")
        if partitioner.localization_gradients:
            scf_info["localization_gradient"] = partitioner.localization_gradients
    result = QMResult(
        energy=energy,
        numbers=numbers,
        atomic_energies=atomic_energies,
        terms=terms,
        converged=True,
        scf_info=scf_info,
        wall_time=0.0,
        program_version=pyscf.__version__,
        settings_hash=settings.settings_hash,
        timings=timings,
        orbitals=orbitals,
    )
    if settings.atomization:
        start = time.perf_counter()
        result.free_atom_energies = {int(z): free_atom_energy(int(z), settings) for z in sorted(set(numbers))}
        references = np.array([result.free_atom_energies[int(z)] for z in numbers])
        result.atomization = {name: values - references for name, values in atomic_energies.items()}
        timings["free_atoms"] = time.perf_counter() - start
    result.wall_time = time.perf_counter() - started
    return result


def compute(atoms: Atoms, settings: QMSettings, *, max_memory_mb: float | None = None,
            device: str = "cpu") -> QMResult:
    """Run the SCF of ``atoms`` (positions Å) at ``settings`` and partition its energy.

    Charge and multiplicity come from ``atoms.info`` / initial magnetic moments / settings.
    ``device`` (auto, cpu or cuda: :mod:`atomloop.qm.device`) runs the SCF on the CPU or, with
    gpu4pyscf, on a CUDA GPU; partitioning runs on the CPU. The device is recorded in
    ``scf_info['device']`` and is not part of the settings hash.
    Raises :class:`~atomloop.qm.errors.SCFConvergenceError` if no SCF strategy converges.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    mol = build_molecule(atoms, settings, max_memory_mb=max_memory_mb)
    _check_ecp_support(mol, settings)
    outcome = run_scf(mol, settings, label=atoms.get_chemical_formula(), device=device)
    timings["scf"] = time.perf_counter() - started
    orbitals = OccupiedOrbitals.from_mean_field(outcome.mf)
    result = _partitioned(atoms, settings, outcome.mf.mol, lambda: outcome.mf, orbitals, float(outcome.mf.e_tot), outcome.info,
                          timings, started, outcome.final)
    result.converged = bool(outcome.mf.converged)
    return result


def repartition(
    atoms: Atoms, settings: QMSettings, orbitals: OccupiedOrbitals, energy: float, *, max_memory_mb: float | None = None
) -> QMResult:
    """The schemes of ``settings`` from the stored occupied ``orbitals`` of an SCF at ``settings``'
    level whose total energy is ``energy`` (Hartree): no SCF is run, and no operator is built
    when the orbitals carry their operator blocks (else they are rebuilt once, from the orbitals).

    The sum rule is checked against ``energy``, so orbitals of another level or molecule fail.
    """
    started = time.perf_counter()
    mol = build_molecule(atoms, settings, max_memory_mb=max_memory_mb)
    _check_ecp_support(mol, settings)

    def mean_field():  # only for orbitals kept without operator blocks (format v1)
        mf = make_mean_field(mol, settings)
        if settings.is_dft:
            mf.grids.build(with_non0tab=True)
        return mf

    return _partitioned(atoms, settings, mol, mean_field, orbitals, float(energy), {"repartitioned": True}, {}, started)
