"""Names of the atomic-energy partition schemes and their small grammar.

``ao-eda``
    Atomic-orbital based: every one-particle trace is restricted to the AO rows of atom A.
``mo-{canonical|pm|fb}-{mulliken|lowdin|iao}``
    Molecular-orbital based: occupied orbitals (canonical, Pipek-Mezey(IAO) started from IBOs,
    or Foster-Boys) weighted onto atoms by a population method.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

from atomloop.qm.errors import UnknownSchemeError

LOCALIZATIONS = ("canonical", "pm", "fb")
POPULATIONS = ("mulliken", "lowdin", "iao")
AO_SCHEME = "ao-eda"
VALID_SCHEMES: tuple[str, ...] = (AO_SCHEME,) + tuple(
    f"mo-{loc}-{pop}" for loc, pop in product(LOCALIZATIONS, POPULATIONS)
)


@dataclass(frozen=True)
class Scheme:
    """A parsed scheme name: ``family`` 'ao' or 'mo'; for 'mo' a localization and a population."""

    name: str
    family: str
    localization: str | None = None
    population: str | None = None


def parse_scheme(name: str) -> Scheme:
    """Parse a scheme name (case-insensitive); unknown names raise :class:`UnknownSchemeError`."""
    key = name.strip().lower()
    if key == AO_SCHEME:
        return Scheme(name=key, family="ao")
    parts = key.split("-")
    if len(parts) == 3 and parts[0] == "mo" and parts[1] in LOCALIZATIONS and parts[2] in POPULATIONS:
        return Scheme(name=key, family="mo", localization=parts[1], population=parts[2])
    raise UnknownSchemeError(
        f"unknown partition scheme {name!r}; valid schemes: {', '.join(VALID_SCHEMES)}"
    )
