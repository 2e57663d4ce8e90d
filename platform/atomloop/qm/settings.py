"""One typed, hashable object with every setting that can change a calculation's numbers.

A calculation is one SCF: its identity (:attr:`QMSettings.settings_hash`) covers the SCF level
only (:data:`SCF_FIELDS`; the basis as PySCF reads it, so ``sto3g`` and ``sto-3g`` are one basis;
the grid only for DFT). Partition schemes, the atomization flag and the localizer threshold
decide which atomic-energy rows are derived from that SCF, not which SCF it is.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import asdict, dataclass
from typing import Any

from atomloop.errors import InputError
from atomloop.qm.schemes import parse_scheme

REFERENCES = ("auto", "restricted", "unrestricted")
SCF_FIELDS = ("method", "basis", "reference", "charge", "multiplicity", "density_fit", "auxbasis", "grid_level",
              "conv_tol", "conv_tol_grad", "max_cycle")


def basis_key(basis: str) -> str:
    """The basis set as PySCF finds it (``sto3g``, ``STO-3G`` and ``sto-3g`` are one key)."""
    from pyscf.gto import basis as basis_library

    formatted = basis_library._format_basis_name(basis)
    return basis_library.ALIAS.get(formatted, formatted)


def _normalise_schemes(schemes: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    if isinstance(schemes, str):
        schemes = (schemes,)
    names: list[str] = []
    for name in schemes:
        parsed = parse_scheme(name).name
        if parsed not in names:
            names.append(parsed)
    return tuple(sorted(names))


def _check_method(method: str) -> None:
    if method == "hf":
        return
    from pyscf.dft import libxc

    try:
        libxc.parse_xc(method)
    except (KeyError, ValueError) as error:
        raise InputError(f"unknown method {method!r}: use 'hf' or a PySCF/libxc functional ({error})") from None


def _check_basis(basis: str) -> None:
    from pyscf.gto import basis as basis_lib

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            basis_lib.load(basis, "H")
    except Exception as error:  # noqa: BLE001 - PySCF raises many types for unknown names
        raise InputError(f"unknown basis set {basis!r}: {error}") from None


@dataclass(frozen=True)
class QMSettings:
    """Settings of one labelling level (all energies Hartree, thresholds in Hartree).

    ``method``: ``"hf"`` or any PySCF/libxc functional (``"b3lyp"``, ``"pbe0"``, ``"wb97x"``).
    ``reference``: ``"auto"`` (restricted for singlets, unrestricted otherwise), ``"restricted"``
    or ``"unrestricted"``. ``charge``/``multiplicity``: used when the ``Atoms`` do not say
    (``None`` multiplicity: 1 for an even electron count, 2 for odd). ``grid_level``: PySCF DFT
    grid level (0-9). ``atomization``: also report E_A minus the free (spin-polarised) atom's
    energy at the same level. ``conv_tol``: SCF energy change; ``conv_tol_grad``: SCF orbital
    gradient (``None``: PySCF's sqrt(conv_tol)). Atomic energies, unlike the total, are first
    order in the density error: at B3LYP/def2-SVP (methanol) PySCF's default left the orbital
    gradient near 1e-6 and moved mo-pm-iao atomic energies by 1.7e-7 Ha; 1e-8 moves them by
    2e-9 Ha for three more SCF cycles. ``localization_tol``: objective-change threshold of the
    orbital localizers (their gradient is converged to
    :data:`atomloop.qm.localize.GRADIENT_TOLERANCE`).
    """

    method: str = "hf"
    basis: str = "sto-3g"
    schemes: tuple[str, ...] = ("mo-pm-iao", "ao-eda")
    reference: str = "auto"
    charge: int = 0
    multiplicity: int | None = None
    density_fit: bool = False
    auxbasis: str | None = None
    grid_level: int = 3
    conv_tol: float = 1e-10
    conv_tol_grad: float | None = 1e-8
    max_cycle: int = 100
    localization_tol: float = 1e-10
    atomization: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", self.method.strip().lower())
        object.__setattr__(self, "basis", self.basis.strip().lower())
        object.__setattr__(self, "schemes", _normalise_schemes(self.schemes))
        if self.reference not in REFERENCES:
            raise InputError(f"reference must be one of {', '.join(REFERENCES)}, not {self.reference!r}")
        if self.multiplicity is not None and self.multiplicity < 1:
            raise InputError(f"multiplicity must be >= 1, not {self.multiplicity}")
        if not 0 <= self.grid_level <= 9:
            raise InputError(f"grid_level must be 0..9, not {self.grid_level}")
        if self.conv_tol <= 0 or self.localization_tol <= 0 or self.max_cycle < 1:
            raise InputError("conv_tol and localization_tol must be > 0 and max_cycle >= 1")
        _check_method(self.method)
        _check_basis(self.basis)

    @property
    def is_dft(self) -> bool:
        """True for Kohn-Sham DFT, False for Hartree-Fock."""
        return self.method != "hf"

    def to_dict(self) -> dict[str, Any]:
        """All settings as plain JSON types (schemes as a list)."""
        data = asdict(self)
        data["schemes"] = list(self.schemes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "QMSettings":
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        data["schemes"] = tuple(data.get("schemes", ()))
        return cls(**data)

    def scf_settings(self) -> dict[str, Any]:
        """The settings that decide the SCF (:data:`SCF_FIELDS`), as given."""
        return {name: getattr(self, name) for name in SCF_FIELDS}

    @property
    def scf_identity(self) -> dict[str, Any]:
        """:meth:`scf_settings` canonicalised: the basis as :func:`basis_key`, no grid for HF."""
        identity = {**self.scf_settings(), "basis": basis_key(self.basis)}
        if not self.is_dft:
            identity.pop("grid_level")
        return identity

    @property
    def settings_hash(self) -> str:
        """sha256 hex of the canonical JSON of :attr:`scf_identity`: one calculation per molecule
        and SCF level, whatever schemes are derived from it."""
        canonical = json.dumps(self.scf_identity, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()
