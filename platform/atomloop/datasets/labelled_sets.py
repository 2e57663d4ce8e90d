"""What the shipped labelled sets share: their level, and a builder that labels a set's molecules
in chunks written as they complete, so a build killed at any moment resumes at the first missing chunk.

A set (:class:`LabelledSet`) names its molecules (a selection function), the ``info`` each
frame keeps, its folder and its chunk size. Chunk ``N`` is ``chunk-NNNN.extxyz.gz`` in that
folder (the training-file format of :func:`atomloop.export.labelled_frame`: total on ASE's
calculator in eV, every scheme's atomic energies in Hartree, shape (natoms,)). ``manifest.json``
records the level, its settings hash, the selection rule, the build command, and per chunk its
molecules' indices, program versions, seconds, and every molecule whose SCF or localization
failed with its reason (left out of the chunk).
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ase import Atoms

from atomloop.qm.settings import QMSettings

LEVEL = QMSettings(method="hf", basis="6-31g*", schemes=("ao-eda", "mo-pm-iao", "mo-fb-iao"))
DATA_ROOT = Path(__file__).resolve().parents[1] / "data"


@dataclass(frozen=True)
class LabelledSet:
    """A shipped labelled set: its name (the ``atomloop:NAME`` source), level, folder, and which
    molecules it holds: every ``every``-th of ``select()``'s ``(atoms, "<prefix>:<index>")``,
    in ``chunk_size`` chunks. ``frame_info(atoms, index)`` is what a frame's ``info`` keeps
    besides its labels; ``indices_key`` names a chunk's list of indices in the manifest;
    ``rule`` (the selection's parameters) and ``command`` (how to build it) go to the manifest."""

    name: str
    level: QMSettings
    data_dir: Path
    select: Callable[[], list[tuple[Atoms, str]]]
    frame_info: Callable[[Atoms, int], dict]
    indices_key: str
    chunk_size: int
    command: str
    rule: dict = field(default_factory=dict)
    every: int = 1

    def molecules(self) -> list[tuple[Atoms, str]]:
        return self.select()[:: self.every]

    def chunk_path(self, number: int) -> Path:
        return self.data_dir / f"chunk-{number:04d}.extxyz.gz"

    def chunks(self, chosen: list[tuple[Atoms, str]]) -> Iterator[tuple[int, list[tuple[Atoms, str]]]]:
        """``(chunk number, molecules)`` of ``chunk_size``."""
        for start in range(0, len(chosen), self.chunk_size):
            yield start // self.chunk_size, chosen[start:start + self.chunk_size]


def _index(where: str) -> int:
    return int(where.split(":")[1])


def _labelled(atoms: Atoms, where: str, labelled: LabelledSet) -> Atoms | str:
    """The molecule with its labels at the set's level, or the reason it failed."""
    from atomloop.errors import AtomloopError
    from atomloop.export import labelled_frame
    from atomloop.qm import compute

    try:
        result = compute(atoms, labelled.level)
    except AtomloopError as error:
        return f"{type(error).__name__}: {error}"
    frame = Atoms(numbers=atoms.numbers, positions=atoms.positions)
    frame.info.update(labelled.frame_info(atoms, _index(where)))
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


def build(labelled: LabelledSet, *, max_chunks: int | None = None, progress: bool = True) -> int:
    """Compute and write the missing chunks of ``labelled`` (at most ``max_chunks``); returns how many were written."""
    import pyscf
    from tqdm.auto import tqdm

    import atomloop

    data_dir, level = labelled.data_dir, labelled.level
    data_dir.mkdir(parents=True, exist_ok=True)
    chosen = labelled.molecules()
    manifest = _manifest(data_dir) or {
        "level": level.to_dict(), "settings_hash": level.settings_hash, **labelled.rule,
        "every": labelled.every, "chunk_size": labelled.chunk_size, "molecules": len(chosen), "chunks": {},
        "command": labelled.command,
    }
    if manifest["settings_hash"] != level.settings_hash:
        raise SystemExit(f"{data_dir} holds labels of another level ({manifest['settings_hash'][:12]}); use a new folder")
    missing = [(n, batch) for n, batch in labelled.chunks(chosen) if not labelled.chunk_path(n).exists()][:max_chunks]
    for number, batch in tqdm(missing, desc=f"{labelled.name} chunks", disable=not progress):
        started = time.perf_counter()
        outcomes = [(where, _labelled(atoms, where, labelled)) for atoms, where in batch]
        _write_chunk(labelled.chunk_path(number), [o for _, o in outcomes if isinstance(o, Atoms)])
        manifest["chunks"][f"{number:04d}"] = {
            labelled.indices_key: [_index(where) for where, _ in outcomes],
            "failed": {where: o for where, o in outcomes if isinstance(o, str)},
            "seconds": round(time.perf_counter() - started, 1),
            "pyscf": pyscf.__version__, "atomloop": atomloop.__version__,
        }
        (data_dir / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return len(missing)


def main(sets: dict[str, LabelledSet], default: str, description: str) -> None:
    """The ``build`` command line over ``sets`` (``--set`` picks one, ``default`` unless given)."""
    parser = argparse.ArgumentParser(description=description)
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="compute the missing chunks")
    build_parser.add_argument("--set", choices=sorted(sets), default=default)
    build_parser.add_argument("--max-chunks", type=int, default=None)
    arguments = parser.parse_args()
    labelled = sets[arguments.set]
    written = build(labelled, max_chunks=arguments.max_chunks)
    print(f"wrote {written} chunks to {labelled.data_dir}")
