"""Typer options derived from the fields of a pydantic model, so a command cannot drift from it.

``with_model_options(Model, extra)`` turns a function taking ``(config, **extra)`` into a Typer
command with one option per field: ``--field-name`` (plus ``--alias`` for each validation alias),
the field's default and its description as help; ``tuple[X, ...]`` fields become repeatable
options, ``bool`` fields ``--flag/--no-flag``. A value the model rejects is one line and exit 2.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable
from typing import Any

import typer
from pydantic import AliasChoices, BaseModel, ValidationError


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


def _parameter(name: str, field) -> inspect.Parameter:
    annotation = field.annotation
    default = list(field.default) if isinstance(field.default, tuple) else field.default
    if annotation is bool:
        names = [f"--{name.replace('_', '-')}/--no-{name.replace('_', '-')}"]
    else:
        names = _option_names(name, field)
    option = typer.Option(default, *names, help=field.description, show_default=default is not None)
    keyword = inspect.Parameter.KEYWORD_ONLY
    return inspect.Parameter(name, keyword, default=option, annotation=_cli_annotation(annotation))


def with_model_options(model: type[BaseModel], command: Callable[..., Any]) -> Callable[..., Any]:
    """A Typer command: ``model``'s fields as options, then ``command``'s own keyword options.

    ``command(config, **own_options)`` receives the validated model instance.
    """
    own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "config"]
    fields = [_parameter(name, field) for name, field in model.model_fields.items()]

    @functools.wraps(command)
    def wrapper(**options: Any) -> Any:
        own_values = {p.name: options.pop(p.name) for p in own}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
        try:
            config = model(**values)
        except ValidationError as error:
            first = error.errors()[0]
            option = "--" + str(first["loc"][0]).replace("_", "-") if first["loc"] else "options"
            typer.secho(f"error: {option}: {first['msg'].removeprefix('Value error, ')}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None
        return command(config, **own_values)

    parameters = fields + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
    wrapper.__signature__ = inspect.Signature(parameters)
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    del wrapper.__wrapped__
    return wrapper
