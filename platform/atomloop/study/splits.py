"""Transfer splits of a dataset into a training side (pool + validation) and a test side.

Splits move whole molecules (every conformer of a ``composition_hash`` lies on one side):

- ``in-distribution``: a seeded random ``test_fraction`` of the molecules (the control);
- ``size-transfer``: the largest molecules (most heavy atoms; ``test_fraction`` of them) are
  tested, the smaller ones trained on;
- ``group-transfer``: molecules of the ``transfer_groups`` functional groups are tested,
  the other groups trained on;
- ``larger-molecules``: the molecules of the larger set (``StudyMolecule.larger``: the shipped
  ``atomloop:larger-labelled``, 10 to 16 heavy atoms, beside a QM9-sized dataset) are tested,
  the dataset's own molecules trained on. The other splits never see the larger molecules
  (neither side): they split the dataset's own molecules only.

The validation molecules (``valid_fraction`` of the training side, at least 2) are drawn
once per split and seed, so every training set of a split is compared on the same ones.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from atomloop.datasets.functional_groups import FUNCTIONAL_GROUPS
from atomloop.errors import InputError

UNGROUPED = "other"
LARGER_MOLECULES = "larger-molecules"  # the split that tests on the larger set


def functional_group(tags: Sequence[str]) -> str:
    """The molecule's group: of its tags that name a functional group, the first in the order
    of precedence of :data:`FUNCTIONAL_GROUPS` (else ``other``)."""
    return min((tag for tag in tags if tag in FUNCTIONAL_GROUPS), key=FUNCTIONAL_GROUPS.index, default=UNGROUPED)


@dataclass(frozen=True)
class StudyMolecule:
    """A labelled molecule of the study: id, atoms, heavy (non-H) atoms, group, identity, and
    ``larger``: whether it belongs to the larger set (the test side of ``larger-molecules``, in no
    other split) rather than to the dataset."""

    id: int
    natoms: int
    heavy_atoms: int
    group: str
    composition_hash: str
    formula: str
    larger: bool = False


@dataclass(frozen=True)
class SplitSets:
    """Molecule ids of one split: training ``pool`` (selection draws from it), ``valid``
    (early stopping) and ``test``."""

    name: str
    pool: list[int]
    valid: list[int]
    test: list[int]


def _by_identity(molecules: Sequence[StudyMolecule]) -> dict[str, list[StudyMolecule]]:
    groups: dict[str, list[StudyMolecule]] = {}
    for molecule in molecules:
        groups.setdefault(molecule.composition_hash, []).append(molecule)
    return groups


def _ids(groups: Sequence[list[StudyMolecule]]) -> list[int]:
    return sorted(m.id for group in groups for m in group)


def _shuffled(groups: dict[str, list[StudyMolecule]], seed: int) -> list[list[StudyMolecule]]:
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    return [groups[k] for k in keys]


def _take(groups: Sequence[list[StudyMolecule]], wanted: int) -> tuple[list[list[StudyMolecule]], list[list[StudyMolecule]]]:
    """The first whole groups holding at least ``wanted`` molecules, and the rest."""
    taken, count = 0, 0
    while taken < len(groups) and count < wanted:
        count += len(groups[taken])
        taken += 1
    return list(groups[:taken]), list(groups[taken:])


def split_dataset(
    molecules: Sequence[StudyMolecule],
    split: str,
    *,
    seed: int,
    test_fraction: float,
    valid_fraction: float,
    transfer_groups: Sequence[str],
) -> SplitSets:
    """The pool, validation and test ids of ``split`` (deterministic for a seed)."""
    if split == LARGER_MOLECULES:
        test = list(_by_identity([m for m in molecules if m.larger]).values())
        train = list(_by_identity([m for m in molecules if not m.larger]).values())
        if not test:
            raise InputError(f"{LARGER_MOLECULES} needs molecules of the larger set (atomloop:larger-labelled); "
                             "none is labelled at the study's level")
        return _with_validation(split, train, test, seed, valid_fraction)
    molecules = [m for m in molecules if not m.larger]
    groups = _by_identity(molecules)
    n_test = max(2, round(test_fraction * len(molecules)))
    if split == "in-distribution":
        test, train = _take(_shuffled(groups, seed), n_test)
    elif split == "size-transfer":
        ordered = sorted(groups.values(), key=lambda g: (-g[0].heavy_atoms, -g[0].natoms, g[0].composition_hash))
        test, train = _take(ordered, n_test)
    elif split == "group-transfer":
        held_out = set(transfer_groups)
        test = [g for g in groups.values() if g[0].group in held_out]
        train = [g for g in groups.values() if g[0].group not in held_out]
        if not test or not train:
            present = sorted({m.group for m in molecules})
            raise InputError(
                f"group-transfer needs molecules inside and outside the held-out groups {sorted(held_out)}; "
                f"the dataset's groups are {present} (tag molecules with a functional group, or leave this split out)"
            )
    else:
        raise InputError(f"unknown split {split!r}")
    return _with_validation(split, train, test, seed, valid_fraction)


def _with_validation(split: str, train: Sequence[list[StudyMolecule]], test: Sequence[list[StudyMolecule]], seed: int,
                     valid_fraction: float) -> SplitSets:
    """The split with its validation molecules drawn from the training side."""
    train = _shuffled({g[0].composition_hash: g for g in train}, seed + 1)
    valid, pool = _take(train, max(2, round(valid_fraction * sum(len(g) for g in train))))
    if len(pool) < 2:
        raise InputError(f"split {split!r} leaves {len(pool)} training molecules; the dataset is too small")
    return SplitSets(name=split, pool=_ids(pool), valid=_ids(valid), test=_ids(test))
