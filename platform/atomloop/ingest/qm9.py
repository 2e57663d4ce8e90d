"""QM9 (Ramakrishnan et al., Sci. Data 1, 140022 (2014); 130,831 molecules of up to nine heavy
atoms C, N, O, F) from the data files of the ``qm9pack`` package (``pip install 'atomloop[qm9]'``;
nothing is downloaded). Geometries are QM9's B3LYP/6-31G(2df,p) minima (Å); the label is U0, the
internal energy at 0 K (Hartree in the files), attached as ASE's ``info['energy']`` in eV."""

from __future__ import annotations

import ast
import csv
import importlib.util
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ase import Atoms
from ase.units import Hartree

from atomloop.errors import InputError
from atomloop.store.external import ExternalLevel

QM9_LEVEL = ExternalLevel(program="gaussian09", method="b3lyp", basis="6-31G(2df,p)")
U0_COLUMN = "InternalEnergy_0K_au"
MOLECULES = 130_831


def data_files() -> list[Path]:
    """qm9pack's CSV files, in QM9's index order (the package is not imported: it needs pandas)."""
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("QM9 needs the qm9pack package: pip install 'atomloop[qm9]'")
    files = sorted(Path(next(iter(spec.submodule_search_locations)), "data").glob("qm9_part*.csv"))
    if not files:
        raise InputError("the qm9pack package has no data files (qm9_part*.csv)")
    return files


@dataclass(frozen=True)
class QM9Row:
    """One molecule of the data files, unparsed: QM9 ``index``, heavy-atom count and the CSV row."""

    index: int
    heavy_atoms: int
    row: dict[str, str]

    def atoms(self) -> Atoms:
        """The molecule (positions Å); ``info``: ``name`` (``qm9:<index>``), ``smiles``, ``energy`` (U0, eV)."""
        atoms = Atoms(symbols=ast.literal_eval(self.row["Elements"]), positions=ast.literal_eval(self.row["XYZ_Ang"]))
        atoms.info.update(name=f"qm9:{self.index}", smiles=self.row["SMILES"],
                          energy=float(self.row[U0_COLUMN]) * Hartree)
        return atoms


def qm9_rows() -> Iterator[QM9Row]:
    """Every molecule of the data files in QM9's order, without parsing its geometry."""
    csv.field_size_limit(1 << 26)
    for path in data_files():
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                counts = json.loads(row["Stoichiometry"])  # H, C, N, O, F
                yield QM9Row(int(row["Index"]), sum(counts[1:]), row)


def read_qm9(*, max_heavy_atoms: int | None = None, limit: int | None = None) -> Iterator[tuple[Atoms, str]]:
    """QM9 molecules with at most ``max_heavy_atoms`` heavy atoms (all when None), the first
    ``limit`` of them in QM9's order, as ``(atoms, "qm9:<index>")`` (see :meth:`QM9Row.atoms`)."""
    produced = 0
    for row in qm9_rows():
        if limit is not None and produced >= limit:
            return
        if max_heavy_atoms is None or row.heavy_atoms <= max_heavy_atoms:
            produced += 1
            yield row.atoms(), f"qm9:{row.index}"
