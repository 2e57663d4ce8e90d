"""atomloop's own warnings reach a command's user as one line, without an echoed source line."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys, warnings
from atomloop.cli import _show_warning
from atomloop.models.evaluate import UnseenElementWarning
warnings.showwarning = _show_warning
warnings.warn("test molecules hold Cl, which no training molecule has", UnseenElementWarning)
warnings.warn("something else", FutureWarning)
"""


def test_atomloops_warnings_are_one_line_and_other_libraries_keep_their_format():
    shown = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    lines = shown.stderr.splitlines()
    assert lines[0] == "warning: test molecules hold Cl, which no training molecule has"
    assert lines[1].endswith("FutureWarning: something else")  # Python's own format: file:line: Category: message
