"""The weighted 0–100 total and the apply-rule flags, for a whole team at once.

Everything is computed column-wise with NumPy (one pass per indicator and per component,
never per agent); the per-agent result objects (``scoring.results``) are built only when asked
for; the ranking is ``scoring.ranking``.
See the package docstring (``scoring/__init__.py``) for the inputs and the result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd

from scoring.methods import FloatArray, Gate
from scoring.ranking import ROUND_FOR_TIES, Ranking, rank_totals
from scoring.results import (
    C_BELOW_DEFAULT,
    C_BELOW_EXCLUDED,
    C_EXCLUDED,
    C_VOIDED,
    C_WORST,
    COMPONENT_STATUS,
    IND_EXCLUDED,
    IND_OK,
    IND_STATUS,
    IND_WORST,
    AgentResult,
    ComponentResult,
    Flags,
    IndicatorResult,
    TeamResult,
)
from scoring.scheme import Component, Indicator, Scheme

__all__ = [
    "COMPONENT_STATUS",
    "IND_STATUS",
    "ROUND_FOR_TIES",
    "STAR_COLUMNS",
    "AgentResult",
    "ComponentResult",
    "Flags",
    "IndicatorResult",
    "PEER_STEP",
    "Ranking",
    "ScoreInputs",
    "TeamResult",
    "peer_summary",
    "rank_totals",
    "released_raters",
    "rescore_with",
    "scale_review",
    "score_team",
]
STAR_COLUMNS: tuple[str, ...] = ("n1", "n2", "n3", "n4", "n5")


@dataclass(frozen=True)
class ScoreInputs:
    """What :func:`score_team` scores. Every frame is indexed by agent id (``str``).

    - ``values``: one column per indicator id, raw values (fractions 0–1, seconds, yuan,
      counts, level numbers …); ``NaN`` = missing.
    - ``reviews``: ``<component>.<dimension>`` columns (``self.task_completion``,
      ``manager.ability``) or a whole-component column (``self``, ``manager``) that stands
      for every rated dimension without its own column. On the scale ``review_scale``:
      ``5`` = stored answers 1–5 (converted to 0–100 as (v − 1) / 4 × 100), ``100`` = already
      0–100 (the CSV calculator). Computed dimensions (``performance``) are never read.
    - ``customer``: star counts ``n1`` … ``n5`` per agent.
    - ``peer`` / ``qa``: ``score`` (0–100 mean) and ``count`` (raters / samples).
      :func:`peer_summary` builds the peer frame from individual answers.
    - ``teams``: agent → team id. When given, agents are ranked within their team.
    - ``team_values``: indexed by team id, indicator columns: the team's own values for the
      team component and team-scope gates. Without it, a team's value is its agents' mean.
    - ``history``: past periods as columns, oldest first; truthy = the agent was last then
      (store ``flags["last"]`` of each period's result).
    - ``agents``: who is scored; default: every agent in any frame, in order of appearance.
    """

    values: pd.DataFrame | None = None
    reviews: pd.DataFrame | None = None
    review_scale: Literal[5, 100] = 5
    customer: pd.DataFrame | None = None
    peer: pd.DataFrame | None = None
    qa: pd.DataFrame | None = None
    teams: pd.Series | None = None
    team_values: pd.DataFrame | None = None
    history: pd.DataFrame | None = None
    agents: tuple[str, ...] | None = None


# ---------------------------------------------------------------------------------------------
# Inputs → arrays


def _as_str_index(index: pd.Index) -> pd.Index:
    return index if index.dtype == "str" or index.inferred_type == "string" else index.astype(str)


def _agent_index(inputs: ScoreInputs) -> pd.Index:
    """Who is scored: ``inputs.agents``, else every agent in any frame, in order of appearance."""
    if inputs.agents is not None:
        return pd.Index([str(a) for a in inputs.agents])
    index: pd.Index | None = None
    for frame in (
        inputs.values,
        inputs.reviews,
        inputs.customer,
        inputs.peer,
        inputs.qa,
        inputs.teams,
    ):
        if frame is None:
            continue
        other = _as_str_index(frame.index)
        if index is None:
            index = other
        elif not (other is index or other.equals(index)):
            index = index.append(other[~other.isin(index)])
    if index is None:
        return pd.Index([])
    return index if index.is_unique else index.unique()


def _matrix(frame: pd.DataFrame | None, index: pd.Index, columns: Sequence[str]) -> FloatArray:
    """``frame[columns]`` aligned to ``index`` as floats; absent columns / rows / non-numbers →
    NaN."""
    n = len(index)
    if frame is None or not len(columns) or not len(frame):  # no rows: nobody has a value
        return np.full((n, len(columns)), np.nan, order="F")
    if not frame.index.is_unique:
        dup = frame.index[frame.index.duplicated()][0]
        raise ValueError(f"duplicate agent {dup!r} in an input frame")
    own = _as_str_index(frame.index)
    rows = None if own is index or own.equals(index) else own.get_indexer(index)
    where = {str(c): k for k, c in enumerate(frame.columns)}
    out = np.full((n, len(columns)), np.nan, order="F")
    if all(dtype == np.float64 for dtype in frame.dtypes):  # NumPy floats: one view, no per-column
        block = frame.to_numpy()
        for k, col in enumerate(columns):
            pos = where.get(col)
            if pos is not None:
                data = block[:, pos]
                out[:, k] = data if rows is None else np.where(rows >= 0, data[rows], np.nan)
        return out
    for k, col in enumerate(columns):
        pos = where.get(col)
        if pos is None:
            continue
        series = frame.iloc[:, pos]
        try:
            data = series.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):
            data = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        out[:, k] = data if rows is None else np.where(rows >= 0, data[rows], np.nan)
    return out


@dataclass
class _Scored:
    """One block of indicators scored for every agent (n × m arrays)."""

    values: FloatArray
    points: FloatArray  # NaN = excluded
    status: np.ndarray
    code: FloatArray
    excluded: FloatArray  # number of excluded indicators per agent
    table_score: FloatArray  # 100 × points / counted max points (excluded indicators rescaled away)


def _score_block(indicators: Sequence[Indicator], values: FloatArray) -> _Scored:
    """Score each indicator column; arrays are column-major (Fortran order) for speed."""
    n, m = values.shape
    points = np.empty((n, m), order="F")
    status = np.zeros((n, m), dtype=np.int8, order="F")
    code = np.empty((n, m), order="F")
    counted = np.zeros(n)
    earned = np.zeros(n)
    excluded = np.zeros(n)
    # A table with no value at all is missing (its component's ``missing`` rule decides), even
    # when its indicators would score a missing value as the worst band; pure gates (0 points)
    # do not count as a value.
    has_data = np.zeros(n, dtype=bool)
    for j, ind in enumerate(indicators):
        scored = ind.method.score(values[:, j], ind.points, ind.better)
        valid = scored.valid
        if ind.points > 0:
            has_data |= np.isfinite(values[:, j])
        if valid.all():
            pts = scored.points
            counted += ind.points
            code[:, j] = scored.code
            points[:, j] = pts
            earned += pts
            continue
        else:
            bad = ~valid
            if ind.missing == "worst":
                pts = np.where(bad, ind.worst_points, scored.points)
                status[bad, j] = IND_WORST
                counted += ind.points
            else:
                pts = scored.points
                status[bad, j] = IND_EXCLUDED
                counted += np.where(bad, 0.0, ind.points)
                excluded += bad
            code[:, j] = np.where(bad, np.nan, scored.code)
        points[:, j] = pts
        earned += np.where(np.isnan(pts), 0.0, pts)
    with np.errstate(invalid="ignore", divide="ignore"):
        table = np.where(counted > 0, 100.0 * earned / counted, np.nan)
    # If every counted indicator is worth 0 points (pure gates) the table is undefined (NaN), not 0.
    if any(ind.points > 0 for ind in indicators):
        table = np.where(has_data, table, np.nan)
    return _Scored(values, points, status, code, excluded, np.clip(table, 0.0, 100.0))


def _review_scale(raw: FloatArray, scale: int) -> FloatArray:
    with np.errstate(invalid="ignore"):
        if scale == 5:
            ok = (raw >= 1) & (raw <= 5)
            return np.where(ok, (raw - 1.0) / 4.0 * 100.0, np.nan)
        ok = (raw >= 0) & (raw <= 100)
        return np.where(ok, raw, np.nan)


def scale_review(value: float, scale: Literal[5, 100] = 5) -> float | None:
    """One review answer on the 1–5 (or 0–100) scale as 0–100; ``None`` if out of range."""
    out = float(_review_scale(np.array([value], dtype=float), scale)[0])
    return out if math.isfinite(out) else None


PEER_STEP = 3


def released_raters(raters: int, min_count: int, step: int = PEER_STEP) -> int:
    """How many of an agent's ``raters`` (in the order they first answered) a peer figure
    may be computed from, so that no two figures can be differenced into fewer than
    ``max(step, min_count)`` people's answers: the first ``min_count``, then whole groups
    of ``max(step, min_count)`` more. Below ``min_count`` nothing is released anyway (not
    enough ratings). "50 from 3" is followed by nothing new at 4 and 5 raters, then by a
    figure from 6: the difference is the average of three people, never one person's
    answer."""
    if raters < min_count or min_count < 1:
        return raters
    group = max(step, min_count)
    return min_count + group * ((raters - min_count) // group)


def peer_summary(
    answers: pd.DataFrame, scale: Literal[5, 100] = 5, *, min_count: int | None = None
) -> pd.DataFrame:
    """Individual peer answers → the ``peer`` input frame.

    ``answers``: one row per (agent, rater), indexed by agent id, one column per dimension
    (1–5). Each rater's answers are averaged into a 0–100 score, then averaged per agent.
    Returns columns ``score`` and ``count`` (raters with at least one valid answer).

    With ``min_count`` (the scheme's minimum of raters) the rows must be in the order the
    raters first answered, and only each agent's first :func:`released_raters` count: the
    score, the total and every figure shown from them move only in steps that cannot be
    differenced into one rater's answer.
    """
    scaled = _review_scale(answers.to_numpy(dtype=float, na_value=np.nan), scale)
    with np.errstate(invalid="ignore"):
        per_rater = pd.Series(
            np.nanmean(np.where(np.isfinite(scaled), scaled, np.nan), axis=1)
            if scaled.shape[1]
            else np.full(len(answers), np.nan),
            index=answers.index.astype(str),
        )
    per_rater = per_rater.dropna()
    if min_count is not None and len(per_rater):
        position = per_rater.groupby(level=0).cumcount().to_numpy()
        sizes = per_rater.groupby(level=0).transform("size").to_numpy()
        keep = np.array(
            [
                pos < released_raters(int(n), min_count)
                for pos, n in zip(position, sizes, strict=True)
            ],
            dtype=bool,
        )
        per_rater = per_rater[keep]
    grouped = per_rater.groupby(level=0)
    return pd.DataFrame({"score": grouped.mean(), "count": grouped.size()})


# ---------------------------------------------------------------------------------------------
# Components


@dataclass
class _Component:
    points: FloatArray
    status: np.ndarray
    detail: dict[str, np.ndarray]


def _missing_rule(comp: Component, points: FloatArray, status: np.ndarray) -> None:
    """No data: ``zero`` scores 0; ``exclude`` and ``block`` leave the component out (``block``
    also makes the result provisional: see :func:`_missing_parts`)."""
    absent = ~np.isfinite(points)
    if comp.missing == "zero":
        points[absent] = 0.0
        status[absent] = C_WORST
    else:
        status[absent] = C_EXCLUDED


def _below_min(comp: Component, points: FloatArray, count: FloatArray, status: np.ndarray) -> None:
    below = count < comp.min_count
    if comp.below_min == "default" and comp.default is not None:
        points[below] = comp.default
        status[below] = C_BELOW_DEFAULT
    else:
        points[below] = np.nan
        status[below] = C_BELOW_EXCLUDED


def _review_component(
    comp: Component, inputs: ScoreInputs, index: pd.Index, kpi: FloatArray
) -> _Component:
    """Weighted mean of the dimensions that have an answer; no rated answer at all = missing."""
    n = len(index)
    reviews = inputs.reviews
    columns = set(map(str, reviews.columns)) if reviews is not None else set()
    rated = comp.rated_dimensions
    wanted = [comp.id] + [f"{comp.id}.{d.id}" for d in rated]
    raw = _review_scale(
        _matrix(reviews, index, [c if c in columns else "" for c in wanted]), inputs.review_scale
    )
    whole = raw[:, 0]
    detail: dict[str, np.ndarray] = {}
    num = np.zeros(n)
    den = np.zeros(n)
    any_rated = np.zeros(n, dtype=bool)
    k = 0
    for dim in comp.dimensions:
        if dim.computed == "kpi":
            score = kpi
        else:
            k += 1
            score = raw[:, k] if wanted[k] in columns else whole
        ok = ~np.isnan(score)
        if dim.computed is None:
            any_rated |= ok
        if dim.missing == "zero":
            score = np.where(ok, score, 0.0)
            ok = np.ones(n, dtype=bool)
        elif dim.missing == "block":
            detail[f"{dim.id}.missing"] = ~ok
        num += np.where(ok, score * dim.weight, 0.0)
        den += np.where(ok, dim.weight, 0.0)
        detail[dim.id] = score
    if not rated:
        any_rated[:] = True
    with np.errstate(invalid="ignore", divide="ignore"):
        points = np.where(any_rated & (den > 0), num / den, np.nan)
    status = np.zeros(n, dtype=np.int8)
    _missing_rule(comp, points, status)
    return _Component(points, status, detail)


def _count_component(comp: Component, inputs: ScoreInputs, index: pd.Index) -> _Component:
    if comp.kind == "customer":
        counts = np.nan_to_num(_matrix(inputs.customer, index, STAR_COLUMNS), nan=0.0)
        counts = np.maximum(counts, 0.0)
        total = counts.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            if comp.csat == "share_4_5":
                points = 100.0 * (counts[:, 3] + counts[:, 4]) / total
            else:
                mean = (counts * np.arange(1, 6)).sum(axis=1) / total
                points = (mean - 1.0) / 4.0 * 100.0
        points = np.where(total > 0, points, np.nan)
        count = total
    else:
        frame = inputs.peer if comp.kind == "peer" else inputs.qa
        m = _matrix(frame, index, ["score", "count"])
        with np.errstate(invalid="ignore"):
            points = np.where((m[:, 0] >= 0) & (m[:, 0] <= 100), m[:, 0], np.nan)
        count = np.nan_to_num(m[:, 1], nan=0.0)
        count = np.where(np.isfinite(points), count, 0.0)
    status = np.zeros(len(index), dtype=np.int8)
    _below_min(comp, points, count, status)
    return _Component(
        points, status, {"count": count, "min": np.full(len(index), float(comp.min_count))}
    )


def _team_matrix(
    inputs: ScoreInputs,
    index: pd.Index,
    team_of: np.ndarray,
    values: FloatArray,
    ids: Sequence[str],
    all_ids: Sequence[str],
) -> FloatArray:
    """Each agent's team's own values for columns ``ids`` (given, or the mean over the team's
    agents)."""
    if inputs.team_values is not None:
        tv = inputs.team_values
        tv = tv.set_axis(tv.index.astype(str), axis=0)
        if inputs.teams is None and len(tv) == 1:
            keys = pd.Index([tv.index[0]] * len(index))
        else:
            keys = pd.Index(team_of.astype(str))
        return _matrix(tv, keys, ids)
    pos = [list(all_ids).index(i) for i in ids]
    own = pd.DataFrame(values[:, pos], columns=list(ids))
    means = own.groupby(team_of.astype(str)).transform("mean")
    return means.to_numpy(dtype=float, na_value=np.nan)


# ---------------------------------------------------------------------------------------------
# The entry points


def score_team(
    scheme: Scheme, inputs: ScoreInputs, *, as_of: date, others: FloatArray | None = None
) -> TeamResult:
    """Score every agent of ``inputs`` under ``scheme``; ``as_of`` is the results' publication date.

    ``others``: the ranking totals (rounded; NaN = not ranked) of the rest of the agents' one
    team, scored before and not in ``inputs``: the agents of ``inputs`` are ranked (rank, ties,
    group size, last place, reward and penalty) as if those were beside them (the what-if of
    one agent, :func:`rescore_with`). Not with ``inputs.teams``.

    Raises ``ValueError`` if an input frame lists the same agent twice.
    """
    if others is not None and inputs.teams is not None:
        raise ValueError("others ranks within one team: not with inputs.teams")
    index = _agent_index(inputs)
    n = len(index)
    ind_ids = [i.column for i in scheme.indicators]
    values = _matrix(inputs.values, index, ind_ids)
    if inputs.teams is not None:
        teams = inputs.teams.set_axis(_as_str_index(inputs.teams.index)).reindex(index)
        present = teams.notna().to_numpy()
        team_of = np.array(teams.astype(object).to_numpy(dtype=object), dtype=object, copy=True)
        team_of[~present] = None
        group_key = teams.fillna("").astype(str).to_numpy(dtype=object)
    else:
        team_of = np.full(n, None, dtype=object)
        group_key = np.full(n, "", dtype=object)

    team_scope = [
        j
        for j, i in enumerate(scheme.indicators)
        if isinstance(i.method, Gate) and i.method.scope == "team"
    ]
    if team_scope:
        ids = [ind_ids[j] for j in team_scope]
        values[:, team_scope] = _team_matrix(inputs, index, group_key, values, ids, ind_ids)
    kpi_block = _score_block(scheme.indicators, values)
    kpi = kpi_block.table_score

    comps = scheme.components
    c = len(comps)
    comp_points = np.full((n, c), np.nan)
    comp_status = np.zeros((n, c), dtype=np.int8)
    details: list[dict[str, np.ndarray]] = []
    for j, comp in enumerate(comps):
        if comp.kind == "kpi":
            pts = kpi.copy()
            status = np.zeros(n, dtype=np.int8)
            _missing_rule(comp, pts, status)
            out = _Component(pts, status, {"excluded_indicators": kpi_block.excluded})
        elif comp.kind in ("self", "manager"):
            out = _review_component(comp, inputs, index, kpi)
        elif comp.kind in ("customer", "peer", "qa"):
            out = _count_component(comp, inputs, index)
        else:
            inds = [scheme.indicator(i) for i in comp.indicators]
            tvals = _team_matrix(
                inputs, index, group_key, values, [i.column for i in inds], ind_ids
            )
            block = _score_block(inds, tvals)
            pts = block.table_score.copy()
            status = np.zeros(n, dtype=np.int8)
            _missing_rule(comp, pts, status)
            det: dict[str, np.ndarray] = {"team": group_key}
            for k, iid in enumerate(comp.indicators):
                det[f"{iid}.value"] = block.values[:, k]
                det[f"{iid}.points"] = block.points[:, k]
                det[f"{iid}.status"] = block.status[:, k].astype(float)
                det[f"{iid}.code"] = block.code[:, k]
            out = _Component(pts, status, det)
        comp_points[:, j] = out.points
        comp_status[:, j] = out.status
        details.append(out.detail)

    _apply_gates(scheme, kpi_block, comp_points, comp_status, details)
    part_missing = _missing_parts(scheme, comp_points, details)
    provisional = np.asarray(part_missing.any(axis=1), dtype=bool)

    eff, spread = _effective_weights(comps, np.isfinite(comp_points))
    included = np.isfinite(comp_points)
    exact = np.where(
        _row_sums(eff) > 0, _row_sums(np.where(included, comp_points, 0.0) * eff) / 100.0, np.nan
    )
    total = round_half_up(np.clip(exact, 0.0, 100.0), scheme.precision)

    manager_j = next((j for j, cp in enumerate(comps) if cp.kind == "manager"), None)
    manager = comp_points[:, manager_j] if manager_j is not None else np.full(n, np.nan)
    if index.is_monotonic_increasing:
        id_key = np.arange(n)
    else:
        id_key = np.empty(n, dtype=np.int64)
        id_key[index.argsort()] = np.arange(n)
    # A provisional result is never ranked against complete ones (nor rewarded or penalised).
    ranked_total = np.where(provisional, np.nan, total)
    if others is None:
        ranking = rank_totals(ranked_total, kpi, manager, id_key, group_key)
        size, rank_min, rank_max = ranking.group_size, ranking.rank, ranking.rank_max
        order = ranking.order
    else:  # the others' tie-break keys only order them among themselves: no rank depends on them
        m = len(others)
        ranking = rank_totals(
            np.concatenate([ranked_total, np.asarray(others, dtype=float)]),
            np.concatenate([kpi, np.full(m, np.nan)]),
            np.concatenate([manager, np.full(m, np.nan)]),
            np.concatenate([id_key, n + np.arange(m)]),
            np.concatenate([group_key, np.full(m, "", dtype=object)]),
        )
        size, rank_min, rank_max = ranking.group_size[:n], ranking.rank[:n], ranking.rank_max[:n]
        order = ranking.order[ranking.order < n]

    rules = scheme.apply
    scored = np.isfinite(rank_min)
    with np.errstate(invalid="ignore"):
        last = scored & (rank_max == size) & (rank_min > 1)
        reward_amount = _tie_amounts(
            rules.reward, scored & (rank_min == 1), rank_max - rank_min + 1, rules.ties
        )
        penalty_amount = _tie_amounts(rules.penalty, last, rank_max - rank_min + 1, rules.ties)
        reward = np.asarray(reward_amount != None, dtype=bool)  # noqa: E711 (element-wise)
        penalty = np.asarray(penalty_amount != None, dtype=bool)  # noqa: E711
        improvement = scored & (rank_max > size - rules.improvement_last) & (rank_min > 1)
    post_change = last & _consecutive_last(inputs.history, index, rules.post_change_after - 1)
    star = np.where(scored, star_levels(scheme, total), 0)

    return TeamResult(
        scheme=scheme,
        as_of=as_of,
        index=index,
        team_of=team_of,
        values=values,
        points=kpi_block.points,
        ind_status=kpi_block.status,
        ind_code=kpi_block.code,
        kpi=kpi,
        comp_points=comp_points,
        comp_status=comp_status,
        comp_weight=eff,
        comp_detail=tuple(details),
        total=total,
        rank=rank_min,
        group_size=size,
        order=order,
        last=last,
        reward=reward,
        penalty=penalty,
        improvement=improvement,
        post_change=post_change,
        star=star,
        part_missing=part_missing,
        provisional=provisional,
        exact_total=exact,
        spread=spread,
        reward_amount=reward_amount,
        penalty_amount=penalty_amount,
    )


def star_levels(scheme: Scheme, totals: FloatArray) -> np.ndarray:
    """The star rule (星级, 003), the one every message and export uses: the highest level whose
    ``min_total`` this period's rounded total reaches; 0 = no star. Only complete, ranked results
    get one (:func:`score_team`)."""
    star = np.zeros(len(totals), dtype=np.int64)
    with np.errstate(invalid="ignore"):
        for level in sorted(scheme.apply.stars, key=lambda s: s.min_total):
            star = np.where(totals >= level.min_total, level.level, star)
    return star


# Beyond this many units of the precision a float's spacing nears a tenth of a unit, and the
# shortest repr of a value next to a half may be a shorter, different decimal: Decimal decides.
_VECTOR_UNITS = 2.0**48


def half_up(value: float, precision: int) -> Decimal:
    """The rule itself for one value: ``value`` rounded once, half up, to ``precision`` decimals
    as written (its shortest repr: 74.95 → 75.0, although the float 74.95 is a hair below),
    halves away from zero, as a ``Decimal`` with exactly those places."""
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-precision), ROUND_HALF_UP)


def round_half_up(values: FloatArray, precision: int) -> FloatArray:
    """Each value rounded once, half up, to ``precision`` decimals *as written* (74.95 → 75.0,
    although the float 74.95 is a hair below): the value's shortest repr, rounded as
    ``Decimal(repr(v)).quantize(10**-precision, ROUND_HALF_UP)`` (halves away from zero), as a
    float; NaN and infinities give NaN.

    Vectorised, and exactly that rule: where a float's spacing is below a tenth of a unit, the
    shortest repr of ``v`` reaches the half ``(k + ½)·10⁻ᵖ`` exactly when ``|v|`` is at least
    the float nearest that half, ``(2k + 1) / (2·10ᵖ)`` (one correctly rounded division of two
    exact integers), and the result ``k / 10ᵖ`` is the float nearest the rounded decimal. Larger
    magnitudes go through ``Decimal`` one by one (totals are 0–100: none do)."""
    v = np.asarray(values, dtype=float)
    scale = float(10**precision)
    a = np.abs(v)
    with np.errstate(invalid="ignore", over="ignore"):
        units = a * scale
        vector = units < _VECTOR_UNITS  # False for NaN and infinities
        k = np.floor(np.where(vector, units, 0.0) + 0.5)
        k -= a < (2.0 * k - 1.0) / (2.0 * scale)  # the candidate is off by at most one unit
        k += a >= (2.0 * k + 1.0) / (2.0 * scale)
        out = np.where(vector, np.copysign(k / scale, v), np.nan)
    rest = np.flatnonzero(~vector & np.isfinite(v))
    for i in rest.tolist():
        out[i] = float(half_up(v[i], precision))
    return out


def _row_sums(matrix: FloatArray) -> FloatArray:
    """``matrix.sum(axis=1)``, to the bit, for a few columns (a scheme's components) without the
    cost of a reduction over a short axis: below 8 columns NumPy adds them one after another."""
    n, c = matrix.shape
    if c >= 8 or c == 0:
        return np.asarray(matrix.sum(axis=1), dtype=float)
    out = matrix[:, 0].copy()
    for j in range(1, c):
        out += matrix[:, j]
    return out


GROUPS = ("individual", "team")


def component_group(comp: Component) -> str:
    """Seed 003's two parts of a total: the team component(s), and everything individual."""
    return "team" if comp.kind == "team" else "individual"


def _effective_weights(
    comps: Sequence[Component], included: np.ndarray
) -> tuple[FloatArray, np.ndarray]:
    """Weights after leaving out components with no data: a left-out weight goes to the rest of
    its own group (individual / team: 003's 80/20 stays 80/20); only a group with nothing left
    spreads over the other group. Returns (n × c weights adding to 100, n × c where each
    left-out weight went: "individual", "team", "all" or "")."""
    n, c = included.shape
    declared = np.array([cp.weight for cp in comps], dtype=float)
    groups = np.array([component_group(cp) for cp in comps], dtype=object)
    eff = np.zeros((n, c))
    group_alive = np.zeros(n)
    for g in GROUPS:
        cols = groups == g
        if not cols.any():
            continue
        w = np.where(included[:, cols], declared[cols], 0.0)
        present = w.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            eff[:, cols] = np.where(
                present[:, None] > 0, w * declared[cols].sum() / present[:, None], 0.0
            )
        group_alive += np.where(present > 0, declared[cols].sum(), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        eff = np.where(group_alive[:, None] > 0, eff * 100.0 / group_alive[:, None], 0.0)
    if included.all():  # nothing left out (read only: a result's arrays are never written)
        return eff, np.broadcast_to(np.array("", dtype=object), (n, c))
    spread = np.full((n, c), "", dtype=object)
    for j in range(c):
        left_out = ~included[:, j]
        if not left_out.any():
            continue
        own_left = included[left_out][:, groups == groups[j]].any(axis=1)
        spread[left_out, j] = np.where(own_left, groups[j], "all")
    return eff, spread


def _tie_amounts(
    amount: Decimal | None, at_place: np.ndarray, tied: FloatArray, rule: str
) -> np.ndarray:
    """The money each agent at a rewarded (or penalised) place gets: alone, the amount; tied with
    others, ``share`` splits it (rounded half up to 0.01), ``all`` gives each the whole amount,
    ``none`` gives nobody anything."""
    out = np.full(len(at_place), None, dtype=object)
    if amount is None:
        return out
    for i in np.flatnonzero(at_place):
        k = int(tied[i])
        if k <= 1 or rule == "all":
            out[i] = amount
        elif rule == "share":
            out[i] = (amount / k).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return out


def _missing_parts(
    scheme: Scheme, comp_points: FloatArray, details: list[dict[str, np.ndarray]]
) -> np.ndarray:
    """n × len(scheme.required_parts): True where a required (``missing = "block"``) part has no
    data."""
    n = comp_points.shape[0]
    columns: list[np.ndarray] = []
    for j, comp in enumerate(scheme.components):
        if comp.missing == "block":
            columns.append(~np.isfinite(comp_points[:, j]))
        for dim in comp.dimensions:
            if dim.missing == "block":
                columns.append(np.asarray(details[j].pop(f"{dim.id}.missing"), dtype=bool))
    return np.column_stack(columns) if columns else np.zeros((n, 0), dtype=bool)


def _apply_gates(
    scheme: Scheme,
    block: _Scored,
    comp_points: FloatArray,
    comp_status: np.ndarray,
    details: list[dict[str, np.ndarray]],
) -> None:
    """A missed gate (or a missing gate value scored as worst) voids the named component."""
    comp_index = {cp.id: j for j, cp in enumerate(scheme.components)}
    for j, ind in enumerate(scheme.indicators):
        if not isinstance(ind.method, Gate):
            continue
        status = block.status[:, j]
        missed = ((status == IND_OK) & (block.code[:, j] == 0.0)) | (status == IND_WORST)
        target = comp_index[ind.method.voids]
        comp_points[missed, target] = 0.0
        comp_status[missed, target] = C_VOIDED
        voided_by = details[target].setdefault(
            "voided_by", np.full(len(missed), None, dtype=object)
        )
        voided_by[missed & (voided_by == None)] = ind.id  # noqa: E711 (element-wise)


def _consecutive_last(history: pd.DataFrame | None, index: pd.Index, k: int) -> np.ndarray:
    """True where the agent was last in each of their ``k`` most recent *ranked* past periods.

    ``history`` holds a column per past period, oldest first: ``True`` = was last, ``False`` =
    ranked, not last (or not on the team), missing (``None``/NaN) = a provisional result that was
    never ranked. A provisional month has no place, so it neither counts as last nor breaks the
    run: the ``k`` places are read from the ranked months only (the caller bounds how far back)."""
    n = len(index)
    if k <= 0:
        return np.ones(n, dtype=bool)
    if history is None or history.shape[1] < k:
        return np.zeros(n, dtype=bool)
    frame = history.set_axis(history.index.astype(str), axis=0).reindex(index)
    out = np.zeros(n, dtype=bool)
    for i, row in enumerate(frame.itertuples(index=False, name=None)):
        ranked = [bool(v) for v in row if v is not None and v == v]  # NaN != NaN: unranked
        out[i] = len(ranked) >= k and all(ranked[-k:])
    return out


def rescore_with(
    scheme: Scheme,
    inputs: ScoreInputs,
    agent: str,
    overrides: Mapping[str, float | None],
    *,
    as_of: date,
    others: FloatArray | None = None,
) -> AgentResult:
    """What-if for one agent: ``agent``'s result with ``overrides`` applied to its inputs only.

    Keys: an indicator id (raw value), a review column (``self``, ``manager.ability`` on the
    inputs' ``review_scale``), ``customer.n1`` … ``customer.n5``, ``peer.score``/``peer.count``,
    ``qa.score``/``qa.count``. ``None`` clears a value (makes it missing). Returns the agent's
    result with its rank in the rescored team. Used by ``/simulate`` and the review preview.

    ``others``: the stored ranking totals of the team's other agents (NaN = not ranked), from
    the same ``inputs``. Then only ``agent`` is scored, ranked against them (the team's mean
    of a team-scope indicator taken from ``inputs``): the same result as rescoring the team,
    for one agent's work instead of the team's. Where the change would move the other agents'
    results (an override of a team-scope indicator, or an agent not in ``inputs``) or
    ``inputs`` has several teams, the team is rescored.
    """
    agent = str(agent)
    if others is not None:
        one = _one_agent(scheme, inputs, agent, overrides)
        if one is not None:
            return score_team(scheme, one, as_of=as_of, others=others).agent(agent)
    result = score_team(scheme, _overridden(scheme, inputs, agent, overrides), as_of=as_of)
    return result.agent(agent)


def _overridden(
    scheme: Scheme, inputs: ScoreInputs, agent: str, overrides: Mapping[str, float | None]
) -> ScoreInputs:
    """``inputs`` with ``overrides`` applied to ``agent`` (added to the agents if not there)."""
    columns = {i.id: i.column for i in scheme.indicators} | {
        i.column: i.column for i in scheme.indicators
    }
    buckets: dict[str, dict[str, float]] = {
        "values": {},
        "reviews": {},
        "customer": {},
        "peer": {},
        "qa": {},
    }
    for key, value in overrides.items():
        v = math.nan if value is None else float(value)
        head, _, rest = key.partition(".")
        if key in columns:
            buckets["values"][columns[key]] = v
        elif head in ("customer", "peer", "qa") and rest:
            buckets[head][rest] = v
        else:
            buckets["reviews"][key] = v
    changes: dict[str, Any] = {}
    for name, cols in buckets.items():
        if not cols:
            continue
        frame: pd.DataFrame | None = getattr(inputs, name)
        frame = pd.DataFrame() if frame is None else frame.copy()
        frame.index = frame.index.astype(str)
        for col, v in cols.items():
            if col not in frame.columns:
                frame[col] = np.nan
            frame = frame.astype({col: float})
            frame.loc[agent, col] = v
        changes[name] = frame
    if inputs.agents is not None and agent not in inputs.agents:
        changes["agents"] = (*inputs.agents, agent)
    return replace(inputs, **changes)


def _team_columns(scheme: Scheme) -> list[str]:
    """Indicator columns read as the team's value (team-scope gates, the team component)."""
    cols = [
        i.column
        for i in scheme.indicators
        if isinstance(i.method, Gate) and i.method.scope == "team"
    ]
    for comp in scheme.components:
        if comp.kind not in ("kpi", "self", "manager", "customer", "peer", "qa"):
            cols += [scheme.indicator(i).column for i in comp.indicators]
    return list(dict.fromkeys(cols))


def _one_agent(
    scheme: Scheme, inputs: ScoreInputs, agent: str, overrides: Mapping[str, float | None]
) -> ScoreInputs | None:
    """``inputs`` cut to ``agent``'s rows with ``overrides`` applied (the team's own values of
    its team columns computed from the whole ``inputs`` first); None when the override moves
    what the other agents get (see :func:`rescore_with`)."""
    if inputs.teams is not None:
        return None
    full_index = _agent_index(inputs)
    if agent not in full_index:
        return None
    team_cols = _team_columns(scheme)
    columns = {i.id: i.column for i in scheme.indicators} | {
        i.column: i.column for i in scheme.indicators
    }
    if any(columns.get(key) in team_cols for key in overrides):
        return None

    def own(frame: pd.DataFrame | None) -> pd.DataFrame | None:
        if frame is None:
            return None
        index = _as_str_index(frame.index)
        return frame.set_axis(index, axis=0)[index == agent]

    changes: dict[str, Any] = {
        name: own(getattr(inputs, name))
        for name in ("values", "reviews", "customer", "peer", "qa", "history")
    }
    changes["agents"] = (agent,)
    if team_cols and inputs.team_values is None:
        # the team's value is its agents' mean (score_team's _team_matrix), taken the same way
        ind_ids = [i.column for i in scheme.indicators]
        values = _matrix(inputs.values, full_index, ind_ids)
        pos = [ind_ids.index(c) for c in team_cols]
        own_values = pd.DataFrame(values[:, pos], columns=team_cols)
        key = np.full(len(full_index), "", dtype=object)
        changes["team_values"] = own_values.groupby(key).transform("mean").iloc[:1].set_axis([""])
    sliced = replace(inputs, **changes)
    with_overrides = _overridden(scheme, sliced, agent, overrides)
    return replace(with_overrides, agents=(agent,))
