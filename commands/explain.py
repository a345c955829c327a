"""Scoring's explanations in the reader's words: a method's receipt, rule and targets as text.

``scoring.explained`` gives an English msgid with typed parameters; this module translates the
msgid and formats each parameter by its type (a value in the indicator's unit, points at the
scheme's precision, a band's edges, a level's name, a component by its name). It never asks
which class a scoring method is: the method said what it means.
"""

from __future__ import annotations

from decimal import Decimal
from typing import assert_never

from commands import numbers
from commands.i18n import Translate
from scoring.explained import ComponentRef, Explained, Joined, Named, Param, Points, Span, Value
from scoring.scheme import Component, Indicator, Scheme


def N_(message: str) -> str:
    return message


UNIT_FORMATS: dict[str, str] = {
    "fraction": N_("{value}%"),
    "percent": N_("{value}%"),
    "seconds": N_("{value} s"),
    "minutes": N_("{value} min"),
    "yuan": N_("¥{value}"),
    "count": N_("{value}"),
    "days": N_("{value} days"),
    "points": N_("{value} points"),
}
"""How a value of each unit reads (English msgids; ``{value} s`` is ``{value} 秒`` in Chinese)."""


def value_text(_: Translate, lang: str, indicator: Indicator, value: Decimal | float | None) -> str:
    """A raw indicator value as a person reads it: a share as a percentage (23.5%), money with
    two decimals (¥58,278.30), a duration with its unit (45 秒), a level by its name."""
    if value is None:
        return _("no data")
    level = indicator.method.level_name(float(value))
    if level is not None:
        return level.zh if lang == "zh" else level.en
    return unit_value_text(_, indicator.unit, value)


def unit_value_text(_: Translate, unit: str, value: Decimal | float | None) -> str:
    """A value in ``unit`` as a person reads it (:func:`value_text` without the indicator)."""
    if value is None:
        return _("no data")
    x = float(value)
    if unit == "fraction":
        x *= 100
    if unit == "yuan":
        shown = f"{x:,.2f}"
    else:
        whole = unit in ("count", "seconds") and x.is_integer()
        shown = numbers.number(x, 0 if whole else 2)
    return _(UNIT_FORMATS.get(unit, "{value}"), value=shown)


def span_text(_: Translate, lang: str, indicator: Indicator, span: Span) -> str:
    """A band's edges in the indicator's unit: ``≤ 3%``, ``> 30 s, ≤ 60 s``."""
    parts = []
    if span.lower is not None:
        sign = "≥ " if span.lower_inclusive else "> "
        parts.append(sign + value_text(_, lang, indicator, span.lower))
    if span.upper is not None:
        sign = "≤ " if span.upper_inclusive else "< "
        parts.append(sign + value_text(_, lang, indicator, span.upper))
    if len(parts) == 2:
        return _("{lower}, {upper}", lower=parts[0], upper=parts[1])
    return "".join(parts) or _("any value")


def component_name(_: Translate, lang: str, comp: Component) -> str:
    if comp.name is not None:
        return comp.name.get(lang)
    names = {
        "self": _("Self-review"), "manager": _("Manager review"), "kpi": _("KPI table"),
        "customer": _("Customer ratings"), "peer": _("Peer ratings"), "qa": _("Quality sampling"),
        "team": _("Team share"),
    }  # fmt: skip
    return names.get(comp.kind, comp.id)


def render(
    _: Translate, lang: str, indicator: Indicator, scheme: Scheme | None, said: Explained
) -> str:
    """An explanation of ``indicator``'s method in the reader's language."""

    def param(p: Param) -> str:
        match p:
            case str():
                return p
            case Value():
                return value_text(_, lang, indicator, p.x)
            case Points():
                return numbers.points(_, p.x, scheme.precision if scheme else 1)
            case Span():
                return span_text(_, lang, indicator, p)
            case Named():
                return p.zh if lang == "zh" else p.en
            case ComponentRef():
                comp = scheme.component(p.id) if scheme is not None else None
                return component_name(_, lang, comp) if comp is not None else p.id
            case Joined():
                return _("; ").join(param(e) for e in p.items)
            case Explained():
                return _(p.text, **{k: param(v) for k, v in p.params.items()})
            case _:
                assert_never(p)

    return param(said)
