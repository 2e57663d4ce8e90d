"""Self-contained HTML pages: tables of database rows, figures embedded as base64 PNG (with
the warnings they carry written out above them), plain-language notes and galleries of
inline SVG drawings.

A table's columns are names (the header is the name, the cell :func:`fmt`) or :class:`Column`
(a header in words and a writer that rounds for reading: :func:`significant`, :func:`p_value`,
:func:`decimals`); the database keeps full precision.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.figure import Figure

from atomloop.study.plots import figure_warnings, png_bytes

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1400px; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
th { background: #f0f0f0; position: sticky; top: 0; }
td.text { text-align: left; }
td.mapping { text-align: left; min-width: 28em; font-size: 0.9em; }
td.wrap { text-align: left; min-width: 14em; max-width: 26em; white-space: normal; overflow-wrap: anywhere; font-size: 0.9em; }
p.summary { font-size: 1.15em; max-width: 60em; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
.scroll { max-height: 40em; overflow: auto; }
p.note { background: #f6f6ff; border-left: 4px solid #88a; padding: 0.3em 0.6em; max-width: 60em; }
p.warning { background: #fff3f0; border-left: 4px solid #c33; padding: 0.3em 0.6em; max-width: 60em; }
.gallery { display: flex; flex-wrap: wrap; gap: 0.5em; margin: 0.5em 0 1.5em; }
.gallery figure { margin: 0; border: 1px solid #eee; text-align: center; font-size: 0.8em; }
.gallery .formula { width: 200px; height: 160px; display: flex; align-items: center; justify-content: center; font-size: 1.4em; color: #666; }
"""


def fmt(value: Any) -> str:
    """How a value is written in a report: floats to 6 significant digits, None as '-'."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def significant(value: float | None, digits: int = 3) -> str:
    """``value`` rounded to ``digits`` significant digits, without an exponent (12345 -> '12300',
    0.012345 -> '0.0123'); None as '-'."""
    if value is None:
        return "-"
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    rounded = float(f"{value:.{digits - 1}e}")
    return f"{rounded:.{max(0, digits - 1 - math.floor(math.log10(abs(rounded))))}f}"


def decimals(places: int) -> Callable[[float | None], str]:
    """A writer of values to ``places`` decimal places (None as '-')."""
    return lambda value: "-" if value is None else f"{value:.{places}f}"


def p_value(value: float | None) -> str:
    """A p-value for reading: '< 0.001' below 0.001, else three decimals ('0.010'); None as '-'."""
    if value is None:
        return "-"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


@dataclass(frozen=True)
class Column:
    """A table column: the row key, the header in words, how a value is written, and whether
    the cell wraps (long text such as hyper-parameter lists)."""

    key: str
    header: str
    write: Callable[[Any], str] = fmt
    wrap: bool = False


def _cell_class(value: Any, column: Column) -> str:
    """The class attribute of a cell: wrapped columns wrap, text left-aligned, mappings and lists
    (JSON) wide enough to read."""
    if column.wrap:
        return ' class="wrap"'
    if isinstance(value, str):
        return ' class="text"'
    if isinstance(value, (dict, list)):
        return ' class="mapping"'
    return ""


def table(table_id: str, columns: Sequence[str | Column], rows: Sequence[Mapping[str, Any]]) -> str:
    """An HTML table with one column per entry of ``columns``: a name (header = the name, cells
    by :func:`fmt`) or a :class:`Column`."""
    shown = [c if isinstance(c, Column) else Column(c, c) for c in columns]
    head = "".join(f"<th>{html.escape(c.header)}</th>" for c in shown)
    body = "".join(
        "<tr>" + "".join(f"<td{_cell_class(row[c.key], c)}>{html.escape(c.write(row[c.key]))}</td>" for c in shown) + "</tr>\n"
        for row in rows
    )
    return f'<div class="scroll"><table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table></div>'


def summary(text: str) -> str:
    """The report's opening sentence, larger than the notes."""
    return f'<p class="summary">{html.escape(text)}</p>'


def note(text: str, *, warning: bool = False) -> str:
    """A paragraph of plain language next to a table or figure (``warning``: marked red)."""
    return f'<p class="{"warning" if warning else "note"}">{html.escape(text)}</p>'


def figure(fig: Figure, alt: str) -> str:
    """The figure as an embedded PNG image, after its warnings (:func:`figure_warnings`)."""
    data = base64.b64encode(png_bytes(fig)).decode("ascii")
    warnings = "".join(note(text, warning=True) for text in figure_warnings(fig))
    return f'{warnings}<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def gallery(gallery_id: str, items: Sequence[tuple[str | None, str, str]]) -> str:
    """Drawings side by side: per item (inline SVG, text, caption) the SVG, or where there is
    none (None) the text, large, in its place, above the caption."""
    cells = []
    for svg, text, caption in items:
        drawing = svg if svg is not None else f'<div class="formula">{html.escape(text)}</div>'
        cells.append(f"<figure>{drawing}<figcaption>{html.escape(caption)}</figcaption></figure>")
    return f'<div class="gallery" id="{gallery_id}">{"".join(cells)}</div>'


def page(title: str, sections: Sequence[tuple[str, str]]) -> str:
    """A complete HTML document: a title, then (heading, body HTML) sections."""
    parts = [f"<h2>{html.escape(heading)}</h2>\n{body}" for heading, body in sections]
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head>\n<body><h1>{html.escape(title)}</h1>\n" + "\n".join(parts) + "\n</body></html>\n"
    )
