"""Result objects of a scored team: per agent total, rank, components, indicators and flags.

``TeamResult`` holds everything column-wise (NumPy arrays in input order) and builds the
per-agent objects only when asked (``results``, ``agent(id)``, ``to_dict()``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from scoring.methods import FloatArray
from scoring.scheme import Component, Indicator, Scheme

# Indicator status: how a value was turned into points.
IND_OK, IND_EXCLUDED, IND_WORST = 0, 1, 2
IND_STATUS = ("ok", "excluded", "worst")
# Component status.
C_OK, C_EXCLUDED, C_WORST, C_BELOW_EXCLUDED, C_BELOW_DEFAULT, C_VOIDED = range(6)
COMPONENT_STATUS = ("ok", "excluded", "worst", "below_min_excluded", "below_min_default", "voided")


@dataclass(frozen=True)
class IndicatorResult:
    id: str
    value: float | None
    points: float | None
    max_points: float
    status: str
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "points": self.points,
            "max_points": self.max_points,
            "status": self.status,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class ComponentResult:
    id: str
    kind: str
    points: float | None
    weight: float
    declared_weight: float
    contribution: (
        float  # as shown: at the scheme's precision, the contributions add up to the shown total
    )
    status: str
    detail: dict[str, Any]  # a left-out component says where its weight went: ``spread_over``
    contribution_exact: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "points": self.points,
            "weight": self.weight,
            "declared_weight": self.declared_weight,
            "contribution": self.contribution,
            "contribution_exact": self.contribution_exact,
            "status": self.status,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Flags:
    """Apply-rule flags. Amounts are Decimal (``None`` when the rule does not apply)."""

    reward: bool = False
    reward_amount: Decimal | None = None
    penalty: bool = False
    penalty_amount: Decimal | None = None
    last: bool = False
    improvement_due: date | None = None
    post_change: bool = False
    star: int | None = None
    bonus_base: Decimal | None = None  # the star level's bonus base (003), None without one

    def to_dict(self) -> dict[str, Any]:
        return {
            "reward": self.reward,
            "reward_amount": None if self.reward_amount is None else str(self.reward_amount),
            "penalty": self.penalty,
            "penalty_amount": None if self.penalty_amount is None else str(self.penalty_amount),
            "last": self.last,
            "improvement_due": None
            if self.improvement_due is None
            else self.improvement_due.isoformat(),
            "post_change": self.post_change,
            "star": self.star,
            "bonus_base": None if self.bonus_base is None else str(self.bonus_base),
        }


@dataclass(frozen=True)
class AgentResult:
    agent: str
    team: str | None
    total: float | None
    rank: int | None
    group_size: int
    kpi: float | None
    components: tuple[ComponentResult, ...]
    indicators: tuple[IndicatorResult, ...]
    flags: Flags
    provisional: bool = False  # a required part is missing: not ranked, rewarded or penalised
    missing: tuple[str, ...] = ()  # the missing required parts (``scheme.required_parts`` ids)
    total_exact: float | None = (
        None  # before rounding; ``total`` is rounded once, half up, to the precision
    )

    def component(self, cid: str) -> ComponentResult:
        """The component with this id (or, failing that, of this kind); KeyError if none."""
        for c in self.components:
            if c.id == cid:
                return c
        for c in self.components:
            if c.kind == cid:
                return c
        raise KeyError(cid)

    def indicator(self, iid: str) -> IndicatorResult:
        for i in self.indicators:
            if i.id == iid:
                return i
        raise KeyError(iid)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: ``agent, team, total, rank, group_size, kpi, components{}, indicators{},
        flags{}``."""
        return {
            "agent": self.agent,
            "team": self.team,
            "total": self.total,
            "total_exact": self.total_exact,
            "rank": self.rank,
            "group_size": self.group_size,
            "kpi": self.kpi,
            "components": {c.id: c.to_dict() for c in self.components},
            "indicators": {i.id: i.to_dict() for i in self.indicators},
            "flags": self.flags.to_dict(),
            "provisional": self.provisional,
            "missing": list(self.missing),
        }


