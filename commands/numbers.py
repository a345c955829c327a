"""How kpibot writes a score: the one home of the scheme's precision on screen.

A scheme declares ``precision`` (0–4 decimals, ``scoring.scheme``) and ``scoring`` rounds every
total to it, half up, and splits it into parts that add up at the same places. What is shown
carries exactly those places, taken from the scheme in effect for the period shown (never a
global, never a fixed 1 decimal):

- :func:`total` — a result as a figure (a total, a mean or median of totals, a chart label):
  always ``precision`` decimals, so the places the scheme ranks by are visible and totals line
  up in a list (86 / 85.5 / 85.0 / 85.47); ``—`` when there is none.
- :func:`change` — a difference of two totals, signed, at the same places (``+1.5``, ``-0.3``,
  ``+0.0``).
- :func:`part` — a part of a result or a declared amount (points earned, a contribution, a
  maximum, a weight): at most ``precision`` decimals, trailing zeros dropped, as a receipt is
  read (``100 × 50% = 50``, ``24.35``).
- :func:`points` — :func:`part` with its unit, as each language says it (85.5 points / 85.5 分).
- :func:`cell` — a result as a spreadsheet number (an export's total or points): a ``Decimal``
  with exactly ``precision`` places, so a CSV writes ``85.50`` at 2 and ``86`` at 0, and the
  .xlsx formats it with those places — a number, never text.
- :func:`number` — any other plain number (an indicator value's figure, a weight) at most
  ``places`` decimals; :func:`part` is it at the scheme's precision.

Every number is rounded as scoring rounds a total: once, half up, as written (``74.95`` is
``75.0`` at 1; a mean of 72.5 is ``73`` at 0, never Python's half-to-even ``72``). Thousands are
grouped with a comma in both languages (1,250), as Chinese business text writes them too.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from commands.i18n import Translate
from scoring.total import half_up

NONE = "—"
"""What stands for a missing number."""


def _rounded(value: Any, places: int) -> Decimal | None:
    """``value`` half up at ``places`` decimals as written (``repr``: 74.95 is 74.95, not the
    binary 74.9499…), ``None`` for none, an empty cell, NaN or infinity."""
    if value is None or value == "":
        return None
    x = float(value)
    if not math.isfinite(x):
        return None
    shown = half_up(x, places)  # scoring's rule for a total, one value
    return shown + 0 if shown.is_zero() else shown  # -0.00 is 0.00


def total(value: Any, precision: int) -> str:
    """A result at the scheme's ``precision``, every place written: ``total(85.47, 1)`` is
    ``85.5``, ``total(85, 1)`` is ``85.0``, ``total(85.47, 0)`` is ``85``."""
    x = _rounded(value, precision)
    return NONE if x is None else f"{x:,}"


def cell(value: Any, precision: int) -> Decimal | None:
    """A result as a number with exactly ``precision`` places: ``cell(85.5, 2)`` is
    ``Decimal("85.50")``; ``None`` when there is none (an empty cell)."""
    return _rounded(value, precision)


def change(value: Any, precision: int) -> str:
    """A difference of totals with its sign, every place written: ``change(1.46, 1)`` is
    ``+1.5``."""
    x = _rounded(value, precision)
    return NONE if x is None else f"{x:+,}"


def part(value: Any, precision: int) -> str:
    """A part or a declared amount at most ``precision`` decimals, without trailing zeros:
    ``part(30, 2)`` is ``30``, ``part(2.5, 1)`` is ``2.5``, ``part(24.354, 2)`` is ``24.35``."""
    return number(value, precision)


def number(value: Any, places: int) -> str:
    """Thousands separated, at most ``places`` decimals, no trailing zeros: 1,250, 23.5."""
    x = _rounded(value, places)
    if x is None:
        return NONE
    text = f"{x:,}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def points(_: Translate, value: Any, precision: int) -> str:
    """A number of points with its unit: ``30 points`` / ``30 分``."""
    return _("{points} points", points=part(value, precision))
