"""The HTML report of a study, from rows read by :mod:`atomloop.store.reports` (the report of an
active-learning run is :mod:`atomloop.report.run`).

Every number in a report is a database value, written with :func:`atomloop.report.html.fmt`
(6 significant digits); errors in kcal/mol, meV/atom and meV as in the views, energies in
Hartree. Where a value needs words a note beside it says what it means.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from atomloop.report.html import figure, note, page, table
from atomloop.study.claims import (
    ARCHITECTURE_COLUMNS,
    CLAIM_1_COLUMNS,
    CLAIM_2_COLUMNS,
    MOLECULAR_COST_COLUMNS,
    TRADE_OFF_COLUMNS,
    study_claims,
)
from atomloop.study.plots import study_figures, write_plots

if TYPE_CHECKING:
    from atomloop.store.reports import StudyRows

EXPERIMENT_COLUMNS = (
    "experiment_id", "split", "target", "atomic_weight", "architecture", "strategy", "training_size", "seed", "status",
    "n_train", "n_test", "auc", "auc_low", "auc_high", "auc_p_value", "mae_kcal_mol", "rmse_kcal_mol", "mae_mev_atom",
    "atomic_mae_kcal_mol", "atomic_mae_mev", "model_id",
)
SUMMARY_COLUMNS = (
    "split", "target", "atomic_weight", "architecture", "strategy", "training_size", "n_seeds", "auc_mean",
    "mae_kcal_mol_mean", "mae_kcal_mol_std", "mae_mev_atom_mean", "mae_mev_atom_std", "atomic_mae_mev_mean", "atomic_mae_mev_std",
)
ELEMENT_COLUMNS = ("experiment_id", "split", "target", "architecture", "strategy", "training_size", "seed", "element", "n_atoms", "atomic_mae_kcal_mol", "atomic_mae_mev")
GROUP_COLUMNS = (
    "experiment_id", "split", "target", "architecture", "strategy", "training_size", "seed", "functional_group",
    "n_molecules", "n_atoms", "mae_kcal_mol", "mae_mev_atom", "atomic_mae_kcal_mol", "atomic_mae_mev",
)
ATOMIC_ERROR_COLUMNS = (
    "experiment_id", "split", "target", "atomic_weight", "architecture", "strategy", "training_size", "seed",
    "reference_scheme", "environment", "n_atoms", "mae_kcal_mol", "centred_mae_kcal_mol", "baseline_mae_kcal_mol",
    "centred_fraction",
)
_SORT = ("split", "target", "atomic_weight", "architecture", "strategy", "training_size", "seed")


def _sorted(rows: list[dict], keys=_SORT) -> list[dict]:
    return sorted(rows, key=lambda r: tuple(str(r[k]) if isinstance(r[k], str) else r[k] for k in keys if k in r))


def study_report(rows: StudyRows) -> str:
    """The HTML report of a study: inputs, the claims' paired comparisons
    (:mod:`atomloop.study.claims`), summary over seeds, every experiment, atomic errors against
    every scheme, errors per element and functional group, and the plots."""
    study, views, name = rows.study, rows.views, rows.study["name"]
    parameters = [
        {"parameter": k, "value": v if isinstance(v, str) else json.dumps(v)} for k, v in sorted(study["parameters"].items())
    ]
    experiments = _sorted(views["study_experiments"])
    atomic_errors = views["study_atomic_errors"]
    every_atom = _sorted([r for r in atomic_errors if r["element"] == "all"], _SORT + ("reference_scheme", "environment"))
    figures = study_figures(rows)
    claims = study_claims(views["study_experiments"], atomic_errors, rows.molecule_errors)
    sections = [
        ("Study", table("study", ("name", "status", "settings_hash", "created", "finished"), [study])
         + table("parameters", ("parameter", "value"), parameters)),
        ("Tests", note("p_value: the paired t-test over seeds; p_exact: the exact sign-flip test; p_holm: p_value "
                       "Holm-adjusted over every row of the claims tables below (one family); *_boot_low/high: 95 % "
                       "hierarchical bootstrap over seeds and test molecules; verdict: supported, not supported or "
                       "inconclusive at p_holm 0.05 (atomloop.study.claims)")),
        ("Claim 1a: atomic energies of atomic-trained models vs the element-mean baseline (element-centred MAE, "
         "offsets fitted on training atoms, kcal/mol; difference model - baseline and fraction model / baseline "
         "paired over seeds, 95 % t interval)",
         table("claim_1", CLAIM_1_COLUMNS, claims["claim_1"])),
        ("Claim 1b: does atomic augmentation help molecular energies? (per-atom MAE, meV/atom; difference "
         "atomic - total paired over seeds, 95 % t interval)",
         table("molecular_cost", MOLECULAR_COST_COLUMNS, claims["molecular_cost"])),
        ("The atomic-weight trade-off: molecular MAE (meV/atom) and centred atomic MAE against the target's "
         "scheme (kcal/mol, and as a fraction of the baseline's) per weight; changes against weight 0 (total only) "
         "paired over seeds, 95 % t interval",
         table("trade_off", TRADE_OFF_COLUMNS, claims["trade_off"])
         + figure(figures["atomic_weight_trade_off"], "atomic-weight trade-off")),
        ("Claim 2: transfer to larger molecules and unseen functional groups (per-atom MAE, transfer split / "
         "in-distribution, paired over seeds, 95 % interval)",
         table("claim_2", CLAIM_2_COLUMNS, claims["claim_2"])),
        ("Architectures on the same molecules (per-atom MAE of molecular energies, meV/atom; second - first "
         "architecture paired over seeds, 95 % t interval)",
         table("architectures", ARCHITECTURE_COLUMNS, claims["architectures"])),
        ("Learning curves", figure(figures["learning_curves"], "learning curves")),
        ("Error vs adversarial AUC", figure(figures["error_vs_auc"], "error vs AUC")),
        ("AO vs MO partitions", figure(figures["partition_comparison"], "partition comparison")),
        ("Atomic-energy errors per element", figure(figures["element_errors"], "per-element errors")),
        ("Summary over seeds (mean and standard deviation)", table("summary", SUMMARY_COLUMNS, _sorted(views["study_summary"]))),
        ("Experiments", table("experiments", EXPERIMENT_COLUMNS, experiments)),
        ("Atomic-energy errors of every model against every scheme (all atoms; per element in study_atomic_errors)",
         table("atomic_errors", ATOMIC_ERROR_COLUMNS, every_atom)),
        ("Errors per element", table("element_errors", ELEMENT_COLUMNS, _sorted(views["study_element_errors"], _SORT + ("element",)))),
        ("Errors per functional group", table("group_errors", GROUP_COLUMNS, _sorted(views["study_group_errors"], _SORT + ("functional_group",)))),
    ]
    return page(f"Transferability study {name}", sections)


def write_study_outputs(rows: StudyRows, out_dir: Path) -> list[Path]:
    """Write the study's plots (``<name>.png``) and ``report.html`` into ``out_dir``."""
    paths = write_plots(rows, out_dir)
    report = out_dir / "report.html"
    report.write_text(study_report(rows), encoding="utf-8")
    return [*paths, report]
