"""Typer options derived from the fields of a pydantic model, so a command cannot drift from it.

``with_model_options(Model, extra, choices)`` turns a function taking ``(config, **extra)`` into a
Typer command with one option per field: ``--field-name`` (plus ``--alias`` for each validation
alias), the field's default and its description as help; ``tuple[X, ...]`` fields become
repeatable options, ``bool`` fields ``--flag/--no-flag``; the fields of ``choices`` take one of
their words, checked while parsing (:mod:`atomloop.cli.choices`). A value the model rejects is a
usage error too: one line and exit 2.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import typer
from pydantic import AliasChoices, BaseModel, ValidationError

from atomloop.cli.choices import Choices


def _option_names(name: str, field) -> list[str]:
    names = [name]
    if isinstance(field.validation_alias, AliasChoices):
        names += [alias for alias in field.validation_alias.choices if isinstance(alias, str) and alias != name]
    return [f"--{n.replace('_', '-')}" for n in names]


def _cli_annotation(annotation: Any) -> Any:
    """``tuple[X, ...]`` -> ``list[X]`` (repeatable); ``X | None`` -> ``Optional[X]``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is tuple:
        return list[args[0]]
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in args if a is not type(None)]
        return typing.Optional[inner]  # noqa: UP045 - Typer reads Optional
    return annotation


def _parameter(name: str, field, choices: Choices | None) -> inspect.Parameter:
    annotation = field.annotation
    default = list(field.default) if isinstance(field.default, tuple) else field.default
    if annotation is bool:
        names = [f"--{name.replace('_', '-')}/--no-{name.replace('_', '-')}"]
    else:
        names = _option_names(name, field)
    help_text, checked = field.description, {}
    if choices is not None:
        help_text, checked = choices.describe(help_text), {"parser": choices.parse, "metavar": choices.metavar}
    option = typer.Option(default, *names, help=help_text, show_default=default is not None, **checked)
    keyword = inspect.Parameter.KEYWORD_ONLY
    return inspect.Parameter(name, keyword, default=option, annotation=_cli_annotation(annotation))


def with_model_options(
    model: type[BaseModel], command: Callable[..., Any], choices: Mapping[str, Choices] | None = None
) -> Callable[..., Any]:
    """A Typer command: ``model``'s fields as options, then ``command``'s own keyword options;
    ``choices``: the words some fields take (field name -> :class:`Choices`).

    ``command(config, **own_options)`` receives the validated model instance.
    """
    choices = choices or {}
    own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "config"]
    fields = [_parameter(name, field, choices.get(name)) for name, field in model.model_fields.items()]

    @functools.wraps(command)
    def wrapper(**options: Any) -> Any:
        own_values = {p.name: options.pop(p.name) for p in own}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
        try:
            config = model(**values)
        except ValidationError as error:
            first = error.errors()[0]
            option = f"'--{str(first['loc'][0]).replace('_', '-')}'" if first["loc"] else "options"
            raise typer.BadParameter(first["msg"].removeprefix("Value error, "), param_hint=option) from None
        return command(config, **own_values)

    parameters = fields + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
    wrapper.__signature__ = inspect.Signature(parameters)
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    del wrapper.__wrapped__
    return wrapper
