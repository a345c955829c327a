"""How a scoring method explains itself, as data: an English message id and typed parameters.

A method says how points come from a value (its *receipt*, :meth:`receipt`) and how its rule
reads (:meth:`rule`) without knowing the reader's language or the indicator's unit; the edge
(``commands``) translates ``text`` and formats each parameter by its type: a :class:`Value` in
the indicator's unit, :class:`Points` at the scheme's precision, a :class:`Span` as a band's
edges, a :class:`Named` in the reader's language, a :class:`ComponentRef` by the component's
name, a nested :class:`Explained` or :class:`Joined` recursively, a ``str`` as it is.

    Explained("band {band} ({range})", {"band": "2", "range": Span(0.03, False, 0.06, True)})
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias


def N_(message: str) -> str:
    """Marks an English message id (translated at the edge; zh in the commands catalogues)."""
    return message


@dataclass(frozen=True)
class Value:
    """An indicator value, shown in the indicator's unit (23.5%, ¥58,278.30, 45 s)."""

    x: float


@dataclass(frozen=True)
class Points:
    """A number of points, shown at the scheme's precision."""

    x: float


@dataclass(frozen=True)
class Span:
    """A band's edges in the indicator's unit (``> 3%, ≤ 6%``); ``None`` is unbounded."""

    lower: float | None
    lower_inclusive: bool
    upper: float | None
    upper_inclusive: bool


@dataclass(frozen=True)
class Named:
    """A name in both languages (a descriptive level)."""

    zh: str
    en: str


@dataclass(frozen=True)
class ComponentRef:
    """A component of the scheme, shown by its name."""

    id: str


@dataclass(frozen=True)
class Joined:
    """Several explanations in a row: a list (the language's separator) or ``spaced`` words."""

    items: tuple[Explained, ...]
    spaced: bool = False


Param: TypeAlias = "Value | Points | Span | Named | ComponentRef | Joined | Explained | str"


@dataclass(frozen=True)
class Explained:
    """``text`` (an English msgid with ``{placeholders}``) and what fills them in."""

    text: str
    params: Mapping[str, Param] = field(default_factory=dict)


def num(x: float, places: int = 1) -> str:
    """A plain number at ``places`` decimals at most, without trailing zeros: 30, 2.5."""
    text = f"{x:.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
