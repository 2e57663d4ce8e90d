"""mkdocs hook: the CLI reference page, generated from the ``atomloop`` command itself.

Every command and subcommand of the Typer app :data:`atomloop.cli.app` is asked for its
``--help`` (click's plain formatting, 100 columns), so ``reference/cli.md`` always says what
the installed command says. Run it alone to print the page:
``.venv/bin/python docs/hooks/cli_reference.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

PAGE = "reference/cli.md"
WIDTH = 100

INTRO = """# CLI reference

Generated from `atomloop ... --help` when the site is built (`docs/hooks/cli_reference.py`), so it
lists exactly the installed command's options and defaults. `python -m atomloop` is the same
command. Exit status: 0 on success, 1 for an error (bad input, an unreachable store, a failed
step: one line naming the cause), 2 for a usage error (an unknown option, a value out of range,
an id or name that names nothing: one line).
"""


def _commands() -> Iterator[tuple[list[str], object]]:
    """(path, command) for the app and every command below it, in ``--help`` order."""
    import typer
    from typer._click import Context

    from atomloop.cli import app

    def walk(command, path: list[str]):
        yield path, command
        if hasattr(command, "list_commands"):
            context = Context(command)
            for name in command.list_commands(context):
                yield from walk(command.get_command(context, name), [*path, name])

    yield from walk(typer.main.get_command(app), [])


def _help(path: list[str]) -> str:
    """``atomloop PATH --help`` as click prints it without rich's boxes."""
    import typer.core
    from typer.testing import CliRunner

    from atomloop.cli import app

    rich, typer.core.HAS_RICH = typer.core.HAS_RICH, False
    try:
        result = CliRunner().invoke(app, [*path, "--help"], prog_name="atomloop", terminal_width=WIDTH,
                                    env={"COLUMNS": str(WIDTH)})
    finally:
        typer.core.HAS_RICH = rich
    if result.exit_code != 0:
        raise RuntimeError(f"atomloop {' '.join(path)} --help exited {result.exit_code}: {result.output}")
    return result.output.rstrip()


def cli_reference() -> str:
    """The page's markdown: one section per command, its help in a text block."""
    parts = [INTRO]
    for path, command in _commands():
        if getattr(command, "hidden", False):
            continue
        name = " ".join(["atomloop", *path])
        level = "#" * min(2 + max(len(path) - 1, 0), 4)
        parts.append(f"{level} `{name}`\n\n```text\n{_help(path)}\n```\n")
    return "\n".join(parts)


def on_files(files, config):
    """Add the generated page to the site's files (mkdocs >= 1.6)."""
    from mkdocs.structure.files import File

    files.append(File.generated(config, PAGE, content=cli_reference()))
    return files


if __name__ == "__main__":
    print(cli_reference())
