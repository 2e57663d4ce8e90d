"""Draw docs/figures/partition_schemes.png: methanol's HF/6-31G* energy shared out atom by atom
by the three partition schemes of the paper (ao-eda, mo-pm-iao, mo-fb-iao).

Run from the repository root: ``.venv/bin/python docs/figures/partition_schemes.py`` (about 10 s).
Each bar is E_A minus the free atom's energy at the same level (``QMSettings(atomization=True)``),
in kcal/mol; every scheme's bars sum to the same molecular atomization energy.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from ase.build import molecule  # noqa: E402

from atomloop.qm import QMSettings, compute  # noqa: E402
from atomloop.units import HARTREE_TO_KCAL_PER_MOL  # noqa: E402

SCHEMES = ("ao-eda", "mo-pm-iao", "mo-fb-iao")
OUT = Path(__file__).with_suffix(".png")


def main() -> None:
    atoms = molecule("CH3OH")
    result = compute(atoms, QMSettings(method="hf", basis="6-31g*", schemes=SCHEMES, atomization=True))
    symbols = atoms.get_chemical_symbols()
    distances = atoms.get_all_distances()
    heavy = [i for i, s in enumerate(symbols) if s != "H"]
    labels = [s if s != "H" else f"H on {symbols[min(heavy, key=lambda j: distances[i, j])]}"
              for i, s in enumerate(symbols)]
    x = np.arange(len(symbols))
    width = 0.27
    fig, ax = plt.subplots(figsize=(8.0, 4.2), dpi=110)
    for k, (scheme, colour) in enumerate(zip(SCHEMES, ("#4c72b0", "#dd8452", "#55a868"), strict=True)):
        values = result.atomization[scheme] * HARTREE_TO_KCAL_PER_MOL
        ax.bar(x + (k - 1) * width, values, width, label=f"{scheme} (sum {values.sum():.1f})", color=colour)
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.set_xticks(x, labels)
    ax.set_ylabel("E_A - E_A(free atom)  [kcal/mol]")
    ax.set_title("Methanol, HF/6-31G*: one total energy, three ways to share it out atom by atom")
    ax.legend(title="scheme (sum over atoms, kcal/mol)", fontsize=8, title_fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT)
    print(f"wrote {OUT}")
    for scheme in SCHEMES:
        print(scheme, np.round(result.atomization[scheme] * HARTREE_TO_KCAL_PER_MOL, 1))


if __name__ == "__main__":
    main()
