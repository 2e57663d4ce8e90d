"""Print, as one JSON object, the HF/STO-3G atomic energies (Hartree) of the symmetric test
molecules in every scheme, and which BLAS kernel and thread count computed them.

Run as a script by ``test_qm_reproducibility.py`` under different ``OMP_NUM_THREADS`` and
``OPENBLAS_CORETYPE`` settings.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import threadpoolctl

sys.path.insert(0, str(Path(__file__).parent))

from symmetric_molecules import EQUIVALENT_ATOMS  # noqa: E402

from atomloop.qm import VALID_SCHEMES, QMSettings, compute  # noqa: E402


def main() -> None:
    settings = QMSettings(method="hf", basis="sto-3g", schemes=VALID_SCHEMES)
    energies = {
        name: {scheme: values.tolist() for scheme, values in compute(atoms, settings).atomic_energies.items()}
        for name, (atoms, _) in EQUIVALENT_ATOMS.items()
    }
    blas = [
        {"library": info["prefix"], "architecture": info.get("architecture"), "threads": info["num_threads"]}
        for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"
    ]
    json.dump({"energies": energies, "blas": blas}, sys.stdout)


if __name__ == "__main__":
    main()
