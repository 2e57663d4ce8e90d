"""Self-contained HTML pages: tables of database rows, figures embedded as base64 PNG (with
the warnings they carry written out above them), plain-language notes and galleries of
inline SVG drawings."""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
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


def _cell_class(value: Any) -> str:
    """The class attribute of a cell: text left-aligned, mappings and lists (JSON) wide enough to read."""
    if isinstance(value, str):
        return ' class="text"'
    if isinstance(value, (dict, list)):
        return ' class="mapping"'
    return ""


def table(table_id: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    """An HTML table with one column per name in ``columns`` (header = the column name)."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td{_cell_class(row[c])}>{html.escape(fmt(row[c]))}</td>" for c in columns) + "</tr>\n"
        for row in rows
    )
    return f'<div class="scroll"><table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table></div>'


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
