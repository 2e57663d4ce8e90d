"""The transferability study's labelled sets: QM9 molecules labelled by PySCF with atomic energies
of an AO scheme and two MO schemes, shipped with atomloop so the study runs without relabelling.

Molecules: every QM9 molecule with at most 5 heavy atoms, and a seeded random sample of those
with 6 to 9 (:data:`QUOTAS`), in QM9's order. Level: :data:`LEVEL` (HF/6-31G*, a polarised basis;
schemes ao-eda, mo-pm-iao, mo-fb-iao). The second-basis set (:data:`SECOND_BASIS`, for the
basis-set dependence of claim 3) is every :data:`SECOND_BASIS_EVERY`-th molecule of that
selection at HF/cc-pVDZ with the same schemes. Each set is built in chunks of
:data:`CHUNK_SIZE` molecules, each
written as it completes to ``chunk-NNNN.extxyz.gz`` under its folder (the training-file
format of :func:`atomloop.export.labelled_frame`: total on ASE's calculator in eV, every
scheme's atomic energies in Hartree; ``info`` holds ``qm9_index``, ``smiles``, ``qm9_u0_hartree``),
so a build killed at any moment resumes at the first missing chunk. ``manifest.json`` records the
level, its settings hash, program versions and the molecules of each chunk; a molecule whose SCF
or localization fails is listed there with its reason and left out.

Build (documented command; hours on 2 cores)::

    .venv/bin/python -m atomloop.study.qm9_labelled build [--set qm9-labelled-cc-pvdz] [--max-chunks N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ase import Atoms

from atomloop.qm.settings import QMSettings

LEVEL = QMSettings(method="hf", basis="6-31g*", schemes=("ao-eda", "mo-pm-iao", "mo-fb-iao"))
QUOTAS = {6: 300, 7: 350, 8: 350, 9: 350}  # sampled per heavy-atom count; all molecules of <= 5
SEED = 0
CHUNK_SIZE = 25
DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "qm9_labelled"
SECOND_BASIS_EVERY = 6


@dataclass(frozen=True)
class LabelledSet:
    """A shipped labelled set: its name (the ``atomloop:NAME`` source), level, folder, and which
    molecules of :func:`selection` it holds (every ``every``-th)."""

    name: str
    level: QMSettings
    data_dir: Path
    every: int = 1

    def molecules(self) -> list[tuple[Atoms, str]]:
        return selection()[:: self.every]


PRIMARY = LabelledSet("qm9-labelled", LEVEL, DATA_DIR)
SECOND_BASIS = LabelledSet(
    "qm9-labelled-cc-pvdz", QMSettings(method="hf", basis="cc-pvdz", schemes=LEVEL.schemes),
    DATA_DIR.with_name("qm9_labelled_cc-pvdz"), every=SECOND_BASIS_EVERY,
)
LABELLED_SETS = {labelled.name: labelled for labelled in (PRIMARY, SECOND_BASIS)}


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


def chunks(chosen: list[tuple[Atoms, str]]) -> Iterator[tuple[int, list[tuple[Atoms, str]]]]:
    """``(chunk number, molecules)`` of :data:`CHUNK_SIZE`."""
    for start in range(0, len(chosen), CHUNK_SIZE):
        yield start // CHUNK_SIZE, chosen[start:start + CHUNK_SIZE]


def chunk_path(number: int, data_dir: Path = DATA_DIR) -> Path:
    return data_dir / f"chunk-{number:04d}.extxyz.gz"


def _labelled(atoms: Atoms, where: str, level: QMSettings) -> Atoms | str:
    """The molecule with its labels at ``level``, or the reason it failed."""
    from ase.units import Hartree

    from atomloop.errors import AtomloopError
    from atomloop.export import labelled_frame
    from atomloop.qm import compute

    try:
        result = compute(atoms, level)
    except AtomloopError as error:
        return f"{type(error).__name__}: {error}"
    frame = Atoms(numbers=atoms.numbers, positions=atoms.positions)
    frame.info.update(qm9_index=int(where.split(":")[1]), smiles=atoms.info["smiles"],
                      qm9_u0_hartree=atoms.info["energy"] / Hartree)
    return labelled_frame(frame, result.energy, result.atomic_energies)


def _write_chunk(path: Path, frames: list[Atoms]) -> None:
    """Write atomically: a temporary file renamed into place, so a kill leaves no partial chunk."""
    from ase.io import write

    partial = path.with_suffix(".partial")
    with gzip.open(partial, "wt") as handle:
        write(handle, frames, format="extxyz")
    partial.replace(path)


def _manifest(data_dir: Path) -> dict:
    path = data_dir / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else {}


def build(labelled: LabelledSet = PRIMARY, *, max_chunks: int | None = None, progress: bool = True) -> int:
    """Compute and write the missing chunks of ``labelled`` (at most ``max_chunks``); returns how many were written."""
    import pyscf
    from tqdm.auto import tqdm

    import atomloop

    data_dir, level = labelled.data_dir, labelled.level
    data_dir.mkdir(parents=True, exist_ok=True)
    chosen = labelled.molecules()
    manifest = _manifest(data_dir) or {
        "level": level.to_dict(), "settings_hash": level.settings_hash, "quotas": QUOTAS, "seed": SEED,
        "every": labelled.every, "chunk_size": CHUNK_SIZE, "molecules": len(chosen), "chunks": {},
        "command": "python -m atomloop.study.qm9_labelled build" + (f" --set {labelled.name}" if labelled is not PRIMARY else ""),
    }
    if manifest["settings_hash"] != level.settings_hash:
        raise SystemExit(f"{data_dir} holds labels of another level ({manifest['settings_hash'][:12]}); use a new folder")
    missing = [(n, batch) for n, batch in chunks(chosen) if not chunk_path(n, data_dir).exists()][:max_chunks]
    for number, batch in tqdm(missing, desc=f"{labelled.name} chunks", disable=not progress):
        started = time.perf_counter()
        outcomes = [(where, _labelled(atoms, where, level)) for atoms, where in batch]
        _write_chunk(chunk_path(number, data_dir), [o for _, o in outcomes if isinstance(o, Atoms)])
        manifest["chunks"][f"{number:04d}"] = {
            "qm9_indices": [int(where.split(":")[1]) for where, _ in outcomes],
            "failed": {where: o for where, o in outcomes if isinstance(o, str)},
            "seconds": round(time.perf_counter() - started, 1),
            "pyscf": pyscf.__version__, "atomloop": atomloop.__version__,
        }
        (data_dir / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return len(missing)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="compute the missing chunks")
    build_parser.add_argument("--set", choices=sorted(LABELLED_SETS), default=PRIMARY.name)
    build_parser.add_argument("--max-chunks", type=int, default=None)
    arguments = parser.parse_args()
    labelled = LABELLED_SETS[arguments.set]
    written = build(labelled, max_chunks=arguments.max_chunks)
    print(f"wrote {written} chunks to {labelled.data_dir}")


if __name__ == "__main__":
    main()
