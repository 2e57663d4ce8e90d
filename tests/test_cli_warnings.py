"""atomloop's own warnings reach a command's user as one line, without an echoed source line."""

from __future__ import annotations

import warnings

from atomloop.cli import _show_warning
from atomloop.models.evaluate import UnseenElementWarning


def test_atomlooops_warnings_are_one_line_and_other_libraries_keep_their_format(capsys, monkeypatch):
    monkeypatch.setattr(warnings, "showwarning", _show_warning)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _show_warning
        warnings.warn("test molecules hold Cl, which no training molecule has", UnseenElementWarning, stacklevel=1)
        warnings.warn("something else", DeprecationWarning, stacklevel=1)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "warning: test molecules hold Cl, which no training molecule has"
    assert "DeprecationWarning: something else" in lines[1]  # Python's own format: file:line: Category: message
