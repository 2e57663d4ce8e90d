"""Names importable without torch: the architectures, where labels come from and where they sit
on ASE ``Atoms``, and the shape of a model's training curves."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

ARCHITECTURES: tuple[str, ...] = ("schnet", "nequip")

ENERGY_INFO_KEY = "energy"  # atoms.info[...]: molecular energy label, Hartree
ATOMIC_ENERGIES_ARRAY_KEY = "atomic_energies"  # atoms.arrays[...]: (natoms,) atomic energy labels, Hartree


@dataclass(frozen=True)
class LabelSource:
    """Where labels come from: calculations at ``settings_hash``, atomic energies of ``scheme``
    (``atomization``: the atomic energies minus the free atoms', and their sum as the molecular
    label; :mod:`atomloop.store.labels` reads them)."""

    settings_hash: str
    scheme: str | None = None
    atomization: bool = False


VALIDATION_RULES = ("auto", "holdout", "k-fold")  # how training sets are validated: atomloop.models.fitting
MODEL_FOLD = 0  # fold number of the training that made a model; 1..k are its k-fold validation trainings
Curves = Mapping[int, Sequence[Mapping[str, float]]]  # fold -> one history entry per epoch (TrainingResult.history)
