"""3-D structures from SMILES with RDKit: hydrogens added, ETKDG embedding, MMFF relaxation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
from ase import Atoms

from atomloop.errors import InputError
from atomloop.ingest.xyz import text_lines

# Largest molecule (atoms, hydrogens included) embedded in 3-D: ETKDG's time and memory grow
# steeply with size (a 2,000-atom SMILES takes minutes and 1.8 GB), and the labelling refuses
# molecules above 200 atoms by default (ResourceLimits.max_atoms). Give larger ones as .xyz.
MAX_SMILES_ATOMS = 200
_SHOWN_SMILES = 60  # characters of a SMILES quoted in an error message


def _shown(smiles: str) -> str:
    """``smiles`` quoted for a message, cut to ``_SHOWN_SMILES`` characters."""
    return repr(smiles if len(smiles) <= _SHOWN_SMILES else smiles[:_SHOWN_SMILES] + "...")


def atoms_from_smiles(smiles: str, *, conformers: int = 1, seed: int = 42) -> list[Atoms]:
    """Force-field-relaxed conformers of ``smiles`` (positions in Å).

    ``info`` carries ``smiles`` and the formal ``charge``. Raises ``InputError`` for a SMILES
    RDKit cannot parse or embed, of more than ``MAX_SMILES_ATOMS`` atoms, or ``conformers`` below 1.
    """
    from rdkit import Chem, RDLogger
    from rdkit.Chem import AllChem

    if conformers < 1:
        raise InputError(f"conformers must be at least 1, got {conformers}")
    RDLogger.DisableLog("rdApp.*")
    molecule = Chem.MolFromSmiles(smiles)
    if molecule is None:
        raise InputError(f"RDKit cannot parse SMILES {_shown(smiles)}")
    molecule = Chem.AddHs(molecule)
    if molecule.GetNumAtoms() > MAX_SMILES_ATOMS:
        raise InputError(
            f"SMILES {_shown(smiles)} has {molecule.GetNumAtoms()} atoms with its hydrogens; at most "
            f"{MAX_SMILES_ATOMS} are embedded in 3-D (give larger molecules as .xyz)"
        )
    parameters = AllChem.ETKDGv3()
    parameters.randomSeed = seed
    conformer_ids = list(AllChem.EmbedMultipleConfs(molecule, numConfs=conformers, params=parameters))
    if not conformer_ids:
        raise InputError(f"RDKit cannot embed SMILES {_shown(smiles)} in 3-D")
    if AllChem.MMFFHasAllMoleculeParams(molecule):
        AllChem.MMFFOptimizeMoleculeConfs(molecule, maxIters=2000)
    else:
        AllChem.UFFOptimizeMoleculeConfs(molecule, maxIters=2000)
    numbers = [atom.GetAtomicNum() for atom in molecule.GetAtoms()]
    charge = Chem.GetFormalCharge(molecule)
    structures = []
    for conformer_id in conformer_ids:
        positions = np.asarray(molecule.GetConformer(conformer_id).GetPositions(), dtype=float)
        atoms = Atoms(numbers=numbers, positions=positions)
        atoms.info.update(smiles=smiles, charge=charge)
        structures.append(atoms)
    return structures


def read_smiles_file(path: Path, *, conformers: int = 1) -> Iterator[tuple[Atoms, str]]:
    """Yield ``(atoms, "path:line")`` for each SMILES line.

    Optional second column: a name; further columns: tags (e.g. a functional-group class).
    Blank lines and lines starting with ``#`` are skipped.
    """
    with closing(text_lines(path)) as lines:
        for line_number, line in enumerate(lines, start=1):
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            try:
                structures = atoms_from_smiles(fields[0], conformers=conformers)
            except InputError as error:
                raise InputError(f"{path}:{line_number}: {error}") from None
            for atoms in structures:
                if len(fields) > 1:
                    atoms.info["name"] = fields[1]
                atoms.info["tags"] = fields[2:]
                yield atoms, f"{path}:{line_number}"
