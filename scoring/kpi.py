"""Indicator values from per-agent measures and from raw event rows, vectorised.

Two steps, each written once:

1. *Aggregation* turns raw event rows (chat or call sessions, orders, complaints)
   into per-agent **measures**: counts, money totals, and ``*_total``/``*_n`` pairs
   for averages. :func:`aggregate` does it for every kind with one factorisation of
   the agent column, one ``numpy.bincount`` per sum and one for all counts together.
2. *Formulas* turn measures into **indicators**. :data:`FORMULAS` lists each
   indicator once with its definition; :func:`derive` applies every formula whose
   inputs are present. A per-agent summary export supplies the measures (and
   sometimes the indicators themselves) directly and goes through the same
   :func:`derive`.

Rates and shares are fractions (0.125 for 12.5 %), durations are seconds, money is
in the currency's main unit (yuan). A formula whose denominator is zero gives no
value (``NaN``): "no data", never a made-up 0.

No I/O, no imports from the rest of kpibot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd

FieldType = Literal[
    "text",
    "id",
    "time",
    "period",
    "count",
    "money",
    "seconds",
    "minutes",
    "score",
    "ratio",
    "flag",
    "number",
]
Kind = Literal["summary", "sessions", "orders", "complaints"]


Combine = Literal["sum", "weighted", "mean", "min", "max"]
COMBINE_RULES: tuple[Combine, ...] = ("sum", "weighted", "mean", "min", "max")


@dataclass(frozen=True)
class Field:
    """A column a source file can provide: its value type and its meaning.

    ``combine`` says how the values of several rows of one agent (a file with one row per
    agent per day) make the period's value: ``sum`` (counts, money, totals) or ``weighted``
    (an average or a rate given as it is: weighted by the mapping's weight column).
    """

    name: str
    type: FieldType
    definition: str
    combine: Combine = "sum"


@dataclass(frozen=True)
class Formula:
    """One indicator: ``numerator / denominator``, defined once.

    ``kind`` says how to read it: ``ratio`` (a share in 0–1, numerator never above
    denominator), ``mean`` (an average: total over count) or ``identity`` (a measure
    used as the indicator as it is; ``denominator`` is empty).
    """

    id: str
    numerator: str
    denominator: str
    kind: Literal["ratio", "mean", "identity"]
    definition: str


# --- measures: what an export or an aggregation gives per agent -------------------------

MEASURES: dict[str, Field] = {
    f.name: f
    for f in (
        Field("sessions", "count", "chats or calls offered to the agent (接待人数 / 呼入量)"),
        Field("answered", "count", "sessions the agent answered (not abandoned)"),
        Field("abandoned", "count", "sessions the customer left before an answer (未接 / 放弃)"),
        Field("inquiries", "count", "customers who asked about buying (询单人数)"),
        Field("converted", "count", "inquiring customers who finally paid (最终付款人数)"),
        Field("lost", "count", "inquiring customers who left without buying (流失人数)"),
        Field("resolved", "count", "answered sessions whose problem was solved"),
        Field("transferred", "count", "answered sessions passed to someone else"),
        Field("orders", "count", "orders placed (下单笔数)"),
        Field("paid_orders", "count", "orders paid (付款笔数)"),
        Field("valid_orders", "count", "orders counted as valid (有效订单)"),
        Field("refunded_orders", "count", "paid orders refunded in full or part (退款笔数)"),
        Field("abnormal_orders", "count", "orders flagged abnormal (异常订单)"),
        Field("complaints", "count", "customer complaints against the agent (投诉数)"),
        Field("paid_amount", "money", "amount of the paid orders (销售额 / 付款金额)"),
        Field("refund_amount", "money", "amount refunded (退款金额)"),
        Field("response_s_total", "seconds", "sum of the sessions' average response times"),
        Field("response_n", "count", "sessions with an average response time"),
        Field("first_response_s_total", "seconds", "sum of first-response times"),
        Field("first_response_n", "count", "sessions with a first-response time"),
        Field("handle_s_total", "seconds", "sum of handling times (talk + hold + after-call work)"),
        Field("handle_n", "count", "answered sessions with a handling time"),
        Field("wait_s_total", "seconds", "sum of the customers' waiting times before an answer"),
        Field("wait_n", "count", "sessions with a waiting time"),
        Field("disputes", "count", "disputes opened against the agent's orders (纠纷数, 001)"),
        Field(
            "internal_complaints",
            "count",
            "complaints from inside the shop about the agent (店铺内部投诉, 001)",
        ),
        Field(
            "refund_time_min",
            "minutes",
            "average time to handle a refund, in minutes (退款时长, 001)",
            "weighted",
        ),
        Field(
            "dsr_rating",
            "score",
            "the shop's detailed seller rating on the platform, 0–5 (DSR 评分, 001)",
            "weighted",
        ),
        Field(
            "idle_s",
            "seconds",
            "time the agent was set idle (not ready, AUX) in the period (示闲时间, 003)",
        ),
        # customer ratings given on the platform (赤兔 满意度, JD 好评量/差评量, Zendesk good/bad):
        # they enter the customer component beside the survey page's ratings (see STAR_MEASURES)
        Field(
            "stars_5",
            "count",
            "customers who rated the agent 5 of 5 on the platform (满意度-非常满意)",
        ),
        Field(
            "stars_4", "count", "customers who rated the agent 4 of 5 on the platform (满意度-满意)"
        ),
        Field(
            "stars_3", "count", "customers who rated the agent 3 of 5 on the platform (满意度-一般)"
        ),
        Field(
            "stars_2",
            "count",
            "customers who rated the agent 2 of 5 on the platform (满意度-不满意)",
        ),
        Field(
            "stars_1",
            "count",
            "customers who rated the agent 1 of 5 on the platform (满意度-非常不满意)",
        ),
        Field(
            "good_ratings",
            "count",
            "good ratings on the platform (好评量, Good satisfaction tickets); "
            "a good rating counts as 5 stars",
        ),
        Field(
            "bad_ratings",
            "count",
            "bad ratings on the platform (差评量, Bad satisfaction tickets); "
            "a bad rating counts as 1 star",
        ),
        Field(
            "ratings_given",
            "count",
            "good and bad ratings on the platform together "
            "(Rated satisfaction tickets); bad = rated − good when the file gives no bad count",
        ),
    )
}

# --- formulas: each indicator once ------------------------------------------------------

FORMULAS: dict[str, Formula] = {
    f.id: f
    for f in (
        Formula(
            "conversion_rate",
            "converted",
            "inquiries",
            "ratio",
            "inquiry-to-order conversion (询单转化率) = customers who paid / customers who "
            "inquired",
        ),
        Formula(
            "churn_rate",
            "lost",
            "inquiries",
            "ratio",
            "customer churn (客户流失率) = inquiring customers lost / customers who inquired",
        ),
        Formula(
            "avg_response_s",
            "response_s_total",
            "response_n",
            "mean",
            "average response time in seconds (平均响应时间) = mean over sessions of each "
            "session's average response",
        ),
        Formula(
            "first_response_s",
            "first_response_s_total",
            "first_response_n",
            "mean",
            "average first-response time in seconds (首次响应时间) = mean first response over "
            "sessions that had one",
        ),
        Formula(
            "aht_s",
            "handle_s_total",
            "handle_n",
            "mean",
            "average handling time in seconds (AHT, 平均处理时长) = (talk + hold + after-call "
            "work) / answered sessions",
        ),
        Formula(
            "avg_wait_s",
            "wait_s_total",
            "wait_n",
            "mean",
            "average wait time in seconds (平均等待时长) = customers' waiting time / sessions with "
            "a wait",
        ),
        Formula(
            "answer_rate",
            "answered",
            "sessions",
            "ratio",
            "answer rate (接通率) = answered sessions / sessions offered",
        ),
        Formula(
            "missed_rate",
            "abandoned",
            "sessions",
            "ratio",
            "missed-call rate (呼损率 / 未接率) = abandoned sessions / sessions offered",
        ),
        Formula(
            "transfer_rate",
            "transferred",
            "answered",
            "ratio",
            "transfer rate (转接率) = transferred sessions / answered sessions",
        ),
        Formula(
            "resolution_rate",
            "resolved",
            "answered",
            "ratio",
            "problem resolution rate (问题解决率) = resolved sessions / answered sessions",
        ),
        Formula(
            "sessions_handled",
            "answered",
            "",
            "identity",
            "sessions handled (接待量 / 接听量) = answered sessions",
        ),
        Formula(
            "order_amount",
            "paid_amount",
            "",
            "identity",
            "total order amount (订单总金额) = amount of paid orders",
        ),
        Formula(
            "refund_rate",
            "refunded_orders",
            "paid_orders",
            "ratio",
            "refund rate (退款率) = refunded orders / paid orders",
        ),
        Formula(
            "payment_ratio",
            "paid_orders",
            "orders",
            "ratio",
            "payment ratio (付款比例) = paid orders / orders placed",
        ),
        Formula(
            "valid_order_share",
            "valid_orders",
            "orders",
            "ratio",
            "valid-order share (有效订单比重) = valid orders / orders placed",
        ),
        Formula(
            "refund_ratio",
            "refund_amount",
            "paid_amount",
            "ratio",
            "refund ratio (退款比例) = amount refunded / amount paid",
        ),
        Formula(
            "avg_order_value",
            "paid_amount",
            "paid_orders",
            "mean",
            "average order value (平均客单价) = amount paid / paid orders",
        ),
        Formula(
            "complaint_share",
            "complaints",
            "sessions",
            "ratio",
            "complaint share (顾客投诉比重) = complaints / sessions offered",
        ),
        Formula(
            "abnormal_order_share",
            "abnormal_orders",
            "orders",
            "ratio",
            "abnormal-order share (异常订单比重) = abnormal orders / orders placed",
        ),
        Formula(
            "satisfaction_rate",
            "good_ratings",
            "ratings_given",
            "ratio",
            "platform satisfaction (好评率 / 满意率) = good ratings / (good + bad ratings)",
        ),
    )
}

INDICATOR_TYPES: dict[str, FieldType] = {
    f.id: ("ratio" if f.kind == "ratio" else MEASURES[f.numerator].type) for f in FORMULAS.values()
}

# --- raw event rows: which columns each kind of event file has ---------------------------

EVENT_FIELDS: dict[Kind, dict[str, Field]] = {
    "sessions": {
        f.name: f
        for f in (
            Field("agent", "text", "who handled the session"),
            Field("time", "time", "when the session started"),
            Field("session_id", "id", "the session's id (duplicates refused)"),
            Field("first_response_s", "seconds", "time to the agent's first reply"),
            Field("response_s", "seconds", "the agent's average reply time in the session"),
            Field("handle_s", "seconds", "handling time (talk + hold + after-call work)"),
            Field("talk_s", "seconds", "talk time (added into handling time)"),
            Field("hold_s", "seconds", "hold time (added into handling time)"),
            Field("wrap_s", "seconds", "after-call work (added into handling time)"),
            Field("wait_s", "seconds", "the customer's wait before an answer"),
            Field("abandoned", "flag", "the customer left before an answer"),
            Field("resolved", "flag", "the problem was solved"),
            Field("transferred", "flag", "passed on to someone else"),
            Field("converted", "flag", "the inquiring customer paid"),
            Field("lost", "flag", "the inquiring customer left without buying"),
        )
    },
    "orders": {
        f.name: f
        for f in (
            Field("agent", "text", "the agent the order is credited to"),
            Field("order_id", "id", "the order's id (duplicates refused)"),
            Field("time", "time", "when the order was placed"),
            Field("amount", "money", "the order's amount"),
            Field("paid", "flag", "the order was paid"),
            Field("valid", "flag", "the order counts as valid"),
            Field("refunded", "flag", "the order was refunded"),
            Field("refund_amount", "money", "the amount refunded"),
            Field("abnormal", "flag", "the order was flagged abnormal"),
        )
    },
    "complaints": {
        f.name: f
        for f in (
            Field("agent", "text", "the agent complained about"),
            Field("time", "time", "when the complaint was made"),
            Field("complaint_id", "id", "the complaint's id (duplicates refused)"),
            Field("reason", "text", "why the customer complained"),
        )
    },
}

SUMMARY_FIELDS: dict[str, Field] = {
    "agent": Field("agent", "text", "the agent the row is about"),
    "period": Field("period", "period", "the period the row covers (checked against the import's)"),
    "date": Field(
        "date",
        "time",
        "the day a row covers, in a file with one row per agent per day "
        "(checked against the import's period)",
    ),
    **MEASURES,
    **{
        i: Field(
            i,
            INDICATOR_TYPES[i],
            FORMULAS[i].definition,
            "sum" if FORMULAS[i].kind == "identity" else "weighted",
        )
        for i in FORMULAS
    },
}

# The star each platform rating counts as in the customer component (n1 … n5).
STAR_MEASURES: dict[str, int] = {
    "stars_1": 1,
    "stars_2": 2,
    "stars_3": 3,
    "stars_4": 4,
    "stars_5": 5,
    "good_ratings": 5,
    "bad_ratings": 1,
}

REQUIRED_FIELDS: dict[Kind, frozenset[str]] = {
    "summary": frozenset({"agent"}),
    "sessions": frozenset({"agent", "time"}),
    "orders": frozenset({"agent", "order_id", "amount"}),
    "complaints": frozenset({"agent", "time"}),
}


# An event file lists every event of its period: an agent of the team with no row in a
# complaints file had no complaint (0), which is not "no data".
ZERO_WHEN_ABSENT: dict[Kind, tuple[str, ...]] = {"complaints": ("complaints",)}


def _stored(column: str) -> bool:
    """Whether a measure is stored as a value (not a ``*_total``/``*_n`` part of an average)."""
    return not (column.endswith("_total") or column.endswith("_n"))


def importable(declared: Iterable[str] = ()) -> frozenset[str]:
    """Every indicator column an import can store: the measures and the formulas' indicators
    (what :func:`indicators_of` keeps), whatever kind of file supplies them, and the
    ``declared`` ones (a mapping's own indicators: a platform's rate taken as it is)."""
    return frozenset({*(c for c in (*MEASURES, *FORMULAS) if _stored(c)), *declared})


def producible(kind: Kind, fields: Iterable[str]) -> frozenset[str]:
    """The indicator columns a file of ``kind`` with these mapped ``fields`` gives.

    Found by running the real aggregation and formulas over one made-up row, so it can never
    disagree with what an import stores.
    """
    names = [f for f in fields if f in fields_for(kind)]
    row: dict[str, list[object]] = {}
    for name in names:
        ftype = fields_for(kind)[name].type
        row[name] = (
            [True]
            if ftype == "flag"
            else ["x"]
            if ftype in ("text", "id", "time", "period")
            else [1.0]
        )
    row.setdefault("agent", ["x"])
    frame = pd.DataFrame(row)
    if kind != "summary":
        if kind == "orders" and "amount" not in frame.columns:
            return frozenset()
        frame = aggregate(frame, kind)
    else:
        frame = frame.drop(columns=[c for c in ("agent", "period") if c in frame.columns])
    return frozenset(indicators_of(derive(frame)))


def producible_from(files: Iterable[tuple[Kind, Iterable[str]]]) -> frozenset[str]:
    """What several files give together (``(kind, mapped fields)`` each), including indicators
    whose inputs come from different files (complaint share = complaints / sessions)."""
    found: set[str] = set()
    for kind, fields in files:
        found |= producible(kind, fields)
    measures = pd.DataFrame({m: [1.0] for m in found if m in MEASURES})
    return frozenset(found | set(indicators_of(derive(measures))))


def fields_for(kind: Kind) -> Mapping[str, Field]:
    """Every field a source file of this kind can map a column to."""
    return SUMMARY_FIELDS if kind == "summary" else EVENT_FIELDS[kind]


# --- aggregation ------------------------------------------------------------------------


def _flag(frame: pd.DataFrame, column: str) -> np.ndarray | None:
    """A flag column as a boolean mask (missing = False), or None when there is no such column."""
    if column not in frame.columns:
        return None
    series = frame[column]
    if pd.api.types.is_bool_dtype(series):
        return np.asarray(series.to_numpy(dtype=bool, na_value=False))
    return np.asarray(series.to_numpy(dtype="float64", na_value=0.0)) > 0


def _number(frame: pd.DataFrame, column: str) -> np.ndarray | None:
    if column not in frame.columns:
        return None
    series = frame[column]
    if series.dtype == np.float64:
        return np.asarray(series.to_numpy())  # no copy
    return np.asarray(series.to_numpy(dtype="float64", na_value=np.nan))


def aggregate(frame: pd.DataFrame, kind: Kind, *, agent: str = "agent") -> pd.DataFrame:
    """Per-agent measures from raw event rows of one kind.

    ``frame`` holds one row per event with the columns of :data:`EVENT_FIELDS`
    (flags as booleans or 0/1, durations in seconds, money in yuan; missing
    optional values as NaN). The result has one row per agent (index ``agent``,
    in order of first appearance, or the categories of a categorical agent column)
    and one column per measure the columns allow.

    One factorisation of the agent column, then one ``numpy.bincount`` per sum (money,
    durations) and one weighted ``numpy.bincount`` for every count at once (the flags and
    each duration's missing cells, packed into one number per row: :meth:`_Bins.counts`):
    no Python loop over rows or agents. Sums are added in row order.
    """
    column = frame[agent]
    if isinstance(column.dtype, pd.CategoricalDtype):  # already factorised: use its codes
        codes = np.asarray(column.cat.codes.to_numpy(), dtype=np.intp)
        uniques = column.cat.categories
    else:
        codes, uniques = pd.factorize(column, sort=False)
    bins = _Bins(codes, len(uniques))
    if kind == "sessions":
        out = _session_measures(frame, bins)
    elif kind == "orders":
        out = _order_measures(frame, bins)
    elif kind == "complaints":
        out = {"complaints": bins.rows}
    else:
        raise ValueError(f"cannot aggregate {kind!r} rows")
    return pd.DataFrame(out, index=pd.Index(uniques, name=agent))


_EXACT_BITS = 53
"""Whole numbers below 2**53 are exact in a float64 (its significand): what a weighted
``numpy.bincount`` may add up without rounding."""


@dataclass(frozen=True)
class _Bins:
    """The agent column factorised: ``codes`` (one per row, ``intp``) into ``size`` agents."""

    codes: np.ndarray
    size: int

    @cached_property
    def rows(self) -> np.ndarray:
        """Per agent, how many rows it has (one ``numpy.bincount``)."""
        return np.bincount(self.codes, minlength=self.size).astype("float64")

    def total(self, values: np.ndarray) -> np.ndarray:
        """Per agent, the sum of ``values`` over its rows, added in row order."""
        return np.bincount(self.codes, weights=values, minlength=self.size).astype(
            "float64", copy=False
        )  # (an empty file gives integers)

    def counts(self, masks: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per agent and mask, how many of its rows are in the mask: several masks at once.

        Each row's masks are packed into one whole number, a field of ``width`` bits per
        mask (``width`` holds the largest agent's row count, so no field carries into the
        next), and added per agent by one weighted ``numpy.bincount``: as many masks as
        fit in the 53 exact bits of a float64 per pass, usually all of them. The fields of
        each agent's sum are its counts, exactly.
        """
        if not masks:
            return []
        width = max(int(self.rows.max(initial=0)).bit_length(), 1)
        per_pass = max(1, min(_EXACT_BITS // width, 8))  # 8: a row's bits fit one byte
        found: list[np.ndarray] = []
        for start in range(0, len(masks), per_pass):
            group = masks[start : start + per_pass]
            bits = np.zeros(len(self.codes), dtype=np.uint8)
            for position, mask in enumerate(group):
                bits |= np.asarray(mask, dtype=bool).view(np.uint8) << np.uint8(position)
            combos = np.arange(1 << len(group))
            worth = np.zeros(len(combos))  # each combination of a row's bits, as a number
            for position in range(len(group)):
                worth += ((combos >> position) & 1) * float(1 << (position * width))
            packed = self.total(worth[bits]).astype(np.uint64)
            field = np.uint64((1 << width) - 1)
            found += [
                ((packed >> np.uint64(position * width)) & field).astype("float64")
                for position in range(len(group))
            ]
        return found


def _session_measures(frame: pd.DataFrame, bins: _Bins) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    out["sessions"] = bins.rows
    out["inquiries"] = out["sessions"]
    abandoned = _flag(frame, "abandoned")
    flags = {f: _flag(frame, f) for f in ("resolved", "transferred", "converted", "lost")}
    if abandoned is not None:  # only an answered session can be resolved or passed on
        for f in ("resolved", "transferred"):
            mask = flags[f]
            flags[f] = None if mask is None else mask & ~abandoned
    present = {"abandoned": abandoned, **flags}
    counted = {f: m for f, m in present.items() if m is not None}
    durations = {
        "first_response": _number(frame, "first_response_s"),
        "response": _number(frame, "response_s"),
        "wait": _number(frame, "wait_s"),
        "handle": _handling(frame),
    }
    values = {name: v for name, v in durations.items() if v is not None}
    missing = {name: np.isnan(v) for name, v in values.items()}
    if "handle" in missing and abandoned is not None:
        # AHT (003) = talk + hold + after-call work over *answered* calls: an unanswered call
        # has no handling time, whatever the export writes for it (often 00:00).
        missing["handle"] = missing["handle"] | abandoned
    # every count in one pass: the flags, and each duration's missing cells (usually few)
    numbers = bins.counts([*counted.values(), *missing.values()])
    out.update(zip(counted, numbers, strict=False))
    out["answered"] = (
        out["sessions"] - out["abandoned"] if abandoned is not None else out["sessions"]
    )
    for (name, given), gaps in zip(values.items(), numbers[len(counted) :], strict=True):
        out[f"{name}_s_total"] = bins.total(np.where(missing[name], 0.0, given))
        out[f"{name}_n"] = out["sessions"] - gaps
    return out


def _order_measures(frame: pd.DataFrame, bins: _Bins) -> dict[str, np.ndarray]:
    amount = _number(frame, "amount")
    if amount is None:
        raise ValueError("orders need an amount column")
    amount = np.nan_to_num(amount)
    out: dict[str, np.ndarray] = {}
    out["orders"] = bins.rows
    paid = _flag(frame, "paid")
    flags = {
        measure: mask
        for flag, measure in (
            ("paid", "paid_orders"),
            ("valid", "valid_orders"),
            ("refunded", "refunded_orders"),
            ("abnormal", "abnormal_orders"),
        )
        if (mask := _flag(frame, flag)) is not None
    }
    counted = dict(zip(flags, bins.counts(list(flags.values())), strict=True))
    out["paid_orders"] = counted.pop("paid_orders", out["orders"])
    out["paid_amount"] = bins.total(amount if paid is None else np.where(paid, amount, 0.0))
    out.update(counted)
    refund = _number(frame, "refund_amount")
    refunded = _flag(frame, "refunded")
    if refund is not None:
        out["refund_amount"] = bins.total(np.nan_to_num(refund))
    elif refunded is not None:
        out["refund_amount"] = bins.total(np.where(refunded, amount, 0.0))
    return out


def _handling(frame: pd.DataFrame) -> np.ndarray | None:
    """Handling time per session: the ``handle_s`` column, else talk + hold + wrap."""
    direct = _number(frame, "handle_s")
    if direct is not None:
        return direct
    parts = [
        p for p in (_number(frame, c) for c in ("talk_s", "hold_s", "wrap_s")) if p is not None
    ]
    if not parts:
        return None
    total = np.zeros(len(frame))
    present = np.zeros(len(frame), dtype=bool)
    for part in parts:
        total += np.nan_to_num(part)
        present |= ~np.isnan(part)
    return np.where(present, total, np.nan)


def combine(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Add up measures of the same agents from several aggregations (e.g. two session files)."""
    stacked = pd.concat(list(frames))
    return stacked.groupby(level=0, sort=False).sum(min_count=1)


# --- formulas ---------------------------------------------------------------------------


def derive(measures: pd.DataFrame, wanted: Iterable[str] | None = None) -> pd.DataFrame:
    """Add every indicator of :data:`FORMULAS` whose inputs are columns of ``measures``.

    An indicator already present as a column (a summary export that gives the rate
    itself) is kept as given. ``wanted`` limits the result to those indicators.
    Returns a new frame: the measures plus the indicators.
    """
    ids = FORMULAS.keys() if wanted is None else [i for i in wanted if i in FORMULAS]
    measures = complete_ratings(measures)
    columns = set(measures.columns)
    added: dict[
        str, np.ndarray
    ] = {}  # built as arrays, joined once: no frame growing column by column
    for indicator in ids:
        if indicator in columns or indicator in added:
            continue
        formula = FORMULAS[indicator]
        if formula.numerator not in columns:
            continue
        top = measures[formula.numerator].to_numpy(dtype="float64", na_value=np.nan)
        if formula.kind == "identity":
            added[indicator] = top.copy()
            continue
        if formula.denominator not in columns:
            continue
        bottom = measures[formula.denominator].to_numpy(dtype="float64", na_value=np.nan)
        added[indicator] = top / np.where(bottom != 0, bottom, np.nan)
    if not added:
        return measures.copy()
    return pd.concat([measures, pd.DataFrame(added, index=measures.index)], axis=1)


def ratio_violations(measures: pd.DataFrame) -> list[tuple[str, str, str]]:
    """``(row label, numerator, denominator)`` wherever a ratio's numerator exceeds its denominator.

    Such a row is impossible (more paying customers than inquiring ones) and points
    at a wrongly mapped column.
    """
    found: list[tuple[str, str, str]] = []
    for formula in FORMULAS.values():
        if formula.kind != "ratio":
            continue
        if formula.numerator not in measures.columns or formula.denominator not in measures.columns:
            continue
        top = measures[formula.numerator].astype("float64")
        bottom = measures[formula.denominator].astype("float64")
        bad = (top > bottom + 1e-9) & top.notna() & bottom.notna()
        found.extend(
            (str(label), formula.numerator, formula.denominator) for label in measures.index[bad]
        )
    return found


def indicators_of(frame: pd.DataFrame) -> list[str]:
    """Columns of ``frame`` that are indicators or measures worth storing (not the ``*_total``
    parts)."""
    keep = [c for c in frame.columns if c in FORMULAS or c in MEASURES]
    return [c for c in keep if _stored(c)]


def complete_ratings(measures: pd.DataFrame) -> pd.DataFrame:
    """Good, bad and all platform ratings from the two a file gives (rated = good + bad;
    bad = rated − good), so that :func:`derive` finds ``satisfaction_rate``'s inputs."""
    columns = set(measures.columns)
    added: dict[str, np.ndarray] = {}
    if {"good_ratings", "bad_ratings"} <= columns and "ratings_given" not in columns:
        added["ratings_given"] = measures["good_ratings"].to_numpy(
            dtype="float64", na_value=np.nan
        ) + measures["bad_ratings"].to_numpy(dtype="float64", na_value=np.nan)
    elif {"good_ratings", "ratings_given"} <= columns and "bad_ratings" not in columns:
        added["bad_ratings"] = measures["ratings_given"].to_numpy(
            dtype="float64", na_value=np.nan
        ) - measures["good_ratings"].to_numpy(dtype="float64", na_value=np.nan)
    if not added:
        return measures
    return pd.concat([measures, pd.DataFrame(added, index=measures.index)], axis=1)


def star_counts(values: pd.DataFrame) -> pd.DataFrame:
    """Per agent, how many platform ratings count as 1 … 5 stars (columns ``n1`` … ``n5``),
    from the stored rating measures (:data:`STAR_MEASURES`); 0 where there are none."""
    counts = np.zeros((len(values), 5))
    for measure, star in STAR_MEASURES.items():
        if measure in values.columns:
            counts[:, star - 1] += np.nan_to_num(
                values[measure].to_numpy(dtype="float64", na_value=np.nan)
            )
    return pd.DataFrame(counts, index=values.index, columns=[f"n{i}" for i in range(1, 6)])


# --- one row per agent per day: combining rows into the period ---------------------------


@dataclass(frozen=True)
class RowRule:
    """How one column's values over an agent's rows make the period's value."""

    how: Combine
    weight: str | None = None


def _group_sums(parts: Mapping[str, np.ndarray | None], codes: np.ndarray) -> pd.DataFrame:
    """Per group, each part's sum over its rows with a value (NaN when none has one), as
    ``groupby(codes).sum(min_count=1)`` gives, indexed by the groups present in ascending
    order. Codes 0 … n−1 (the usual case) take one ``numpy.bincount`` per part and one for
    its count of values instead of a pandas groupby, which would factorise the codes again.
    """
    if len(codes) == 0 or codes.min() < 0:
        frame = pd.DataFrame(parts, index=pd.Index(codes, name="group"), copy=False)
        return frame.groupby(level=0, sort=True).sum(min_count=1)
    size = int(codes.max()) + 1
    present = np.flatnonzero(np.bincount(codes, minlength=size))
    out: dict[str, np.ndarray] = {}
    for name, values in parts.items():
        if values is None:  # a column the frame lacks: no value for any group
            out[name] = np.full(len(present), np.nan)
            continue
        missing = np.isnan(values)
        total = np.bincount(codes, weights=np.where(missing, 0.0, values), minlength=size)
        if missing.any():
            have = np.bincount(codes[~missing], minlength=size)
            total = np.where(have > 0, total, np.nan)
        out[name] = total[present]
    return pd.DataFrame(out, index=pd.Index(present, name="group"))


def combine_rows(
    frame: pd.DataFrame, codes: np.ndarray, rules: Mapping[str, RowRule]
) -> pd.DataFrame:
    """One row per group (``codes``: the group of each row, 0 … n−1) from several rows each.

    ``sum`` adds (no value when no row has one), ``weighted`` is Σ value × weight / Σ weight
    over the rows that have both, ``mean``/``min``/``max`` are plain. One pandas ``groupby``
    over every sum and weighted part together, one more per plain rule: no Python loop
    over rows or groups. The result is indexed by the group codes, in ascending order.
    """
    parts: dict[str, np.ndarray] = {}
    weighted: list[tuple[str, str, str]] = []
    plain: dict[str, list[str]] = {}
    for column, rule in rules.items():
        if rule.how == "sum":
            parts[column] = _number(frame, column)  # type: ignore[assignment]
        elif rule.how == "weighted":
            if rule.weight is None:
                raise ValueError(f"{column}: a weighted combination needs a weight column")
            value = _number(frame, column)
            weight = _number(frame, rule.weight)
            assert value is not None and weight is not None
            both = ~(np.isnan(value) | np.isnan(weight))
            top, bottom = f"{column}\x00top", f"{column}\x00bottom"
            parts[top] = np.where(both, value * weight, np.nan)
            parts[bottom] = np.where(both, weight, np.nan)
            weighted.append((column, top, bottom))
        else:
            plain.setdefault(rule.how, []).append(column)
    keys = pd.Index(codes, name="group")
    pieces: list[pd.DataFrame] = []
    if parts:
        summed = _group_sums(parts, codes)
        out = {c: summed[c].to_numpy() for c, rule in rules.items() if rule.how == "sum"}
        for column, top, bottom in weighted:
            below = summed[bottom].to_numpy()
            out[column] = summed[top].to_numpy() / np.where(below > 0, below, np.nan)
        pieces.append(pd.DataFrame(out, index=summed.index))
    for how, columns in plain.items():
        grouped = frame[columns].set_axis(keys).groupby(level=0, sort=True)
        pieces.append(getattr(grouped, how)())
    combined = pd.concat(pieces, axis=1) if len(pieces) > 1 else pieces[0]
    return combined[[c for c in rules]]
