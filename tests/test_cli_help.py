"""Every ``atomloop`` command's ``--help`` reads as plain text: no reStructuredText markup from
the docstrings it is built from."""

from __future__ import annotations

import re

import typer
from typer.testing import CliRunner

from atomloop.cli import app

MARKUP = re.compile(r"``|:(func|class|mod|meth|data|attr):`")


def _commands(command, path: tuple[str, ...] = ()):
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_every_help_text_is_plain_text():
    root = typer.main.get_command(app)
    paths = list(_commands(root))
    assert len(paths) > 15  # the groups and their subcommands
    for path in paths:
        result = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)
        assert result.exit_code == 0, (path, result.output)
        assert not MARKUP.search(result.output), (path, [line for line in result.output.splitlines() if MARKUP.search(line)])
