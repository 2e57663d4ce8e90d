"""Option values the commands check while parsing, before any heavy import (torch, PySCF,
Prefect): one of a few words, or a value a parser of atomloop's reads. A bad value is one line
and exit status 2, as every usage error is::

    error: Invalid value for '--arch': unknown architecture 'schnett'; choose schnet or nequip
    (see 'atomloop train --help')

(one line on the terminal).

A name or id that names nothing in the store (a model, a run, a round, a study) is the same kind
of error: commands look it up inside :func:`naming` (models: :func:`require_model`) before they
import anything heavy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import typer

from atomloop.datasets.functional_groups import FUNCTIONAL_GROUPS
from atomloop.errors import InputError
from atomloop.loop.config import STRATEGIES as LOOP_STRATEGIES
from atomloop.loop.config import TARGETS
from atomloop.models.names import ARCHITECTURES, VALIDATION_RULES
from atomloop.qm.device import LABEL_DEVICES
from atomloop.qm.schemes import VALID_SCHEMES
from atomloop.select.names import CLASSIFIERS, LEVELS
from atomloop.study.matrix import SPLITS, Target
from atomloop.study.matrix import STRATEGIES as STUDY_STRATEGIES

T = TypeVar("T")

# The names below live in modules that import torch (atomloop.models.training.DEVICES) or Prefect
# (atomloop.loop.tasks.TASK_RUNNERS); tests/test_cli_choices.py keeps these copies equal to them.
TRAINING_DEVICES = ("auto", "cpu", "cuda")
TASK_RUNNERS = ("process", "thread", "dask")
METAVAR_WIDTH = 7  # no wider than <float>: a wider metavar column truncates option names at 80 columns


def words(names: Sequence[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``: choices as a sentence says them."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


@dataclass(frozen=True)
class Choices:
    """The few words an option takes (``what``: how the message names a value)."""

    what: str
    names: tuple[str, ...]

    def parse(self, value: str) -> str:
        """The choice ``value`` names (case-insensitive); otherwise a usage error."""
        for name in self.names:
            if value.strip().lower() == name.lower():
                return name
        raise typer.BadParameter(f"unknown {self.what} {value!r}; choose {words(self.names)}")

    @property
    def metavar(self) -> str:
        """``<a|b>`` in ``--help``; ``<name>`` where that would be longer (the choices are then in the help)."""
        listed = f"<{'|'.join(self.names)}>"
        return listed if len(listed) <= METAVAR_WIDTH else "<name>"

    def describe(self, text: str | None) -> str:
        """An option's help ``text``, with the choices where neither the metavar nor ``text`` lists them."""
        text = text or ""
        if "|" in self.metavar or all(name in text for name in self.names):
            return text
        return f"{text} Choices: {', '.join(self.names)}.".strip()

    def option(self, default: Any, *names: str, help: str) -> Any:  # noqa: A002 - Typer's own keyword
        """A Typer option taking one of the choices (each of them, for a list option)."""
        return typer.Option(default, *names, parser=self.parse, metavar=self.metavar, help=self.describe(help))


ARCHITECTURE = Choices("architecture", ARCHITECTURES)
TARGET = Choices("target", TARGETS)
VALIDATION = Choices("validation", VALIDATION_RULES)
TRAINING_DEVICE = Choices("device", TRAINING_DEVICES)
PREDICTION_DEVICE = Choices("device", TRAINING_DEVICES[1:])
STRATEGY = Choices("strategy", LOOP_STRATEGIES)
LEVEL = Choices("level", LEVELS)
CLASSIFIER = Choices("classifier", CLASSIFIERS)
SCHEME = Choices("scheme", VALID_SCHEMES)
LABEL_DEVICE = Choices("device", LABEL_DEVICES)
LOOP_TASK_RUNNER = Choices("task runner", TASK_RUNNERS)
LABEL_TASK_RUNNER = Choices("task runner", ("process", "dask"))
STUDY_STRATEGY = Choices("strategy", STUDY_STRATEGIES)
SPLIT = Choices("split", SPLITS)
FUNCTIONAL_GROUP = Choices("functional group", FUNCTIONAL_GROUPS)


def parsed_by(parse: Callable[[str], T]) -> Callable[[str], T]:
    """A Typer ``parser`` from a function of atomloop's that refuses with :class:`InputError`."""

    def parser(value: str) -> T:
        with naming(None):
            return parse(value)

    return parser


STUDY_TARGET = parsed_by(lambda text: Target.parse(text).name)


@contextmanager
def naming(param_hint: str | None, *errors: type[Exception]) -> Iterator[None]:
    """Look up what an option names: an :class:`InputError` (or one of ``errors``) raised inside
    (no run, model or study of that name) becomes a usage error of ``param_hint`` (e.g.
    ``"'--run'"``, ``"MODEL_ID"``; None: the option being parsed)."""
    try:
        yield
    except (InputError, *errors) as error:
        raise typer.BadParameter(str(error), param_hint=param_hint) from None


def require_model(model_id: int) -> None:
    """A usage error of ``MODEL_ID`` unless a model of that id is registered (before the
    command imports torch)."""
    from atomloop.db import session_scope
    from atomloop.store.registry import ModelNotFoundError, model_row

    with session_scope() as session, naming("MODEL_ID", ModelNotFoundError):
        model_row(session, model_id)
