"""Export the store's molecules to an ASE SQLite database (for sharing, ``ase gui``, ...)."""

from __future__ import annotations

from pathlib import Path

import ase.db

from atomloop.db.url import ase_url, database_url
from atomloop.errors import InputError


def export_ase_database(path: Path, *, tag: str | None = None, url: str | None = None) -> int:
    """Write the molecules (optionally those tagged ``tag``) to the ASE database ``path``.

    Rows are read through the store's ASE views, so the file holds exactly what
    ``ase db $(atomloop db ase-url)`` shows: positions (Å), energy (eV) when labelled and the
    key-value pairs. Returns the number of rows written; refuses to overwrite a file.
    """
    path = Path(path)
    if path.exists():
        raise InputError(f"{path} exists; choose a new file name")
    source = ase.db.connect(ase_url(url or database_url()))
    count = 0
    with ase.db.connect(str(path), type="db") as target:
        for row in source.select():
            if tag is not None and tag not in row.key_value_pairs.get("tag_list", "").split(","):
                continue
            target.write(row.toatoms(), key_value_pairs=row.key_value_pairs)
            count += 1
    return count