def _opt(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


@dataclass(frozen=True)
class TeamResult:
    """Scores for every agent, held column-wise. ``results`` / ``agent()`` build objects lazily.

    ``order`` lists agents best first (rank, then the tie-break: higher KPI table score,
    higher manager component, agent id); provisional results (a required part missing) and
    unscored agents (no component with data) come last with ``rank`` ``None``.
    """

    scheme: Scheme
    as_of: date
    index: pd.Index  # agent ids, in input order (every array below follows it)
    team_of: np.ndarray  # team id or None per agent
    values: FloatArray  # n × m raw values
    points: FloatArray  # n × m (NaN = excluded)
    ind_status: np.ndarray
    ind_code: FloatArray
    kpi: FloatArray
    comp_points: FloatArray  # n × c (NaN = excluded)
    comp_status: np.ndarray
    comp_weight: FloatArray  # n × c effective weight after rescaling
    comp_detail: tuple[dict[str, np.ndarray], ...]
    total: FloatArray
    rank: FloatArray  # NaN = unscored
    group_size: np.ndarray
    order: np.ndarray
    last: np.ndarray
    reward: np.ndarray
    penalty: np.ndarray
    improvement: np.ndarray
    post_change: np.ndarray
    star: np.ndarray
    part_missing: np.ndarray  # n × len(scheme.required_parts), True = that required part is missing
    provisional: np.ndarray  # n: any required part missing
    exact_total: FloatArray  # n: the total before rounding (``total`` is rounded to the precision)
    spread: (
        np.ndarray
    )  # n × c: where a left-out component's weight went ("individual", "team", "all")
    reward_amount: np.ndarray  # n: Decimal or None (a tie shares it, per ``apply.ties``)
    penalty_amount: np.ndarray
    _position: dict[str, int] = field(default_factory=dict, repr=False)

    @cached_property
    def agents(self) -> tuple[str, ...]:
        """Agent ids in input order (not ranked: see ``results`` / ``order``)."""
        return tuple(str(a) for a in self.index.tolist())

    @cached_property
    def frame(self) -> pd.DataFrame:
        """One row per agent (best first): total, rank, kpi, one column per component's points."""
        data: dict[str, Any] = {
            "team": self.team_of,
            "total": self.total,
            "rank": self.rank,
            "kpi": self.kpi,
            "provisional": self.provisional,
        }
        for j, comp in enumerate(self.scheme.components):
            data[comp.id] = self.comp_points[:, j]
        frame = pd.DataFrame(data, index=pd.Index(self.index, name="agent"))
        return frame.iloc[self.order]

    def agent(self, agent_id: str) -> AgentResult:
        if not self._position:
            self._position.update({a: i for i, a in enumerate(self.agents)})
        return self._build(self._position[agent_id])

    @cached_property
    def results(self) -> tuple[AgentResult, ...]:
        return tuple(self._build(int(i)) for i in self.order)

    def to_dict(self) -> list[dict[str, Any]]:
        """``[r.to_dict() for r in results]``, best first, built straight from the arrays: no
        result objects in between, what can be worked out for the whole team worked out once
        (each component's cleaned details, the flags' lists, the improvement date, each star's
        bonus base), and no call per agent and indicator where an agent's indicators all
        scored. Each agent's rows are made one agent after another, from row-wise lists: kept
        together in memory, they are written out (``json.dumps``) a third faster than the same
        rows made column by column (issue 20)."""
        n = len(self.index)
        if n == 0:
            return []
        scheme = self.scheme
        values, points, status, codes, comp_points, comp_weight, comp_status = self._rows
        indicators = scheme.indicators
        ids = [ind.id for ind in indicators]
        maxes = [ind.points for ind in indicators]
        details = [ind.method.detail for ind in indicators]
        all_ok = ~np.asarray(self.ind_status, dtype=bool).any(axis=1)
        plain: list[bool] = np.asarray(
            all_ok & np.isfinite(self.values).all(axis=1) & np.isfinite(self.points).all(axis=1),
            dtype=bool,
        ).tolist()
        comps = [(c.id, c.kind, c.weight) for c in scheme.components]
        comp_details = [self._detail_column(j) for j in range(len(comps))]
        flags = self._flag_lists()
        totals, exact_totals, kpis = _opts(self.total), _opts(self.exact_total), _opts(self.kpi)
        ranks = [int(r) if math.isfinite(r) else None for r in self.rank.tolist()]
        sizes, provisional = self.group_size.tolist(), self.provisional.tolist()
        parts = scheme.required_parts
        missing = self.part_missing.tolist() if parts else None
        agents, teams, precision = self.agents, self.team_of.tolist(), scheme.precision
        out = []
        for i in self.order.tolist():
            vi, pi, ci = values[i], points[i], codes[i]
            if plain[i]:
                ind_rows = {
                    iid: {"value": v, "points": p, "max_points": full, "status": "ok",
                          "detail": detail(v, c)}
                    for iid, full, detail, v, p, c in zip(ids, maxes, details, vi, pi, ci,
                                                          strict=True)
                }  # fmt: skip
            else:
                si = status[i]
                ind_rows = {ind.id: _indicator_dict(ind, vi[j], pi[j], si[j], ci[j])
                            for j, ind in enumerate(indicators)}  # fmt: skip
            cpi, cwi, csi = comp_points[i], comp_weight[i], comp_status[i]
            exact = [
                p * w / 100 if math.isfinite(p) else 0.0 for p, w in zip(cpi, cwi, strict=True)
            ]
            shown = largest_remainder(exact, self.total[i], precision)
            comp_rows = {
                cid: {"kind": kind, "points": p if math.isfinite(p) else None, "weight": w,
                      "declared_weight": declared, "contribution": sh, "contribution_exact": e,
                      "status": COMPONENT_STATUS[st], "detail": dict(cd[i])}
                for (cid, kind, declared), p, w, st, sh, e, cd in zip(
                    comps, cpi, cwi, csi, shown, exact, comp_details, strict=True
                )
            }  # fmt: skip
            out.append({
                "agent": agents[i], "team": teams[i], "total": totals[i],
                "total_exact": exact_totals[i], "rank": ranks[i], "group_size": sizes[i],
                "kpi": kpis[i], "components": comp_rows, "indicators": ind_rows,
                "flags": dict(zip(_FLAG_KEYS, [f[i] for f in flags], strict=True)),
                "provisional": provisional[i],
                "missing": [] if missing is None
                           else [p for p, gone in zip(parts, missing[i], strict=True) if gone],
            })  # fmt: skip
        return out

    def _detail_column(self, j: int) -> list[dict[str, Any]]:
        """Every agent's detail of component ``j`` (input order), as ``_common`` builds one
        agent's."""
        comp, scheme = self.scheme.components[j], self.scheme
        lists = self._detail_lists[j]
        keys = list(lists)
        n = len(self.index)
        if keys:
            cleaned = [[_json(x) for x in lists[k]] for k in keys]
            details = [dict(zip(keys, row, strict=True)) for row in zip(*cleaned, strict=True)]
        else:
            details = [{} for _ in range(n)]
        if comp.kind == "team":
            details = [_team_detail(comp, scheme, d) for d in details]
        spread = self.spread[:, j]
        for i in np.flatnonzero(spread != "").tolist():
            details[i]["spread_over"] = spread[i]
        return details

    def _flag_lists(self) -> list[list[Any]]:
        """``Flags.to_dict()``'s values, one list per key of ``_FLAG_KEYS`` (input order)."""
        rules = self.scheme.apply
        due = (self.as_of + timedelta(days=rules.improvement_days)).isoformat()
        bases: dict[int, str | None] = {}
        for s in rules.stars:
            bases.setdefault(s.level, None if s.bonus_base is None else str(s.bonus_base))
        stars = self.star.tolist()
        return [
            self.reward.tolist(),
            [None if a is None else str(a) for a in self.reward_amount.tolist()],
            self.penalty.tolist(),
            [None if a is None else str(a) for a in self.penalty_amount.tolist()],
            self.last.tolist(),
            [due if x else None for x in self.improvement.tolist()],
            self.post_change.tolist(),
            [s if s > 0 else None for s in stars],
            [bases.get(s) for s in stars],
        ]

    @cached_property
    def _rows(
        self,
    ) -> tuple[
        list[list[float]],
        list[list[float]],
        list[list[int]],
        list[list[float]],
        list[list[float]],
        list[list[float]],
        list[list[int]],
    ]:
        """The per-agent arrays as plain Python lists, converted once for building results."""
        return (
            self.values.tolist(),
            self.points.tolist(),
            self.ind_status.tolist(),
            self.ind_code.tolist(),
            self.comp_points.tolist(),
            self.comp_weight.tolist(),
            self.comp_status.tolist(),
        )

    @cached_property
    def _detail_lists(self) -> tuple[dict[str, list[Any]], ...]:
        return tuple({k: v.tolist() for k, v in d.items()} for d in self.comp_detail)

    def _common(
        self, i: int
    ) -> tuple[list[Any], list[float], list[dict[str, Any]], dict[str, Any]]:
        """What one agent's result is made of: indicator parts, exact and shown contributions,
        component details, and the flags as a dict (the ``Flags`` fields)."""
        scheme = self.scheme
        _values, _points, _status, _codes, comp_points, comp_weight, _comp_status = self._rows
        exact = [
            comp_points[i][j] * comp_weight[i][j] / 100 if math.isfinite(comp_points[i][j]) else 0.0
            for j in range(len(scheme.components))
        ]
        details = []
        for j, comp in enumerate(scheme.components):
            detail = {k: _json(v[i]) for k, v in self._detail_lists[j].items()}
            if comp.kind == "team":
                detail = _team_detail(comp, scheme, detail)
            if self.spread[i][j]:
                detail["spread_over"] = self.spread[i][j]
            details.append(detail)
        rules = scheme.apply
        flags = {
            "reward": bool(self.reward[i]),
            "reward_amount": self.reward_amount[i],
            "penalty": bool(self.penalty[i]),
            "penalty_amount": self.penalty_amount[i],
            "last": bool(self.last[i]),
            "improvement_due": self.as_of + timedelta(days=rules.improvement_days)
            if self.improvement[i]
            else None,
            "post_change": bool(self.post_change[i]),
            "star": int(self.star[i]) if self.star[i] > 0 else None,
            "bonus_base": next(
                (s.bonus_base for s in rules.stars if s.level == self.star[i]), None
            ),
        }
        shown = largest_remainder(exact, self.total[i], scheme.precision)
        return exact, shown, details, flags

    def _missing(self, i: int) -> tuple[str, ...]:
        return tuple(
            p
            for p, gone in zip(self.scheme.required_parts, self.part_missing[i], strict=True)
            if gone
        )

    def _build(self, i: int) -> AgentResult:
        scheme = self.scheme
        values, points, status, codes, comp_points, comp_weight, comp_status = self._rows
        indicators = [
            _indicator_result(ind, values[i][j], points[i][j], status[i][j], codes[i][j])
            for j, ind in enumerate(scheme.indicators)
        ]
        exact, shown, details, flags = self._common(i)
        components = [
            ComponentResult(
                comp.id, comp.kind, _opt(comp_points[i][j]), comp_weight[i][j], comp.weight,
                shown[j], COMPONENT_STATUS[comp_status[i][j]], details[j], exact[j],
            )
            for j, comp in enumerate(scheme.components)
        ]  # fmt: skip
        rank = self.rank[i]
        return AgentResult(
            agent=self.agents[i],
            team=self.team_of[i],
            total=_opt(self.total[i]),
            rank=int(rank) if math.isfinite(rank) else None,
            group_size=int(self.group_size[i]),
            kpi=_opt(self.kpi[i]),
            components=tuple(components),
            indicators=tuple(indicators),
            flags=Flags(**flags),
            provisional=bool(self.provisional[i]),
            total_exact=_opt(self.exact_total[i]),
            missing=self._missing(i),
        )


def largest_remainder(parts: list[float], total: float, precision: int) -> list[float]:
    """``parts`` at ``precision`` decimals adding up exactly to ``total`` (already rounded): each
    part floored, then the units left over go one each to the largest remainders (ties: first)."""
    if not math.isfinite(total):
        return [0.0 for _ in parts]
    unit = Decimal(1).scaleb(-precision)
    exact = [Decimal(repr(float(p))) for p in parts]
    floors = [(e / unit).to_integral_value(rounding=ROUND_FLOOR) for e in exact]
    left = int(
        (Decimal(repr(float(total))) / unit).to_integral_value(rounding=ROUND_HALF_UP) - sum(floors)
    )
    order = sorted(range(len(parts)), key=lambda k: (-(exact[k] / unit - floors[k]), k))
    for k in order[: max(left, 0)]:
        floors[k] += 1
    return [float(f * unit) for f in floors]


_FLAG_KEYS = (
    "reward", "reward_amount", "penalty", "penalty_amount", "last", "improvement_due",
    "post_change", "star", "bonus_base",
)  # fmt: skip


def _opts(values: FloatArray) -> list[float | None]:
    """The floats of ``values`` as a list, ``None`` where not finite (``_opt`` of each)."""
    return _or_none(values.tolist(), values)


def _or_none(items: list[Any], values: FloatArray) -> list[Any]:
    """``items`` (``values.tolist()``) with ``None`` where ``values`` is not finite."""
    finite = np.isfinite(values)
    if finite.all():
        return items
    out = list(items)
    for i in np.flatnonzero(~finite).tolist():
        out[i] = None
    return out


def _json(x: Any) -> Any:
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _team_detail(comp: Component, scheme: Scheme, detail: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"team": detail.get("team") or None, "indicators": {}}
    if detail.get("voided_by"):
        out["voided_by"] = detail["voided_by"]
    for iid in comp.indicators:
        ind = scheme.indicator(iid)
        value = detail.get(f"{iid}.value")
        status = detail.get(f"{iid}.status")
        code = detail.get(f"{iid}.code")
        pts = detail.get(f"{iid}.points")
        res = _indicator_result(
            ind,
            math.nan if value is None else value,
            math.nan if pts is None else pts,
            int(status or 0),
            math.nan if code is None else code,
        )
        out["indicators"][iid] = res.to_dict()
    return out


def _indicator_dict(
    ind: Indicator, value: float, pts: float, status: int, code: float
) -> dict[str, Any]:
    """``_indicator_result(…).to_dict()`` without the object."""
    if status == IND_OK:
        detail = ind.method.detail(value, code)
    else:
        detail = {"reason": "missing" if value != value else "invalid"}
        if status == IND_WORST:
            detail["worst_points"] = ind.worst_points
    return {
        "value": value if math.isfinite(value) else None,
        "points": pts if math.isfinite(pts) else None,
        "max_points": ind.points,
        "status": IND_STATUS[status],
        "detail": detail,
    }


def _indicator_result(
    ind: Indicator, value: float, pts: float, status: int, code: float
) -> IndicatorResult:
    if status == IND_OK:
        detail = ind.method.detail(value, code)
    else:
        detail = {"reason": "missing" if value != value else "invalid"}
        if status == IND_WORST:
            detail["worst_points"] = ind.worst_points
    return IndicatorResult(
        ind.id,
        value if math.isfinite(value) else None,
        pts if math.isfinite(pts) else None,
        ind.points,
        IND_STATUS[status],
        detail,
    )
