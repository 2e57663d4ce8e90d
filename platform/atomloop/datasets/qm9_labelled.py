"""The transferability study's labelled sets: QM9 molecules labelled by PySCF with atomic energies
of an AO scheme and two MO schemes, shipped with atomloop so the study runs without relabelling.

Molecules: every QM9 molecule with at most 5 heavy atoms, and a seeded random sample of those
with 6 to 9 (:data:`QUOTAS`), in QM9's order. Level: :data:`LEVEL` (HF/6-31G*, a polarised basis;
schemes ao-eda, mo-pm-iao, mo-fb-iao). The second-basis set (:data:`SECOND_BASIS`, for the
basis-set dependence of claim 3) is every :data:`SECOND_BASIS_EVERY`-th molecule of that
selection at HF/cc-pVDZ with the same schemes. Each set is built in chunks of
:data:`CHUNK_SIZE` molecules by :mod:`atomloop.datasets.labelled_sets`, each
written as it completes to ``chunk-NNNN.extxyz.gz`` under its folder (the training-file
format of :func:`atomloop.export.labelled_frame`: total on ASE's calculator in eV, every
scheme's atomic energies in Hartree; ``info`` holds ``qm9_index``, ``smiles``, ``qm9_u0_hartree``),
so a build killed at any moment resumes at the first missing chunk. ``manifest.json`` records the
level, its settings hash, program versions and the molecules of each chunk; a molecule whose SCF
or localization fails is listed there with its reason and left out.

:data:`LABELLED_SETS` holds every shipped set by name: these two and the larger molecules of
:mod:`atomloop.datasets.larger_labelled`.

Build (documented command; hours on 2 cores)::

    .venv/bin/python -m atomloop.study.qm9_labelled build [--set qm9-labelled-cc-pvdz] [--max-chunks N]
"""

from __future__ import annotations

import random

from ase import Atoms

from atomloop.qm.settings import QMSettings
from atomloop.datasets.labelled_sets import DATA_ROOT, LEVEL, LabelledSet, main
from atomloop.datasets.larger_labelled import LARGER

QUOTAS = {6: 300, 7: 350, 8: 350, 9: 350}  # sampled per heavy-atom count; all molecules of <= 5
SEED = 0
CHUNK_SIZE = 25
DATA_DIR = DATA_ROOT / "qm9_labelled"
SECOND_BASIS_EVERY = 6
_COMMAND = "python -m atomloop.study.qm9_labelled build"


def selection() -> list[tuple[Atoms, str]]:
    """The chosen QM9 molecules in QM9's order, as ``(atoms, "qm9:<index>")`` (``info``: name,
    smiles, energy = U0 in eV)."""
    from atomloop.ingest.qm9 import qm9_rows

    by_size: dict[int, list] = {}
    for row in qm9_rows():
        by_size.setdefault(row.heavy_atoms, []).append(row)
    rng = random.Random(SEED)
    chosen = []
    for size, rows in sorted(by_size.items()):
        quota = QUOTAS.get(size)
        chosen += rows if quota is None else rng.sample(rows, min(quota, len(rows)))
    return [(row.atoms(), f"qm9:{row.index}") for row in sorted(chosen, key=lambda row: row.index)]


def _frame_info(atoms: Atoms, index: int) -> dict:
    from ase.units import Hartree

    return {"qm9_index": index, "smiles": atoms.info["smiles"], "qm9_u0_hartree": atoms.info["energy"] / Hartree}


def _qm9_set(name: str, level: QMSettings, folder: str, every: int = 1) -> LabelledSet:
    command = _COMMAND + (f" --set {name}" if name != "qm9-labelled" else "")
    return LabelledSet(name, level, DATA_ROOT / folder, selection, _frame_info, indices_key="qm9_indices",
                       chunk_size=CHUNK_SIZE, command=command, rule={"quotas": QUOTAS, "seed": SEED}, every=every)


PRIMARY = _qm9_set("qm9-labelled", LEVEL, "qm9_labelled")
SECOND_BASIS = _qm9_set("qm9-labelled-cc-pvdz", QMSettings(method="hf", basis="cc-pvdz", schemes=LEVEL.schemes),
                        "qm9_labelled_cc-pvdz", every=SECOND_BASIS_EVERY)
LABELLED_SETS = {labelled.name: labelled for labelled in (PRIMARY, SECOND_BASIS, LARGER)}
chunk_path = PRIMARY.chunk_path  # chunk N of the primary set


def cli() -> None:
    """The build command line over :data:`LABELLED_SETS` (run as :mod:`atomloop.study.qm9_labelled`)."""
    main(LABELLED_SETS, PRIMARY.name, __doc__.split("\n\n")[0])
