"""Markdown tables of report rows (for ``docs/results`` and the terminal), numbers written as
in the HTML reports (:func:`atomloop.report.html.fmt`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from atomloop.report.html import fmt


def markdown_table(rows: Iterable[Mapping], columns: Sequence[str]) -> str:
    """A GitHub-flavoured markdown table of ``columns`` of ``rows``, one line per row."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines)
