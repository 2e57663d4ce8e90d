"""What the tests read off a command's output."""

from __future__ import annotations


def one_error_line(stderr: str) -> str:
    """The only line of ``stderr``, which must hold no traceback."""
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]
