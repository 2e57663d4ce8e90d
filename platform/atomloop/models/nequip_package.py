"""A trained atomloop NequIP model as a ``nequip`` package file (``.nequip.zip``), the archive
``nequip-package build`` writes and the ``nequip`` package loads by itself: ``nequip-compile``
(AOTInductor, for its ASE calculator ``nequip.integrations.ase.NequIPCalculator.from_compiled_model``)
and ``nequip.model.ModelFromPackage`` (fine-tuning).

The packaged model is the ``nequip`` package's own ``GraphModel`` with the trained weights and
forces by autograd, in eV: atomloop's reference energies become its per-type energy shifts and
its energy scale the per-type scale, both converted from Hartree with ``ase.units.Hartree``::

    E_i = (s * Ha) * y_i + e_{Z_i} * Ha        (eV; s, e_Z in Hartree)

so ``NequIPCalculator`` with its default ``energy_units_to_eV=1`` gives atomloop's energies and
per-atom energies in eV and forces in eV/Å. ``nequip-package build`` needs a Lightning
checkpoint; atomloop has none, so the archive is written here the way that command writes it
(same interned, extern and mocked modules, same metadata), with only the ``eager`` model.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from ase import Atoms, units
from torch import nn

from atomloop.models.nequip_model import build_nequip_graph_model
from atomloop.models.networks import AtomEnergyModel

_SCALE_SHIFT = ".per_type_energy_scale_shift."  # state-dict keys of the per-type scale/shift buffers


def graph_model_in_ev(model: AtomEnergyModel) -> nn.Module:
    """The ``nequip`` ``GraphModel`` of ``model`` (arch ``nequip``) with its reference energies as
    per-type shifts and its scale as the per-type scale, in eV; computes forces (eV/Å)."""
    network = model.network
    energies = model.reference.energies.tolist()
    graph = build_nequip_graph_model(
        model.type_names, **network.settings,
        per_type_energy_scales=float(model.reference.scale) * units.Hartree,
        per_type_energy_shifts={name: e * units.Hartree for name, e in zip(model.type_names, energies)},
        do_derivatives=True,
    )
    scale_shift = {key: value for key, value in graph.state_dict().items() if _SCALE_SHIFT in key}
    graph.load_state_dict({**network.graph_model.state_dict(), **scale_shift})  # strict: same architecture
    return graph.eval()


def _example_data(graph: nn.Module, model: AtomEnergyModel, atoms: Atoms) -> dict:
    """``atoms`` as the ``nequip`` data dict its calculator makes (types, neighbour list), in a
    padded box as ``nequip-package`` stores it (``nequip-compile`` traces the model on it)."""
    from nequip.data import from_ase
    from nequip.data.transforms import NonPeriodicCellTransform
    from nequip.integrations.utils import basic_transforms

    identity = {name: name for name in model.type_names}
    data = from_ase(atoms)
    transforms = [NonPeriodicCellTransform(override_cell=True)]
    transforms += basic_transforms(graph.metadata, model.r_max, model.type_names, identity)
    for transform in transforms:
        data = transform(data)
    return data


@contextmanager
def _root_logging_kept() -> Iterator[None]:
    """Undo what importing ``nequip.scripts.package`` does to the root logger (Hydra's
    ``configure_log(None)``: level INFO and a handler printing every record to stdout)."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        yield
    finally:
        root.setLevel(level)
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)


def write_nequip_package(model: AtomEnergyModel, path: Path, *, example: Atoms, config: dict) -> None:
    """Write ``model`` (arch ``nequip``) to ``path`` (ending ``.nequip.zip``) as a ``nequip``
    package. ``example``: a molecule of the model's elements, stored as the package's example data;
    ``config``: what the package's ``model/config.yaml`` records (e.g. the export metadata)."""
    import yaml  # nequip's package metadata is YAML; PyYAML comes with nequip
    from nequip.model.saved_models.package import _suppress_package_importer_exporter_warnings
    from nequip.scripts._package_utils import _EXTERNAL_MODULES, _INTERNAL_MODULES, _MOCK_MODULES

    with _root_logging_kept():
        from nequip.scripts.package import _CURRENT_NEQUIP_PACKAGE_VERSION
    from nequip.train.lightning import _SOLE_MODEL_KEY
    from nequip.utils.versions import get_current_code_versions
    from nequip.utils.versions.version_utils import get_version_safe

    graph = graph_model_in_ev(model)
    metadata = {
        "versions": get_current_code_versions(verbose=False),
        "external_modules": {name: get_version_safe(name) for name in _EXTERNAL_MODULES},
        "package_version_id": _CURRENT_NEQUIP_PACKAGE_VERSION,
        "available_models": ["eager"],
        "atom_types": dict(enumerate(model.type_names)),
    }
    with _suppress_package_importer_exporter_warnings(), torch.package.PackageExporter(
        str(path), importer=(torch.package.importer.sys_importer,)
    ) as exporter:
        exporter.mock([f"{name}.**" for name in _MOCK_MODULES])
        exporter.extern([f"{name}.**" for name in _EXTERNAL_MODULES])
        exporter.intern([f"{name}.**" for name in _INTERNAL_MODULES])
        exporter.save_pickle("model", "example_data.pkl", _example_data(graph, model, example), dependencies=True)
        exporter.save_text("model", "config.yaml", yaml.safe_dump(config, sort_keys=False))
        exporter.save_text("model", "package_metadata.txt", yaml.dump(metadata, default_flow_style=False))
        exporter.save_pickle("model", "eager_model.pkl", nn.ModuleDict({_SOLE_MODEL_KEY: graph}), dependencies=True)
