"""ASE's database web app (``atomloop db browse``) without internet.

ASE's pages load jQuery, jQuery UI and Bootstrap from CDNs, and its X3DOM documents
(:mod:`ase.io.x3d`) load x3dom from x3dom.org; the row page's 3-D view needs JSmol, which ASE
does not ship. :func:`serve_offline` serves the copies shipped in ``atomloop/data/browse-assets``
(its README names each file's npm package and licence) under :data:`ASSET_ROUTE`, points every
HTML page's CDN URLs at them, and shows each molecule in X3DOM (``/x3d/PROJECT/ID``) where the
row page would start JSmol.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ase.db.app import DBApp
    from flask import Response

ASSETS = Path(__file__).resolve().parents[1] / "data" / "browse-assets"
ASSET_ROUTE = "/browse-assets/"
CDN_ASSETS = {  # the URLs in ASE's templates and in ase.io.x3d -> the shipped file
    "https://code.jquery.com/jquery-3.1.1.min.js": "jquery-3.1.1.min.js",
    "https://code.jquery.com/ui/1.12.1/jquery-ui.min.js": "jquery-ui-1.12.1.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.3.2/dist/css/bootstrap.min.css": "bootstrap-5.3.2.min.css",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.3.2/dist/js/bootstrap.bundle.min.js": "bootstrap-5.3.2.bundle.min.js",
    "https://www.x3dom.org/release/x3dom.css": "x3dom-1.8.3.css",
    "https://www.x3dom.org/release/x3dom.js": "x3dom-1.8.3.js",
}
VIEW_PIXELS = 450  # width and height of the row page's 3-D view
# The integrity hashes vouch for the CDNs' files; the npm build of jQuery UI differs from its CDN's.
_INTEGRITY = re.compile(r'\s+integrity="[^"]*"')
# ASE's row page with its head block (JSmol and row.js, which drives it) replaced by an X3DOM view.
_ROW_TEMPLATE = """{% extends "ase-db/row.html" %}
{% block head %}
<script>
$(function () {
  $("#appdiv").html('<iframe title="3-D view" src="{{ url_for("x3d_view", project_name=project.name, id=row.id) }}" '
                    + 'width="VIEW" height="VIEW" style="border: 1px solid lightgray"></iframe>');
});
</script>
{% endblock %}
""".replace("VIEW", str(VIEW_PIXELS))


def serve_offline(app: DBApp) -> None:
    """Make ``app``'s pages work without internet: the shipped assets under
    ``/browse-assets/NAME``, CDN URLs in every HTML response rewritten to them (integrity
    attributes dropped), and the row page's 3-D view drawn by X3DOM from ``/x3d/PROJECT/ID``."""
    import ase.db
    from ase.io.x3d import write_x3d
    from flask import abort, send_from_directory
    from jinja2 import ChoiceLoader, DictLoader, FileSystemLoader, PrefixLoader

    flask = app.flask
    flask.jinja_loader = ChoiceLoader([
        DictLoader({"ase/db/templates/row.html": _ROW_TEMPLATE}),
        PrefixLoader({"ase-db": FileSystemLoader(Path(ase.db.__file__).parent / "templates")}),
        flask.jinja_loader,
    ])

    @flask.route(f"{ASSET_ROUTE}<name>")
    def browse_asset(name: str) -> Response:
        if name not in CDN_ASSETS.values():
            abort(404)
        return send_from_directory(ASSETS, name, max_age=86400)

    @flask.route("/x3d/<project_name>/<int:id>")
    def x3d_view(project_name: str, id: int) -> str:
        atoms = app.projects[project_name].database.get_atoms(id=id)
        document = io.StringIO()
        size = f"{VIEW_PIXELS - 20}px"  # inside the frame, with the page margin
        write_x3d(document, atoms, format="X3DOM", style={"width": size, "height": size})
        return document.getvalue()

    @flask.after_request
    def local_assets(response: Response) -> Response:
        if response.mimetype == "text/html" and not response.direct_passthrough:
            page = response.get_data(as_text=True)
            for url, name in CDN_ASSETS.items():
                page = page.replace(url, ASSET_ROUTE + name)
            response.set_data(_INTEGRITY.sub("", page))
        return response
