"""A run from a file: ``atomloop loop --config run.yaml`` and ``--dump-config``.

The file is a YAML mapping of :class:`~atomloop.loop.config.LoopConfig`'s fields (see its
docstring); options given on the command line override the file's values, options left at their
default do not. Whatever is wrong with the file is one line naming the file (and the key) and
exit status 2, found before anything heavy is imported::

    error: Invalid value for '--config': run.yaml, key 'k': Input should be greater than or equal
    to 1 (see 'atomloop loop --help')

(one line on the terminal).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import typer
from pydantic import AliasChoices, ValidationError

from atomloop.cli.choices import Choices
from atomloop.loop.config import LoopConfig, load_yaml_mapping

OPTION = "'--config'"
GIVEN = ("COMMANDLINE", "ENVIRONMENT", "PROMPT")  # click's ParameterSource of an option not left at its default


def _fail(path: Path, detail: str) -> NoReturn:
    raise typer.BadParameter(f"{path}{detail}", param_hint=OPTION)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        _fail(path, ": no such file")
    except IsADirectoryError:
        _fail(path, ": a directory, not a file")
    except PermissionError:
        _fail(path, ": not readable (permission denied)")
    except UnicodeDecodeError:
        _fail(path, ": not YAML (not UTF-8 text)")
    except OSError as error:
        _fail(path, f": not readable ({error.strerror or error})")


def _keys() -> dict[str, str]:
    """Every key a file may use (field names and their aliases) -> the field it sets."""
    keys = {}
    for name, field in LoopConfig.model_fields.items():
        keys[name] = name
        if isinstance(field.validation_alias, AliasChoices):
            keys |= {alias: name for alias in field.validation_alias.choices if isinstance(alias, str)}
    return keys


def _check_keys(path: Path, values: Mapping[str, Any], command_options: Iterable[str]) -> None:
    keys, set_by = _keys(), {}
    for key in values:
        if key not in keys:
            if key in command_options:
                _fail(path, f": unknown key {key!r}; {key} is no field of the run: give "
                            f"--{key.replace('_', '-')} on the command line")
            close = [key.replace("-", "_")] if key.replace("-", "_") in keys else []
            close = close or difflib.get_close_matches(key, list(LoopConfig.model_fields), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "; --dump-config lists the keys"
            _fail(path, f": unknown key {key!r}{hint}")
        field = keys[key]
        if field in set_by:
            _fail(path, f": the keys {set_by[field]!r} and {key!r} both set {field}")
        set_by[field] = key


def _check_choices(path: Path, values: dict[str, Any], choices: Mapping[str, Choices]) -> None:
    """The fields of a few words read as the options read them (case-insensitive, the same
    message); values of another type are left to the config's validation."""
    keys = _keys()
    for key, value in list(values.items()):
        checked = choices.get(keys[key])
        if checked is None:
            continue
        try:
            if isinstance(value, str):
                values[key] = checked.parse(value)
            elif isinstance(value, list) and all(isinstance(item, str) for item in value):
                values[key] = [checked.parse(item) for item in value]
        except typer.BadParameter as error:
            _fail(path, f", key {key!r}: {error.message}")


def read_run_file(
    path: Path, choices: Mapping[str, Choices] | None = None, command_options: Iterable[str] = ()
) -> LoopConfig:
    """The :class:`LoopConfig` a run file describes; a usage error of ``--config`` naming the
    file (and the key) otherwise. ``choices``: the fields checked as the command's options
    check them; ``command_options``: the command's options that are no field (a key of that
    name is refused with a pointer to the option)."""
    text = _read_text(path)
    try:
        values = load_yaml_mapping(text)
    except ValueError as error:
        _fail(path, f": {error}")
    values = {str(key): value for key, value in values.items()}
    _check_keys(path, values, tuple(command_options))
    _check_choices(path, values, choices or {})
    try:
        return LoopConfig.from_mapping(values)
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(part) for part in first["loc"][:1])
        detail = first["msg"].removeprefix("Value error, ")
        _fail(path, f", key {key!r}: {detail}" if key else f": {detail}")


def given_on_the_command_line(context: typer.Context, names: Iterable[str]) -> list[str]:
    """Those of the command's parameters ``names`` given explicitly, not left at their default
    (``context``: the command's, whose ``get_parameter_source`` tells)."""
    sources = {name: context.get_parameter_source(name) for name in names}
    return [name for name, source in sources.items() if source is not None and source.name in GIVEN]


def effective_config(
    context: typer.Context, options: LoopConfig, path: Path | None, choices: Mapping[str, Choices] | None = None,
    command_options: Iterable[str] = (),
) -> LoopConfig:
    """The run's configuration: the file's fields (``path``; None: no file), the options given
    on the command line over them, defaults for the rest. ``options``: the config the command's
    options make (their defaults where not given); ``context``: the command's."""
    if path is None:
        return options
    from_file = read_run_file(path, choices, command_options)
    given = {name: getattr(options, name) for name in given_on_the_command_line(context, LoopConfig.model_fields)}
    return LoopConfig.model_validate({**from_file.model_dump(), **given})
