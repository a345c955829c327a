"""The six scoring methods, each a frozen dataclass that scores a whole column at once.

Every method turns an array of raw indicator values (``NaN`` = missing) into points
between 0 and the indicator's full points. ``score()`` returns a :class:`Scored`
triple: the points (``NaN`` where the value is missing or invalid), a boolean mask
of valid values, and one float ``code`` per value that :meth:`detail` turns back
into the human explanation (which band, how many deductions, which ratio …).

No method ever adds points above the full points or below zero, and every method is
monotone: a better value (per ``better``) never earns fewer points.

Each method is complete: besides scoring it says

- its **receipt** (:meth:`receipt`): how a stored ``detail`` became points, as an
  :class:`~scoring.explained.Explained` (which band, how many deducted, the ratio, the level);
- its **rule** (:meth:`rule`): how any value becomes points (``/scheme``);
- its **next target** (:meth:`next_target`): the value that earns more points than ``value``
  does (the next better band or level), else its full target;
- its **full target** (:meth:`full_target`): the value that earns the full points;
- its **band** (:meth:`band`): the edges of the band a stored ``detail`` names (tiered only);
- ``choices()`` (the levels a rater picks, descriptive only), ``counts_events`` (the value is a
  whole number of events), ``voids`` (the component a missed gate voids) and ``note()`` (what a
  rater should know of its points).

Nothing outside ``scoring`` asks which class a method is: :data:`METHODS` maps each kind to its
class (the scheme parser reads it), and the few places that must tell kinds apart do it here,
exhaustively (``typing.assert_never``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Literal, NamedTuple, TypeAlias, get_args

import numpy as np
import numpy.typing as npt

from scoring.explained import N_, ComponentRef, Explained, Joined, Named, Points, Span, Value, num

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

    def span(self) -> Span:
        return Span(self.lower, self.lower_inclusive, self.upper, self.upper_inclusive)

    def contains_value(self, value: float) -> bool:
        return bool(self.contains(np.array([value], dtype=float))[0])

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
    PARAMS: ClassVar[frozenset[str]] = frozenset({"bands"})

    counts_events: ClassVar[bool] = False

    @property
    def voids(self) -> str | None:
        return None

    def choices(self) -> tuple[Level, ...]:
        return ()

    def band(self, detail: Mapping[str, Any]) -> Span | None:
        """The edges of the band a stored ``detail`` names (``None``: no such band)."""
        number = int(detail.get("band") or 0)
        if not 1 <= number <= len(self.bands):
            return None
        return self.bands[number - 1].span()

    def level_name(self, value: float) -> Named | None:
        return None

    def note(self, full: float) -> Explained | None:
        return None

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
        return dict(self._details[int(code)])

    @cached_property
    def _details(self) -> tuple[dict[str, Any], ...]:
        """Each band's detail, worked out once (a team's results repeat them per agent)."""
        return tuple(
            {"band": k + 1, "range": band.label(), "band_points": band.points}
            for k, band in enumerate(self.bands)
        )

    def receipt(self, detail: Mapping[str, Any]) -> Explained | None:
        span = self.band(detail)
        if span is None:
            return None
        return Explained(
            N_("band {band} ({range})"), {"band": str(int(detail["band"])), "range": span}
        )

    def rule(self, full: float, better: Better) -> Explained:
        bands = tuple(
            Explained("{range} → {points}", {"range": b.span(), "points": Points(b.points)})
            for b in self.bands
        )
        return Explained(N_("bands: {bands}"), {"bands": Joined(bands)})

    def full_target(self, better: Better) -> float | None:
        best = max(self.bands, key=lambda b: b.points)
        return best.lower if better == "higher" else best.upper

    def next_target(self, value: float | None, better: Better) -> float | None:
        if value is not None and math.isfinite(value):
            now = next((b.points for b in self.bands if b.contains_value(value)), 0.0)
            above = [b for b in self.bands if b.points > now]
            if above:
                nearest = min(above, key=lambda b: b.points)
                edge = nearest.lower if better == "higher" else nearest.upper
                if edge is not None:
                    return edge
        return self.full_target(better)


@dataclass(frozen=True)
class Deduction:
    """减分法: start from full points, deduct ``per_event`` for each event over ``allowance``;
    floor 0.

    The value is a count of events (complaints, errors); a negative or fractional count is invalid.
    """

    per_event: float
    allowance: float = 0.0
    kind: Literal["deduction"] = "deduction"
    PARAMS: ClassVar[frozenset[str]] = frozenset({"per_event", "allowance"})

    counts_events: ClassVar[bool] = True

    @property
    def voids(self) -> str | None:
        return None

    def choices(self) -> tuple[Level, ...]:
        return ()

    def band(self, detail: Mapping[str, Any]) -> Span | None:
        return None

    def level_name(self, value: float) -> Named | None:
        return None

    def note(self, full: float) -> Explained | None:
        return Explained(
            N_("Each one over {allowance} takes {per_event} of its {points} points."),
            {
                "allowance": _plain(self.allowance),
                "per_event": _plain(self.per_event),
                "points": _plain(full),
            },
        )

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

    def receipt(self, detail: Mapping[str, Any]) -> Explained | None:
        if "deducted" not in detail:
            return None
        return Explained(
            N_("{events} events, {deducted} points deducted"),
            {"events": str(detail.get("events", 0)), "deducted": num(float(detail["deducted"]))},
        )

    def rule(self, full: float, better: Better) -> Explained:
        if self.allowance:
            return Explained(
                N_("{full}, minus {per} for each event over {allowance}, never below 0"),
                {
                    "full": Points(full),
                    "per": Points(self.per_event),
                    "allowance": num(self.allowance, 0),
                },
            )
        return Explained(
            N_("{full}, minus {per} for each event, never below 0"),
            {"full": Points(full), "per": Points(self.per_event)},
        )

    def full_target(self, better: Better) -> float | None:
        return self.allowance

    def next_target(self, value: float | None, better: Better) -> float | None:
        return self.full_target(better)


@dataclass(frozen=True)
class Ratio:
    """比率法: points × actual / target (target / actual when lower is better), capped at full
    points."""

    target: float
    kind: Literal["ratio"] = "ratio"
    PARAMS: ClassVar[frozenset[str]] = frozenset({"target"})

    counts_events: ClassVar[bool] = False

    @property
    def voids(self) -> str | None:
        return None

    def choices(self) -> tuple[Level, ...]:
        return ()

    def band(self, detail: Mapping[str, Any]) -> Span | None:
        return None

    def level_name(self, value: float) -> Named | None:
        return None

    def note(self, full: float) -> Explained | None:
        return None

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

    def receipt(self, detail: Mapping[str, Any]) -> Explained | None:
        if detail.get("ratio") is None:
            return None
        share = Explained(N_("{ratio}% of target"), {"ratio": num(100 * float(detail["ratio"]), 0)})
        if detail.get("capped"):
            return Explained(
                "{share} {capped}", {"share": share, "capped": Explained(N_("(capped)"))}
            )
        return share

    def rule(self, full: float, better: Better) -> Explained:
        text = (
            N_("target {target}: {full} × value ÷ target, at most {full}")
            if better == "higher"
            else N_("target {target}: {full} × target ÷ value, at most {full}")
        )
        return Explained(text, {"target": Value(self.target), "full": Points(full)})

    def full_target(self, better: Better) -> float | None:
        return self.target

    def next_target(self, value: float | None, better: Better) -> float | None:
        return self.target


@dataclass(frozen=True)
class EitherOr:
    """非此即彼法: full points if the target is met (≥ when higher is better, ≤ when lower), else
    0."""

    target: float
    kind: Literal["either_or"] = "either_or"
    PARAMS: ClassVar[frozenset[str]] = frozenset({"target"})

    counts_events: ClassVar[bool] = False

    @property
    def voids(self) -> str | None:
        return None

    def choices(self) -> tuple[Level, ...]:
        return ()

    def band(self, detail: Mapping[str, Any]) -> Span | None:
        return None

    def level_name(self, value: float) -> Named | None:
        return None

    def note(self, full: float) -> Explained | None:
        return None

    def score(self, values: FloatArray, full: float, better: Better) -> Scored:
        return _all_or_nothing(values, self.target, full, better)

    def worst(self, full: float) -> float:
        return 0.0

    def detail(self, value: float, code: float) -> dict[str, Any]:
        if math.isnan(code):
            return {}
        return {"target": self.target, "met": bool(code)}

    def receipt(self, detail: Mapping[str, Any]) -> Explained | None:
        if "met" not in detail:
            return None
        return Explained(N_("target met") if detail["met"] else N_("target missed"))

    def rule(self, full: float, better: Better) -> Explained:
        return Explained(
            N_("{full} if {sign} {target}, otherwise 0"),
            {"full": Points(full), "sign": _sign(better), "target": Value(self.target)},
        )

    def full_target(self, better: Better) -> float | None:
        return self.target

    def next_target(self, value: float | None, better: Better) -> float | None:
        return self.target


def _met(values: FloatArray, target: float, better: Better) -> BoolArray:
    with np.errstate(invalid="ignore"):
        return values >= target if better == "higher" else values <= target


def _all_or_nothing(values: FloatArray, target: float, full: float, better: Better) -> Scored:
    """Full points when the target is met (≥ when higher is better, ≤ when lower), else 0; the
    code is 1.0 for met. Either-or (非此即彼法, DOMAIN.md) and a gate score points this one way;
    a gate differs only in what a miss does besides: it voids a component (``scoring.total``)."""
    valid = _finite(values)
    met = _met(values, target, better)
    points = np.where(valid, np.where(met, full, 0.0), np.nan)
    return Scored(points, valid, np.where(valid, met.astype(float), np.nan))


def _sign(better: Better) -> str:
    return "≥" if better == "higher" else "≤"


def _plain(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


@dataclass(frozen=True)
class Level:
    """One described level of a descriptive indicator (listed worst first)."""

    id: str
    name_zh: str
    name_en: str
    points: float


@dataclass(frozen=True)
class Descriptive:
    """说明法: a rater picks a described level; the value is the level's number (1 = first
    listed)."""

    levels: tuple[Level, ...]
    kind: Literal["descriptive"] = "descriptive"
    PARAMS: ClassVar[frozenset[str]] = frozenset({"levels"})

    counts_events: ClassVar[bool] = False

    @property
    def voids(self) -> str | None:
        return None

    def choices(self) -> tuple[Level, ...]:
        return self.levels

    def note(self, full: float) -> Explained | None:
        return None

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

    def receipt(self, detail: Mapping[str, Any]) -> Explained | None:
        if "level" not in detail:
            return None
        level = next((lv for lv in self.levels if lv.id == detail["level"]), None)
        zh = level.name_zh if level else str(detail.get("level_zh") or detail["level"])
        en = level.name_en if level else str(detail.get("level_en") or detail["level"])
        return Explained("{level}", {"level": Named(zh, en)})

    def rule(self, full: float, better: Better) -> Explained:
        levels = tuple(
            Explained(
                "{level} → {points}",
                {"level": Named(lv.name_zh, lv.name_en), "points": Points(lv.points)},
            )
            for lv in self.levels
        )
        return Explained(N_("levels: {levels}"), {"levels": Joined(levels)})

    def full_target(self, better: Better) -> float | None:
        """The number (1 = first listed) of the level that earns the most points."""
        best = max(range(len(self.levels)), key=lambda i: (self.levels[i].points, i))
        return float(best + 1)

    def next_target(self, value: float | None, better: Better) -> float | None:
        """The number of the nearest level that earns more points than level ``value``."""
        if value is not None and math.isfinite(value) and 1 <= value <= len(self.levels):
            now = self.levels[int(value) - 1].points
            above = [i for i, lv in enumerate(self.levels) if lv.points > now]
            if above:
                return float(min(above, key=lambda i: (self.levels[i].points, i)) + 1)
        return self.full_target(better)

    def band(self, detail: Mapping[str, Any]) -> Span | None:
        return None

    def level_name(self, value: float) -> Named | None:
        """Level number ``value`` by its name (None when it is no level's number)."""
        if not (
            math.isfinite(value) and float(value).is_integer() and 1 <= value <= len(self.levels)
        ):
            return None
        level = self.levels[int(value) - 1]
        return Named(level.name_zh, level.name_en)


@dataclass(frozen=True)
class Gate:
    """A gate: met (per ``better``) earns the full points (often 0); missed voids component
    ``voids``.

    ``scope = "team"`` checks the team's value instead of the agent's (DOMAIN.md, 001: one missed
    after-sales target voids the whole team bonus).
    """

    target: float
    voids: str
    scope: Literal["agent", "team"] = "agent"
    kind: Literal["gate"] = "gate"
    PARAMS: ClassVar[frozenset[str]] = frozenset({"target", "voids", "scope"})
    counts_events: ClassVar[bool] = False

    def choices(self) -> tuple[Level, ...]:
        return ()

    def band(self, detail: Mapping[str, Any]) -> Span | None:
        return None

    def level_name(self, value: float) -> Named | None:
        return None

    def note(self, full: float) -> Explained | None:
        return None

    def score(self, values: FloatArray, full: float, better: Better) -> Scored:
        return _all_or_nothing(values, self.target, full, better)

    def worst(self, full: float) -> float:
        return 0.0

    def detail(self, value: float, code: float) -> dict[str, Any]:
        if math.isnan(code):
            return {}
        return {"target": self.target, "met": bool(code), "voids": self.voids, "scope": self.scope}

    def receipt(self, detail: Mapping[str, Any]) -> Explained | None:
        if "met" not in detail:
            return None
        if detail["met"]:
            return Explained(N_("gate met"))
        return Explained(
            N_("gate missed: voids {component}"),
            {"component": ComponentRef(str(detail.get("voids") or self.voids))},
        )

    def rule(self, full: float, better: Better) -> Explained:
        whose = N_("the team's value") if self.scope == "team" else N_("the agent's value")
        return Explained(
            N_("a gate: {whose} must be {sign} {target}, otherwise {component} counts 0"),
            {
                "whose": Explained(whose),
                "sign": _sign(better),
                "target": Value(self.target),
                "component": ComponentRef(self.voids),
            },
        )

    def full_target(self, better: Better) -> float | None:
        return self.target

    def next_target(self, value: float | None, better: Better) -> float | None:
        return self.target


Method: TypeAlias = Tiered | Deduction | Ratio | EitherOr | Descriptive | Gate
MethodKind: TypeAlias = Literal["tiered", "deduction", "ratio", "either_or", "descriptive", "gate"]
METHOD_KINDS: tuple[MethodKind, ...] = get_args(MethodKind)
METHODS: Mapping[MethodKind, type[Method]] = {
    "tiered": Tiered, "deduction": Deduction, "ratio": Ratio, "either_or": EitherOr,
    "descriptive": Descriptive, "gate": Gate,
}  # fmt: skip
"""Every scoring method by its kind (``method = "…"`` in a scheme): the one registry."""
assert set(METHODS) == set(METHOD_KINDS) and all(cls.kind == k for k, cls in METHODS.items())
