"""``atomloop db browse`` without internet: ASE's pages load their scripts and style sheets, and
the row page its X3DOM 3-D view, from the app itself (the copies shipped in the package)."""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import re
import tomllib
from pathlib import Path

import ase.db
from ase.build import molecule

from atomloop.cli.db import ase_web_app
from atomloop.db.browse import ASSET_ROUTE, ASSETS, CDN_ASSETS
from atomloop.ingest import ingest_atoms

REPOSITORY = Path(__file__).resolve().parents[1]
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css"}
_LOADED = re.compile(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"', re.S)


def _loaded(page: str) -> list[str]:
    """The URLs a page's script and link elements load."""
    return _LOADED.findall(page)


def test_the_browser_pages_load_every_script_style_and_3d_view_from_the_app(database_url, engine):
    ids = ingest_atoms([molecule(name) for name in ("CH3OH", "C2H4", "ClO")], source="test", tags=["b"], engine=engine).molecule_ids
    client = ase_web_app(database_url).test_client()
    index = client.get("/")
    assert index.status_code == 200
    row = client.get(f"/default/row/{ids[0]}")
    assert row.status_code == 200
    (view,) = re.findall(r'<iframe title="3-D view" src="([^"]+)"', row.get_data(as_text=True))
    assert view == f"/x3d/default/{ids[0]}"
    x3d = client.get(view)
    pages = {"index": index.get_data(as_text=True), "row": row.get_data(as_text=True), "3-D view": x3d.get_data(as_text=True)}
    assert x3d.get_data(as_text=True).count("<sphere") == 6  # one per atom of methanol
    for name, page in pages.items():
        loaded = _loaded(page)
        assert loaded and not [url for url in loaded if "//" in url], name  # no CDN, no scheme-relative URL
        assert "JSmol" not in page and "integrity=" not in page, name
        for url in loaded:
            response = client.get(url)
            assert response.status_code == 200, url
            assert response.mimetype == CONTENT_TYPES[Path(url).suffix], url
            if url.startswith(ASSET_ROUTE):
                assert response.data == (ASSETS / url.removeprefix(ASSET_ROUTE)).read_bytes()
    shipped = {url for page in pages.values() for url in _loaded(page) if url.startswith(ASSET_ROUTE)}
    assert shipped == {ASSET_ROUTE + name for name in CDN_ASSETS.values()}
    assert client.get(ASSET_ROUTE + "README.md").status_code == 404  # only the assets, not the folder


def test_the_shipped_assets_are_the_files_ase_pins_and_the_package_carries_them_with_licences():
    templates = Path(ase.db.__file__).parent / "templates"
    tags = re.findall(r"<(?:script|link)\b[^>]*>", "".join((templates / t).read_text() for t in ("js.html", "style.html")))
    pinned = {re.search(r'(?:src|href)="([^"]+)"', tag).group(1): re.search(r'integrity="([^"]+)"', tag).group(1)
              for tag in tags if "integrity=" in tag}
    assert set(pinned) <= set(CDN_ASSETS) and len(pinned) == 4
    matching = []
    for url, integrity in pinned.items():
        algorithm, digest = integrity.split("-", 1)
        if base64.b64encode(hashlib.new(algorithm, (ASSETS / CDN_ASSETS[url]).read_bytes()).digest()).decode() == digest:
            matching.append(CDN_ASSETS[url])
    # jQuery UI's npm build differs from its CDN file in the header only; the other three are the CDNs' bytes
    assert sorted(matching) == ["bootstrap-5.3.2.bundle.min.js", "bootstrap-5.3.2.min.css", "jquery-3.1.1.min.js"]
    assert (ASSETS / "jquery-ui-1.12.1.min.js").read_text().startswith("/*! jQuery UI - v1.12.1")
    assert "X3DOM 1.8.3" in (ASSETS / "x3dom-1.8.3.js").read_text()[:200]
    data_globs = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["atomloop.data"]
    files = [p.relative_to(ASSETS.parent).as_posix() for p in ASSETS.iterdir()]
    assert all(any(fnmatch.fnmatch(f, glob) for glob in data_globs) for f in files)
    for package in ("jquery", "jquery-ui", "bootstrap", "x3dom"):
        assert "Permission is hereby granted, free of charge" in (ASSETS / f"{package}.LICENSE.txt").read_text()
