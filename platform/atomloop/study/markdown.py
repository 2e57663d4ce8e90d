"""A study's claims and summary as markdown (for ``docs/results`` and the terminal), tables
written by :func:`atomloop.report.markdown.markdown_table`."""

from __future__ import annotations

from atomloop.report.markdown import markdown_table


def study_markdown(rows) -> str:
    """The claim tables and the summary over seeds of a study (:class:`atomloop.store.reports.StudyRows`)
    as markdown: what ``docs/results`` shows; ``atomloop report --study NAME --out FILE.md``."""
    from atomloop.study.claims import (
        ARCHITECTURE_COLUMNS,
        CLAIM_1_COLUMNS,
        CLAIM_2_COLUMNS,
        MOLECULAR_COST_COLUMNS,
        TRADE_OFF_COLUMNS,
        study_claims,
    )
    from atomloop.study.report import SUMMARY_COLUMNS

    experiments = rows.views["study_experiments"]
    claims = study_claims(experiments, rows.views["study_atomic_errors"], rows.molecule_errors)
    sections = [
        (f"study {rows.study['name']} ({rows.study['status']}): {len(experiments)} experiments", None),
        ("tests: p_value, the paired t-test over seeds; p_exact, the exact sign-flip test; p_holm, p_value"
         " Holm-adjusted over every row of the claims tables below (one family); *_boot_low/high: 95 % hierarchical"
         " bootstrap over seeds and test molecules; verdict at p_holm 0.05", None),
        ("claim 1a: atomic energies, atomic-trained minus the element-mean baseline (element-centred MAE, kcal/mol;"
         " fraction of the baseline's)",
         markdown_table(claims["claim_1"], CLAIM_1_COLUMNS)),
        ("claim 1b, does atomic augmentation help molecular energies: per-atom MAE, atomic- minus total-trained"
         " (meV/atom)",
         markdown_table(claims["molecular_cost"], MOLECULAR_COST_COLUMNS)),
        ("atomic-weight trade-off: molecular MAE (meV/atom) and centred atomic MAE (kcal/mol, fraction of the"
         " baseline's) per weight, changes against weight 0 (total only)",
         markdown_table(claims["trade_off"], TRADE_OFF_COLUMNS)),
        ("claim 2: transfer split over in-distribution per-atom MAE (ratio)",
         markdown_table(claims["claim_2"], CLAIM_2_COLUMNS)),
        ("architectures: per-atom MAE of molecular energies, second minus first architecture (meV/atom)",
         markdown_table(claims["architectures"], ARCHITECTURE_COLUMNS)),
        ("summary over seeds", markdown_table(rows.views["study_summary"], SUMMARY_COLUMNS)),
    ]
    return "\n\n".join(f"#### {title}" + (f"\n\n{body}" if body else "") for title, body in sections) + "\n"
