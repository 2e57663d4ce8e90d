"""2-D structure drawings (RDKit depictions, SVG) of stored molecules for the reports.

A molecule is read from its stored SMILES when it has one, else from its 3-D structure
(atomic numbers, positions in Å, total charge): RDKit's :func:`rdDetermineBonds.DetermineBonds`
perceives connectivity and bond orders from the interatomic distances. A radical (an odd number
of electrons: C3H7, ClO, C2H) has no closed-shell bond orders; its bonds are those of the anion
with one electron more, whose one negative atom becomes the radical centre (C2H: H-C≡C•), or
failing that single bonds with radical electrons wherever valences are short. Where RDKit still
cannot sanitise the molecule there is no drawing and the report writes the formula.
"""

from __future__ import annotations

from collections.abc import Sequence

from ase.data import chemical_symbols
from rdkit import Chem, RDLogger
from rdkit.Chem import rdDepictor, rdDetermineBonds
from rdkit.Chem.Draw import rdMolDraw2D

SIZE = (200, 160)  # pixels of one drawing


def _xyz_mol(numbers: Sequence[int], positions: Sequence[Sequence[float]]) -> Chem.Mol | None:
    """The atoms at their positions (Å), without bonds."""
    lines = [f"{chemical_symbols[z]} {x:.6f} {y:.6f} {z_:.6f}" for z, (x, y, z_) in zip(numbers, positions)]
    return Chem.MolFromXYZBlock(f"{len(lines)}\n\n" + "\n".join(lines) + "\n")


def _as_radical(mol: Chem.Mol) -> bool:
    """Turn the one negatively charged atom of an anion into a neutral radical centre (in
    place); False when the charges are not one atom at -1."""
    charged = [atom for atom in mol.GetAtoms() if atom.GetFormalCharge()]
    if len(charged) != 1 or charged[0].GetFormalCharge() != -1:
        return False
    charged[0].SetFormalCharge(0)
    charged[0].SetNumRadicalElectrons(charged[0].GetNumRadicalElectrons() + 1)
    return True


def _from_structure(numbers: Sequence[int], positions: Sequence[Sequence[float]], charge: int) -> Chem.Mol | None:
    """The molecule with bonds perceived from its geometry (positions in Å): closed-shell bond
    orders at ``charge``, else a radical (see the module docstring), else None."""
    attempts = (
        (charge, {}, lambda mol: True),
        (charge - 1, {}, _as_radical),
        (charge, {"allowChargedFragments": False}, lambda mol: True),
    )
    for total, options, accept in attempts:
        mol = _xyz_mol(numbers, positions)
        if mol is None:
            return None
        try:
            rdDetermineBonds.DetermineBonds(mol, charge=total, **options)
        except ValueError:  # no bond orders give this charge
            continue
        if accept(mol):
            return mol
    return None


def depiction_svg(
    numbers: Sequence[int], positions: Sequence[Sequence[float]], *, charge: int = 0, smiles: str | None = None
) -> str | None:
    """An SVG drawing (``SIZE`` pixels, hydrogens implicit) of a molecule given by its atomic
    numbers (n,) and positions (n, 3) in Å, or by ``smiles`` when given; None when neither
    yields a molecule RDKit can sanitise."""
    RDLogger.DisableLog("rdApp.*")  # a failed perception is reported by the None, not on stderr
    try:
        mol = Chem.MolFromSmiles(smiles) if smiles else None
        mol = mol if mol is not None else _from_structure(numbers, positions, charge)
        if mol is None:
            return None
        try:
            Chem.SanitizeMol(mol)
        except (Chem.rdchem.MolSanitizeException, ValueError):
            return None
        mol = Chem.RemoveHs(mol)
    finally:
        RDLogger.EnableLog("rdApp.*")
    rdDepictor.Compute2DCoords(mol)
    drawer = rdMolDraw2D.MolDraw2DSVG(*SIZE)
    drawer.DrawMolecule(mol)
    drawer.FinishDrawing()
    svg = drawer.GetDrawingText()
    return svg[svg.index("<svg"):]  # inline in HTML: without the XML declaration
