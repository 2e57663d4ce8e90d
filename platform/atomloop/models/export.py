"""Export a trained model into a directory, for use without atomloop (a registered one:
:mod:`atomloop.recipes.export_model`, ``atomloop export-model``).

- NequIP: ``model.nequip.zip``, a ``nequip`` package file (:mod:`atomloop.models.nequip_package`),
  which ``nequip-compile`` turns into ``model.nequip.pt2`` for the ``nequip`` package's own ASE
  calculator, ``NequIPCalculator.from_compiled_model``.
- SchNet: ``model.torchscript.pt`` (:mod:`atomloop.models.torchscript`) and its loader
  ``atomloop_torchscript.py``, a copy of :mod:`atomloop.models.exported` (torch, NumPy, ASE only).

Both give energies and per-atom energies in eV and forces in eV/Å, equal to
:class:`~atomloop.models.calculator.AtomloopCalculator`'s. Next to the model go
``atomloop-export.json`` (type names, cutoff r_max in Å, units, reference energies in Hartree,
labels level, model id, versions) and a ``README.txt`` on loading it.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ase import Atoms

from atomloop.errors import InputError
from atomloop.models import exported
from atomloop.models.fitting import software_versions
from atomloop.models.networks import AtomEnergyModel

INFO_FILE = "atomloop-export.json"
README_FILE = "README.txt"
NEQUIP_FILE = "model.nequip.zip"
TORCHSCRIPT_FILE = "model.torchscript.pt"
LOADER_FILE = "atomloop_torchscript.py"
COMPILED_FILE = "model.nequip.pt2"  # what README_FILE's nequip-compile writes
UNITS = {"energy": "eV", "energies": "eV per atom", "forces": "eV/Å", "positions": "Å"}

_README = {
    "nequip": """NequIP model {model_id} exported by atomloop: a nequip package file. The nequip package compiles it
for its ASE calculator (AOTInductor, a few minutes; --device cuda for a GPU), in this directory:

    {compile_command}

then, in Python (ASE Atoms of the model's elements as atoms):

    from nequip.integrations.ase import NequIPCalculator
    atoms.calc = NequIPCalculator.from_compiled_model("{compiled_file}", chemical_species_to_atom_type_map=True)
    atoms.get_potential_energy()    # eV
    atoms.get_potential_energies()  # per-atom energies, eV
    atoms.get_forces()              # eV/Å
""",
    "schnet": """SchNet model {model_id} exported by atomloop: TorchScript, with a loader that needs only torch, NumPy and ASE.

    from atomloop_torchscript import TorchScriptCalculator   # the file {loader_file} here
    atoms.calc = TorchScriptCalculator("{model_file}")
    atoms.get_potential_energy()    # eV
    atoms.get_potential_energies()  # per-atom energies, eV
    atoms.get_forces()              # eV/Å
""",
}


class ExportDirectoryError(InputError):
    """The export directory cannot be created or written."""


@dataclass(frozen=True)
class ExportedModel:
    """What an export wrote: the ``directory``, its ``files`` and the ``info`` of ``INFO_FILE``."""

    directory: Path
    files: list[Path]
    info: dict[str, Any]


def prepare_directory(directory: Path) -> None:
    """Create ``directory`` if missing and check that files can be written into it."""
    if directory.exists() and not directory.is_dir():
        raise ExportDirectoryError(f"{directory} is a file, not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise ExportDirectoryError(f"cannot write to {directory}: {error.strerror or error}") from None


def export_model(model: AtomEnergyModel, directory: Path, *, example: Atoms, info: dict[str, Any] | None = None) -> ExportedModel:
    """Write ``model`` into ``directory`` (created) in its peer's format, with ``INFO_FILE`` and
    ``README_FILE``. ``example``: a molecule of the model's elements (traced or stored as example
    data); ``info``: extra metadata (e.g. model id and labels level)."""
    directory = Path(directory)
    prepare_directory(directory)
    model_file = NEQUIP_FILE if model.arch == "nequip" else TORCHSCRIPT_FILE
    record = {
        **(info or {}),
        "architecture": model.arch,
        "format": "nequip package" if model.arch == "nequip" else "TorchScript",
        "files": {"model": model_file, **({"loader": LOADER_FILE} if model.arch == "schnet" else {})},
        "type_names": model.type_names,
        "r_max": model.r_max,
        "units": UNITS,
        "reference_energies_hartree": dict(zip(model.type_names, model.reference.energies.tolist())),
        "energy_scale_hartree": float(model.reference.scale),
        "hyperparameters": model.hyperparameters,
        "versions": software_versions(),
    }
    files = [directory / model_file]
    if model.arch == "nequip":
        from atomloop.models.nequip_package import write_nequip_package

        write_nequip_package(model, files[0], example=example, config={"atomloop": record})
    else:
        from atomloop.models.torchscript import write_torchscript

        write_torchscript(model, files[0], example=example, metadata=record)
        files.append(Path(shutil.copyfile(exported.__file__, directory / LOADER_FILE)))
    (directory / INFO_FILE).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    readme = _README[model.arch].format(
        model_id=record.get("model_id", "?"), model_file=model_file, loader_file=LOADER_FILE, compiled_file=COMPILED_FILE,
        compile_command=f"nequip-compile {model_file} {COMPILED_FILE} --mode aotinductor --device cpu --target ase",
    )
    (directory / README_FILE).write_text(readme)
    return ExportedModel(directory, [*files, directory / INFO_FILE, directory / README_FILE], record)
