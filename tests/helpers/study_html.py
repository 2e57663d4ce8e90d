"""Read the tables of an atomloop HTML report back (by table id) for comparison with the store."""

from __future__ import annotations

from html.parser import HTMLParser


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._table = dict(attrs).get("id")
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def report_tables(document: str) -> dict[str, list[dict[str, str]]]:
    """Every table of the report: id -> rows as {column header: cell text}."""
    parser = _Tables()
    parser.feed(document)
    return {name: [dict(zip(rows[0], row)) for row in rows[1:]] for name, rows in parser.tables.items() if rows}


def same_number(cell: str, value, *, significant: int = 6, decimals: int | None = None) -> bool:
    """A report cell equals a database value written to ``significant`` digits (or ``decimals``
    places; '-' for NULL). Aggregates that cancel to ~0 (a standard deviation over identical
    results) differ between two evaluations of a view by rounding noise, hence the absolute 1e-9."""
    if value is None:
        return cell == "-"
    if isinstance(value, float):
        if decimals is not None:
            return abs(float(cell) - value) <= 0.5 * 10.0 ** -decimals * (1 + 1e-9)
        return abs(float(cell) - value) <= 5 * 10.0 ** -significant * abs(value) + 1e-9
    return cell == str(value)
