"""The six scoring methods, each a frozen dataclass that scores a whole column at once.

Every method turns an array of raw indicator values (``NaN`` = missing) into points
between 0 and the indicator's full points. ``score()`` returns a :class:`Scored`
triple: the points (``NaN`` where the value is missing or invalid), a boolean mask
of valid values, and one float ``code`` per value that :meth:`detail` turns back
into the human explanation (which band, how many deductions, which ratio …).

No method ever adds points above the full points or below zero, and every method is
monotone: a better value (per ``better``) never earns fewer points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt

Better = Literal["higher", "lower"]
FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]


class Scored(NamedTuple):
    points: FloatArray
    valid: BoolArray
    code: FloatArray


def _finite(values: FloatArray) -> BoolArray:
    return np.isfinite(values)


@dataclass(frozen=True)
class Band:
    """One band of a tiered indicator: ``lower``/``upper`` edges, each inclusive or not.

    ``None`` means unbounded on that side. In TOML: ``{ gt = 25, le = 30, points = 10 }``.
    """

    points: float
    lower: float | None = None
    lower_inclusive: bool = False
    upper: float | None = None
    upper_inclusive: bool = False

    def contains(self, values: FloatArray) -> BoolArray:
        mask = np.isfinite(values)
        if self.lower is not None:
            mask &= values >= self.lower if self.lower_inclusive else values > self.lower
        if self.upper is not None:
            mask &= values <= self.upper if self.upper_inclusive else values < self.upper
        return mask

    def label(self) -> str:
        """Interval notation: ``(-inf, 25]``, ``(25, 30]``, ``(30, +inf)``."""
        left = "(" if self.lower is None or not self.lower_inclusive else "["
        right = ")" if self.upper is None or not self.upper_inclusive else "]"
        lo = "-inf" if self.lower is None else _num(self.lower)
        hi = "+inf" if self.upper is None else _num(self.upper)
        return f"{left}{lo}, {hi}{right}"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


@dataclass(frozen=True)
class Tiered:
    """层差法: the value falls in exactly one band; the band gives the points."""

    bands: tuple[Band, ...]
    kind: Literal["tiered"] = "tiered"

    def score(self, values: FloatArray, full: float, better: Better) -> Scored:
        # Bands are validated to cover the line without gaps or overlaps; sort them by lower edge.
        # A value on edge k belongs to the upper band if that band's lower edge is inclusive.
        order = sorted(
            range(len(self.bands)),
            key=lambda i: -math.inf if self.bands[i].lower is None else float(self.bands[i].lower),  # type: ignore[arg-type]
        )
        bands = [self.bands[i] for i in order]
        edges = np.array([b.lower for b in bands[1:]], dtype=float)
        upper_takes_edge = np.array([b.lower_inclusive for b in bands[1:]] + [False])
        valid = _finite(values)
        if upper_takes_edge[:-1].all():  # every edge belongs to the band above: [a, b)
            position = np.searchsorted(edges, values, side="right")
        elif not upper_takes_edge.any():  # every edge belongs to the band below: (a, b]
            position = np.searchsorted(edges, values, side="left")
        else:
            left = np.searchsorted(edges, values, side="left")
            right = np.searchsorted(edges, values, side="right")
            position = np.where((right != left) & upper_takes_edge[left], right, left)
        # NaN sorts past every edge, so its position is a real band; it is masked below.
        table = np.array([b.points for b in bands], dtype=float)
        original = np.array(order, dtype=float)
        points = table[position]
        code = original[position]
        if not valid.all():
            points[~valid] = np.nan
            code[~valid] = np.nan
        return Scored(points, valid, code)

    def worst(self, full: float) -> float:
        return min(b.points for b in self.bands)

    def detail(self, value: float, code: float) -> dict[str, Any]:
        if code != code:
            return {}
        band = self.bands[int(code)]
        return {"band": int(code) + 1, "range": band.label(), "band_points": band.points}


@dataclass(frozen=True)
class Deduction:
    """减分法: start from full points, deduct ``per_event`` for each event over ``allowance``; floor 0.

    The value is a count of events (complaints, errors); a negative or fractional count is invalid.
    """

    per_event: float
    allowance: float = 0.0
    kind: Literal["deduction"] = "deduction"

    def score(self, values: FloatArray, full: float, better: Better) -> Scored:
        with np.errstate(invalid="ignore"):
            valid = _finite(values) & (values >= 0) & (np.floor(values) == values)
        events = np.where(valid, np.maximum(values - self.allowance, 0.0), np.nan)
        deducted = events * self.per_event
        points = np.where(valid, np.maximum(full - deducted, 0.0), np.nan)
        return Scored(points, valid, np.where(valid, np.minimum(deducted, full), np.nan))

    def worst(self, full: float) -> float:
        return 0.0

    def detail(self, value: float, code: float) -> dict[str, Any]:
        if math.isnan(code):
            return {}
        return {
            "events": int(value),
            "allowance": self.allowance,
            "per_event": self.per_event,
            "deducted": float(code),
        }


@dataclass(frozen=True)
class Ratio:
    """比率法: points × actual / target (target / actual when lower is better), capped at full points."""

    target: float
    kind: Literal["ratio"] = "ratio"

    def score(self, values: FloatArray, full: float, better: Better) -> Scored:
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            valid = values >= 0  # False for NaN and negatives
            # lower is better: 0 is perfect (target / 0 = inf, capped below)
            ratio = values / self.target if better == "higher" else self.target / values
            valid &= np.isfinite(values)
        points = full * np.minimum(ratio, 1.0)
        if not valid.all():
            ratio[~valid] = np.nan
            points[~valid] = np.nan
        return Scored(points, valid, ratio)

    def worst(self, full: float) -> float:
        return 0.0

    def detail(self, value: float, code: float) -> dict[str, Any]:
        if code != code:
            return {}
        return {"target": self.target, "ratio": code, "capped": code >= 1.0}


@dataclass(frozen=True)
class EitherOr:
    """非此即彼法: full points if the target is met (≥ when higher is better, ≤ when lower), else 0."""

    target: float
    kind: Literal["either_or"] = "either_or"

    def score(self, values: FloatArray, full: float, better: Better) -> Scored:
        valid = _finite(values)
        met = _met(values, self.target, better)
        points = np.where(valid, np.where(met, full, 0.0), np.nan)
        return Scored(points, valid, np.where(valid, met.astype(float), np.nan))

    def worst(self, full: float) -> float:
        return 0.0

    def detail(self, value: float, code: float) -> dict[str, Any]:
        if math.isnan(code):
            return {}
        return {"target": self.target, "met": bool(code)}


def _met(values: FloatArray, target: float, better: Better) -> BoolArray:
    with np.errstate(invalid="ignore"):
        return values >= target if better == "higher" else values <= target


@dataclass(frozen=True)
class Level:
    """One described level of a descriptive indicator (listed worst first)."""

    id: str
    name_zh: str
    name_en: str
    points: float


@dataclass(frozen=True)
class Descriptive:
    """说明法: a rater picks a described level; the value is the level's number (1 = first listed)."""

    levels: tuple[Level, ...]
    kind: Literal["descriptive"] = "descriptive"

    def score(self, values: FloatArray, full: float, better: Better) -> Scored:
        n = len(self.levels)
        with np.errstate(invalid="ignore"):
            valid = _finite(values) & (values >= 1) & (values <= n) & (np.floor(values) == values)
        table = np.array([lv.points for lv in self.levels], dtype=float)
        index = np.where(valid, values, 1).astype(np.int64) - 1
        points = np.where(valid, table[index], np.nan)
        return Scored(points, valid, np.where(valid, index.astype(float), np.nan))

    def worst(self, full: float) -> float:
        return min(lv.points for lv in self.levels)

    def detail(self, value: float, code: float) -> dict[str, Any]:
        if math.isnan(code):
            return {}
        level = self.levels[int(code)]
        return {"level": level.id, "level_zh": level.name_zh, "level_en": level.name_en}


@dataclass(frozen=True)
class Gate:
    """A gate: met (per ``better``) earns the full points (often 0); missed voids component ``voids``.

    ``scope = "team"`` checks the team's value instead of the agent's (DOMAIN.md, 001: one missed
    after-sales target voids the whole team bonus).
    """

    target: float
    voids: str
    scope: Literal["agent", "team"] = "agent"
    kind: Literal["gate"] = "gate"

    def score(self, values: FloatArray, full: float, better: Better) -> Scored:
        valid = _finite(values)
        met = _met(values, self.target, better)
        points = np.where(valid, np.where(met, full, 0.0), np.nan)
        return Scored(points, valid, np.where(valid, met.astype(float), np.nan))

    def worst(self, full: float) -> float:
        return 0.0

    def detail(self, value: float, code: float) -> dict[str, Any]:
        if math.isnan(code):
            return {}
        return {"target": self.target, "met": bool(code), "voids": self.voids, "scope": self.scope}


Method: TypeAlias = Tiered | Deduction | Ratio | EitherOr | Descriptive | Gate
METHOD_KINDS: tuple[str, ...] = ("tiered", "deduction", "ratio", "either_or", "descriptive", "gate")
