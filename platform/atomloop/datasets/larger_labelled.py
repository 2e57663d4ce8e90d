"""A labelled set of molecules larger than QM9's (10 to 16 heavy atoms), from the NCI SMILES that
RDKit ships (``rdkit/Data/NCI/first_5K.smi``), labelled like the QM9 set
(:data:`atomloop.datasets.labelled_sets.LEVEL`: HF/6-31G*, schemes ao-eda, mo-pm-iao, mo-fb-iao).

Selection rule (fixed before any label was computed): an NCI line is a candidate if RDKit parses
its SMILES into one fragment of H, C, N, O and F only, with net formal charge 0, no radical
electrons, no isotope labels, :data:`SIZES` heavy atoms and MMFF94 parameters for every atom
(hydrogens added); of the lines with the same canonical SMILES only the first is kept. From the
candidates of each heavy-atom count, :data:`PER_SIZE` are drawn with ``random.Random(SEED)``
(counts in ascending order), and the drawn molecules are labelled in NCI order, so every chunk
mixes sizes. Conformer: RDKit's ETKDGv3 embedding with random seed :data:`SEED`, then MMFF94
relaxation (:func:`atomloop.ingest.smiles.atoms_from_smiles`); positions in Å.

Each frame's ``info`` holds ``nci_index`` (the NCI number, the file's second column) and
``smiles`` (the NCI SMILES). Chunks of :data:`CHUNK_SIZE` molecules go to
``atomloop/data/larger_labelled/`` with ``manifest.json`` (:mod:`atomloop.datasets.labelled_sets`);
a molecule whose SCF or localization fails is listed there with its reason and left out.

Build or resume (documented command; many hours on one core, resumes at the first missing chunk)::

    OMP_NUM_THREADS=1 .venv/bin/python -m atomloop.study.larger_labelled build [--max-chunks N]
"""

from __future__ import annotations

import random
from pathlib import Path

from ase import Atoms

from atomloop.datasets.labelled_sets import DATA_ROOT, LEVEL, LabelledSet, main

SIZES = range(10, 17)  # heavy atoms, inclusive of 10 and 16
PER_SIZE = 45
SEED = 0
CHUNK_SIZE = 4
ELEMENTS = frozenset({1, 6, 7, 8, 9})


def nci_smiles_path() -> Path:
    """RDKit's shipped NCI subset: one ``SMILES<TAB>NCI number`` a line."""
    from rdkit import RDConfig

    return Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"


def candidates() -> dict[int, list[tuple[int, str]]]:
    """The NCI molecules the selection rule admits, ``{heavy atoms: [(NCI number, SMILES), ...]}`` in file order."""
    from rdkit import Chem, RDLogger
    from rdkit.Chem import AllChem

    RDLogger.DisableLog("rdApp.*")
    by_size: dict[int, list[tuple[int, str]]] = {size: [] for size in SIZES}
    seen = set()
    for line in nci_smiles_path().read_text().splitlines():
        fields = line.split()
        if len(fields) < 2 or "." in fields[0]:
            continue
        molecule = Chem.MolFromSmiles(fields[0])
        if molecule is None or molecule.GetNumHeavyAtoms() not in by_size:
            continue
        atoms = list(molecule.GetAtoms())
        if (any(a.GetAtomicNum() not in ELEMENTS or a.GetNumRadicalElectrons() or a.GetIsotope() for a in atoms)
                or Chem.GetFormalCharge(molecule) != 0):
            continue
        canonical = Chem.MolToSmiles(molecule)
        if canonical in seen or not AllChem.MMFFHasAllMoleculeParams(Chem.AddHs(molecule)):
            continue
        seen.add(canonical)
        by_size[molecule.GetNumHeavyAtoms()].append((int(fields[1]), fields[0]))
    return by_size


def selection() -> list[tuple[Atoms, str]]:
    """The drawn molecules in NCI order, as ``(atoms, "nci:<number>")`` (``info``: smiles, charge)."""
    from atomloop.ingest.smiles import atoms_from_smiles

    rng = random.Random(SEED)
    drawn = [pick for size, found in sorted(candidates().items()) for pick in rng.sample(found, PER_SIZE)]
    return [(atoms_from_smiles(smiles, seed=SEED)[0], f"nci:{number}") for number, smiles in sorted(drawn)]


def _frame_info(atoms: Atoms, number: int) -> dict:
    return {"nci_index": number, "smiles": atoms.info["smiles"]}


LARGER = LabelledSet(
    "larger-labelled", LEVEL, DATA_ROOT / "larger_labelled", selection, _frame_info, indices_key="nci_indices",
    chunk_size=CHUNK_SIZE, command="OMP_NUM_THREADS=1 python -m atomloop.study.larger_labelled build",
    rule={"source": "rdkit/Data/NCI/first_5K.smi", "heavy_atoms": [SIZES.start, SIZES.stop - 1],
          "per_size": PER_SIZE, "seed": SEED},
)


def cli() -> None:
    """The build command line of :data:`LARGER` (run as :mod:`atomloop.study.larger_labelled`)."""
    main({LARGER.name: LARGER}, LARGER.name, __doc__.split("\n\n")[0])
