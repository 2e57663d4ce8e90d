"""Functional-group classes of a molecule from its SMILES (RDKit substructure patterns), for
molecules that arrive without them (QM9's). :data:`FUNCTIONAL_GROUPS` are the classes of the
study's group-transfer split in order of precedence: a molecule is tagged with every class it
contains, and the split takes the first in this order as its group (a furan carboxamide is
``heteroaromatic``; atomloop's organic SMILES carry one class each).
"""

from __future__ import annotations

from functools import cache

GROUP_SMARTS = (
    ("heteroaromatic", "[a;!c]"),  # an aromatic ring atom other than carbon
    ("aromatic", "c1ccccc1"),  # a benzene ring
    ("amide", "[CX3](=O)[NX3]"),
    ("ester", "[CX3](=O)[OX2][#6]"),
    ("acid", "[CX3](=O)[OX2H1]"),
    ("aldehyde", "[CX3;H1,H2]=O"),
    ("ketone", "[#6][CX3](=O)[#6]"),
    ("nitrile", "C#N"),
    ("alkyne", "C#C"),
    ("amine", "[NX3;!$(N[C,S]=[O,N,S]);!$(Na)]"),
    ("alcohol", "[OX2H][#6;!$(C=O)]"),  # phenols too; not an acid's OH
    ("ether", "[OD2;!$(OC=O)]([#6])[#6]"),
    ("alkene", "C=C"),
    ("halide", "[F,Cl,Br,I]"),
)
FUNCTIONAL_GROUPS = (*(name for name, _ in GROUP_SMARTS), "alkane")


@cache
def _patterns():
    from rdkit import Chem

    return [(name, Chem.MolFromSmarts(smarts)) for name, smarts in GROUP_SMARTS]


def functional_groups(smiles: str) -> list[str]:
    """The classes of :data:`GROUP_SMARTS` found in ``smiles``, in that order; a hydrocarbon
    without any is ``["alkane"]``; unparsable SMILES, or none found otherwise: ``[]``."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    molecule = Chem.MolFromSmiles(smiles)
    if molecule is None:
        return []
    found = [name for name, pattern in _patterns() if molecule.HasSubstructMatch(pattern)]
    if not found and all(atom.GetSymbol() == "C" for atom in molecule.GetAtoms()):
        return ["alkane"]
    return found
