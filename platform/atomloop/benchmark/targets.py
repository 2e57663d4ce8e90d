"""Target chemistries: one of atomloop's functional-group names or a SMARTS pattern."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from atomloop.datasets.functional_groups import GROUP_SMARTS
from atomloop.errors import InputError


@dataclass(frozen=True)
class Target:
    """A chemistry to predict: its ``name`` (the group name or the SMARTS itself) and SMARTS."""

    name: str
    smarts: str


def resolve_target(text: str) -> Target:
    """A functional-group name of :data:`~atomloop.datasets.functional_groups.GROUP_SMARTS`, else a
    SMARTS pattern; anything else is an ``InputError``."""
    from rdkit import Chem, RDLogger

    known = dict(GROUP_SMARTS)
    if text in known:
        return Target(text, known[text])
    RDLogger.DisableLog("rdApp.*")
    if not text.strip() or Chem.MolFromSmarts(text) is None:
        raise InputError(f"--target {text!r} is neither a functional group ({', '.join(known)}) nor a SMARTS "
                         "pattern RDKit can parse")
    return Target(text, text)


def target_membership(smiles: Sequence[str], targets: Sequence[Target]) -> np.ndarray:
    """Per molecule, the index of the first target whose pattern it contains, else -1; shape (n,)."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    patterns = [Chem.MolFromSmarts(t.smarts) for t in targets]
    membership = np.full(len(smiles), -1, dtype=int)
    for i, text in enumerate(smiles):
        molecule = Chem.MolFromSmiles(text) if text else None
        if molecule is None:
            continue
        for t, pattern in enumerate(patterns):
            if molecule.HasSubstructMatch(pattern):
                membership[i] = t
                break
    return membership
