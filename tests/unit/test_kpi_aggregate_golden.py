"""scoring.kpi.aggregate and combine_rows pinned to the bit on awkward inputs (issue 15).

Each result is compared with a row-by-row reference written the plain way (one Python loop
over the rows, in file order, adding as a person would) and with hand-computed goldens:
missing values, flags with gaps, one agent, agents with no rows (unused categories), an
empty file, daily rows. Any faster aggregation must give exactly these bits, these columns
in this order and these agents in this order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import kpi

SESSION_FLAGS = ("abandoned", "resolved", "transferred", "converted", "lost")
SESSION_MEANS = (("first_response", "first_response_s"), ("response", "response_s"))


def _bits(frame: pd.DataFrame) -> list[list[int]]:
    """Each value's 64 bits (so that 0.0 and -0.0 differ), every NaN as one NaN."""
    values = frame.to_numpy(dtype="float64", copy=True)
    values[np.isnan(values)] = np.nan
    return values.view(np.int64).tolist()


def _same_bits(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert got.columns.tolist() == want.columns.tolist()
    assert got.index.tolist() == want.index.tolist()
    assert got.index.name == want.index.name
    assert all(dtype == np.float64 for dtype in got.dtypes)
    assert _bits(got) == _bits(want)


def _truth(value: object) -> bool:
    """A flag cell as the aggregation reads it: missing is False, a number counts when > 0."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return False
    return bool(value) if isinstance(value, bool | np.bool_) else float(value) > 0  # type: ignore[arg-type]


def _missing(value: float) -> bool:
    return math.isnan(value)


def _agents_in_order(frame: pd.DataFrame) -> list[object]:
    column = frame["agent"]
    if isinstance(column.dtype, pd.CategoricalDtype):
        return list(column.cat.categories)
    return list(dict.fromkeys(column.tolist()))


def _handling(frame: pd.DataFrame, row: dict[str, object]) -> float:
    """A session's handling time: ``handle_s``, else talk + hold + wrap (those given, in that
    order); none for an abandoned session."""
    if "abandoned" in frame.columns and _truth(row["abandoned"]):
        return math.nan  # an unanswered call has no handling time
    if "handle_s" in frame.columns:
        return float(row["handle_s"])  # type: ignore[arg-type]
    parts = [float(row[c]) for c in ("talk_s", "hold_s", "wrap_s") if c in frame.columns]  # type: ignore[arg-type]
    present = [p for p in parts if not _missing(p)]
    if not present:
        return math.nan
    value = 0.0
    for part in present:
        value += part
    return value


def _mean_columns(frame: pd.DataFrame) -> list[tuple[str, str]]:
    means = [(name, column) for name, column in SESSION_MEANS if column in frame.columns]
    if "wait_s" in frame.columns:
        means.append(("wait", "wait_s"))
    if {"handle_s", "talk_s", "hold_s", "wrap_s"} & set(frame.columns):
        means.append(("handle", ""))
    return means


def _flag_count(frame: pd.DataFrame, rows: list[dict[str, object]], flag: str) -> float:
    count = 0
    for r in rows:
        hit = _truth(r[flag])
        if flag in ("resolved", "transferred") and "abandoned" in frame.columns:
            hit = hit and not _truth(r["abandoned"])  # only an answered session counts
        count += hit
    return float(count)


def reference_sessions(frame: pd.DataFrame) -> pd.DataFrame:
    """Sessions per agent, one row at a time."""
    agents = _agents_in_order(frame)
    rows = frame.to_dict("records")
    flags = [f for f in SESSION_FLAGS if f in frame.columns]
    means = _mean_columns(frame)
    out: dict[str, list[float]] = {"sessions": [], "inquiries": []}
    out.update({f: [] for f in flags})
    out["answered"] = []
    for name, _column in means:
        out[f"{name}_s_total"], out[f"{name}_n"] = [], []
    for agent in agents:
        mine = [r for r in rows if r["agent"] == agent]
        out["sessions"].append(float(len(mine)))
        out["inquiries"].append(float(len(mine)))
        for f in flags:
            out[f].append(_flag_count(frame, mine, f))
        abandoned = sum(_truth(r["abandoned"]) for r in mine) if "abandoned" in flags else 0
        out["answered"].append(float(len(mine) - abandoned))
        for name, column in means:
            total, n = 0.0, 0
            for r in mine:
                value = _handling(frame, r) if name == "handle" else float(r[column])  # type: ignore[arg-type]
                if not _missing(value):
                    total += value
                    n += 1
            out[f"{name}_s_total"].append(total)
            out[f"{name}_n"].append(float(n))
    return pd.DataFrame(out, index=pd.Index(agents, name="agent"), dtype="float64")


def reference_orders(frame: pd.DataFrame) -> pd.DataFrame:
    agents = _agents_in_order(frame)
    rows = frame.to_dict("records")

    def amount(row: dict[str, object], column: str = "amount") -> float:
        value = float(row[column])  # type: ignore[arg-type]
        return 0.0 if _missing(value) else value

    out: dict[str, list[float]] = {"orders": [], "paid_orders": [], "paid_amount": []}
    counted = [
        (f, m)
        for f, m in (
            ("valid", "valid_orders"),
            ("refunded", "refunded_orders"),
            ("abnormal", "abnormal_orders"),
        )
        if f in frame.columns
    ]
    out.update({m: [] for _f, m in counted})
    refund = "refund_amount" in frame.columns or "refunded" in frame.columns
    if refund:
        out["refund_amount"] = []
    for agent in agents:
        mine = [r for r in rows if r["agent"] == agent]
        paid = [r for r in mine if "paid" not in frame.columns or _truth(r["paid"])]
        out["orders"].append(float(len(mine)))
        out["paid_orders"].append(float(len(paid)))
        total = 0.0
        for r in paid:
            total += amount(r)
        out["paid_amount"].append(total)
        for f, m in counted:
            out[m].append(float(sum(_truth(r[f]) for r in mine)))
        if refund:
            total = 0.0
            for r in mine:
                if "refund_amount" in frame.columns:
                    total += amount(r, "refund_amount")
                elif _truth(r["refunded"]):
                    total += amount(r)
            out["refund_amount"].append(total)
    return pd.DataFrame(out, index=pd.Index(agents, name="agent"), dtype="float64")


# --- awkward inputs ---------------------------------------------------------------------

number = st.one_of(
    st.just(math.nan),
    st.just(0.0),
    st.just(-0.0),
    st.floats(0, 1e7, allow_nan=False, allow_infinity=False),
    st.floats(0, 10, allow_nan=False).map(lambda v: round(v, 3)),
)
flag = st.one_of(st.booleans(), st.none())


def _flag_column(values: Sequence[bool | None], how: str) -> pd.Series:
    """The shapes a flag column takes after parsing: numpy booleans (no gaps), pandas
    ``boolean`` with gaps, or 0/1 numbers with NaN."""
    if how == "bool":
        return pd.Series([bool(v) for v in values], dtype=bool)
    if how == "boolean":
        return pd.Series(values, dtype="boolean")
    return pd.Series([math.nan if v is None else float(v) for v in values], dtype="float64")


@st.composite
def session_frames(draw: st.DrawFn) -> pd.DataFrame:
    size = draw(st.integers(0, 40))
    agents = draw(
        st.lists(st.sampled_from(["a", "b", "李明", "c d"]), min_size=size, max_size=size)
    )
    data: dict[str, pd.Series] = {}
    shape = draw(st.sampled_from(["text", "categorical", "categorical-unused"]))
    if shape == "text":
        data["agent"] = pd.Series(agents, dtype=object)
    else:
        categories = list(dict.fromkeys(agents))
        if shape == "categorical-unused":
            categories = ["nobody", *categories, "also nobody"]
        data["agent"] = pd.Series(pd.Categorical(agents, categories=categories))
    how = draw(st.sampled_from(["bool", "boolean", "number"]))
    for name in SESSION_FLAGS:
        if draw(st.booleans()):
            cells = draw(st.lists(flag, min_size=size, max_size=size))
            data[name] = _flag_column(cells, how if how != "bool" or None not in cells else "bool")
    columns = ["first_response_s", "response_s", "wait_s"]
    columns += draw(st.sampled_from([["handle_s"], ["talk_s", "hold_s", "wrap_s"], ["talk_s"], []]))
    for name in columns:
        if name in ("first_response_s", "wait_s", "handle_s") or draw(st.booleans()):
            data[name] = pd.Series(draw(st.lists(number, min_size=size, max_size=size)))
    return pd.DataFrame(data)


@st.composite
def order_frames(draw: st.DrawFn) -> pd.DataFrame:
    size = draw(st.integers(0, 30))
    data: dict[str, pd.Series] = {
        "agent": pd.Series(draw(st.lists(st.sampled_from("xyz"), min_size=size, max_size=size))),
        "amount": pd.Series(draw(st.lists(number, min_size=size, max_size=size))),
    }
    for name in ("paid", "valid", "refunded", "abnormal"):
        if draw(st.booleans()):
            cells = draw(st.lists(flag, min_size=size, max_size=size))
            data[name] = _flag_column(cells, "boolean")
    if draw(st.booleans()):
        data["refund_amount"] = pd.Series(draw(st.lists(number, min_size=size, max_size=size)))
    return pd.DataFrame(data)


@settings(max_examples=150, deadline=None)
@given(session_frames())
def test_session_measures_are_those_of_a_row_by_row_count_to_the_bit(frame: pd.DataFrame) -> None:
    _same_bits(kpi.aggregate(frame, "sessions"), reference_sessions(frame))


@settings(max_examples=100, deadline=None)
@given(order_frames())
def test_order_measures_are_those_of_a_row_by_row_count_to_the_bit(frame: pd.DataFrame) -> None:
    _same_bits(kpi.aggregate(frame, "orders"), reference_orders(frame))


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 64), st.integers(0, 7))
def test_counts_stay_exact_for_one_agent_with_many_rows(exponent_rows: int, flags: int) -> None:
    """One agent with many rows (a group count far above what a small packing would hold):
    every flag count is still exact."""
    rows = exponent_rows * 1000 + 3
    rng = np.random.default_rng(exponent_rows * 8 + flags)
    frame = pd.DataFrame({"agent": np.full(rows, "solo", dtype=object)})
    for name in SESSION_FLAGS[: flags % 6]:
        frame[name] = rng.random(rows) < 0.5
    frame["first_response_s"] = np.where(rng.random(rows) < 0.1, np.nan, rng.random(rows))
    got = kpi.aggregate(frame, "sessions")
    for name in SESSION_FLAGS[: flags % 6]:
        mask = frame[name].to_numpy()
        if name in ("resolved", "transferred") and "abandoned" in frame.columns:
            mask = mask & ~frame["abandoned"].to_numpy()
        assert got.loc["solo", name] == float(mask.sum())
    assert got.loc["solo", "first_response_n"] == float(frame["first_response_s"].notna().sum())


def test_a_hand_computed_session_file() -> None:
    frame = pd.DataFrame(
        {
            "agent": ["李明", "王芳", "李明", "李明", "王芳"],
            "abandoned": [False, True, False, True, False],
            "resolved": pd.array([True, True, None, True, False], dtype="boolean"),
            "first_response_s": [10.0, np.nan, 20.5, np.nan, 0.0],
            "handle_s": [300.0, 0.0, 240.0, 0.0, np.nan],
        }
    )
    got = kpi.aggregate(frame, "sessions")
    assert got.columns.tolist() == [
        "sessions",
        "inquiries",
        "abandoned",
        "resolved",
        "answered",
        "first_response_s_total",
        "first_response_n",
        "handle_s_total",
        "handle_n",
    ]
    assert got.index.tolist() == ["李明", "王芳"]
    assert got.loc["李明"].tolist() == [3.0, 3.0, 1.0, 1.0, 2.0, 30.5, 2.0, 540.0, 2.0]
    # 王芳: her abandoned session is neither resolved nor handled (its 00:00 is no time)
    assert got.loc["王芳"].tolist() == [2.0, 2.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0]


def test_agents_without_rows_have_zero_counts_and_no_time() -> None:
    frame = pd.DataFrame(
        {
            "agent": pd.Categorical(["b", "b"], categories=["a", "b", "c"]),
            "resolved": [True, False],
            "first_response_s": [4.0, 6.0],
        }
    )
    got = kpi.derive(kpi.aggregate(frame, "sessions"))
    assert got.index.tolist() == ["a", "b", "c"]
    assert got["sessions"].tolist() == [0.0, 2.0, 0.0]
    assert got["resolved"].tolist() == [0.0, 1.0, 0.0]
    assert got["first_response_n"].tolist() == [0.0, 2.0, 0.0]
    assert got["first_response_s"].iloc[1] == 5.0
    assert np.isnan(got["first_response_s"].iloc[[0, 2]]).all()  # no sessions: no value


def test_an_empty_file_aggregates_to_no_agent() -> None:
    frame = pd.DataFrame(
        {"agent": pd.Series([], dtype=object), "resolved": pd.Series([], dtype=bool)}
    )
    got = kpi.aggregate(frame, "sessions")
    assert len(got) == 0
    assert got.columns.tolist() == ["sessions", "inquiries", "resolved", "answered"]


def test_a_hand_computed_order_file() -> None:
    frame = pd.DataFrame(
        {
            "agent": ["x", "x", "y", "x"],
            "amount": [100.0, np.nan, 50.25, 20.0],
            "paid": [True, True, False, True],
            "refunded": [False, True, False, True],
        }
    )
    got = kpi.aggregate(frame, "orders")
    assert got.columns.tolist() == [
        "orders",
        "paid_orders",
        "paid_amount",
        "refunded_orders",
        "refund_amount",
    ]
    assert got.loc["x"].tolist() == [3.0, 3.0, 120.0, 2.0, 20.0]
    assert got.loc["y"].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]


# --- daily rows ---------------------------------------------------------------------------


def reference_combine(
    frame: pd.DataFrame, codes: np.ndarray, rules: dict[str, kpi.RowRule]
) -> pd.DataFrame:
    groups = sorted(set(codes.tolist()))
    out: dict[str, list[float]] = {c: [] for c in rules}
    for group in groups:
        rows = [i for i, c in enumerate(codes.tolist()) if c == group]
        for column, rule in rules.items():
            values = [float(frame[column].iloc[i]) for i in rows]
            if rule.how == "sum":
                present = [v for v in values if not _missing(v)]
                total = math.nan
                if present:
                    total = 0.0
                    for v in present:
                        total += v
                out[column].append(total)
            elif rule.how == "weighted":
                assert rule.weight is not None
                weights = [float(frame[rule.weight].iloc[i]) for i in rows]
                pairs = [(v, w) for v, w in zip(values, weights, strict=True)]
                pairs = [(v, w) for v, w in pairs if not (_missing(v) or _missing(w))]
                top = bottom = 0.0
                for v, w in pairs:
                    top += v * w
                    bottom += w
                out[column].append(top / bottom if pairs and bottom > 0 else math.nan)
    return pd.DataFrame(out, index=pd.Index(groups, name="group"), dtype="float64")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 5),
            number,
            st.one_of(st.just(math.nan), st.floats(0, 500, allow_nan=False)),
            st.one_of(st.just(math.nan), st.floats(0, 1, allow_nan=False)),
            number,
        ),
        min_size=1,
        max_size=50,
    )
)
def test_daily_rows_combine_as_a_row_by_row_sum_to_the_bit(
    rows: list[tuple[int, float, float, float, float]],
) -> None:
    codes = np.array([r[0] for r in rows], dtype=np.intp)
    frame = pd.DataFrame(
        {
            "answered": [r[2] for r in rows],
            "paid_amount": [r[1] for r in rows],
            "answer_30s_rate": [r[3] for r in rows],
            "first_response_s": [r[4] for r in rows],
        }
    )
    rules = {
        "answered": kpi.RowRule("sum"),
        "paid_amount": kpi.RowRule("sum"),
        "answer_30s_rate": kpi.RowRule("weighted", "answered"),
        "first_response_s": kpi.RowRule("weighted", "answered"),
    }
    _same_bits_combined(
        kpi.combine_rows(frame, codes, rules), reference_combine(frame, codes, rules)
    )


def _same_bits_combined(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert got.columns.tolist() == want.columns.tolist()
    assert got.index.tolist() == want.index.tolist()
    # a weighted value is a quotient of two row-order sums: equal to the bit as well
    assert _bits(got) == _bits(want)


def test_a_hand_computed_month_of_daily_rows() -> None:
    """Two agents over three days; one day without chats (no rate, "-"), one agent's only
    rate missing: counts summed, the rate weighted by 接待量."""
    codes = np.array([0, 1, 0, 1, 0, 1])
    frame = pd.DataFrame(
        {
            "answered": [100.0, 10.0, 0.0, 30.0, 50.0, np.nan],
            "answer_30s_rate": [0.9, np.nan, np.nan, np.nan, 0.6, 0.5],
        }
    )
    rules = {"answered": kpi.RowRule("sum"), "answer_30s_rate": kpi.RowRule("weighted", "answered")}
    got = kpi.combine_rows(frame, codes, rules)
    assert got["answered"].tolist() == [150.0, 40.0]
    assert got["answer_30s_rate"].iloc[0] == (0.9 * 100 + 0.6 * 50) / 150
    assert np.isnan(got["answer_30s_rate"].iloc[1])  # no day with both a rate and a weight


@pytest.mark.parametrize("agents", [1, 7, 20_000])
def test_many_agents_and_rows_count_as_numpy_counts(agents: int) -> None:
    """At the size of a real export: each count equals a plain numpy count per agent."""
    rng = np.random.default_rng(agents)
    rows = 50_000
    codes = rng.integers(0, agents, rows)
    frame = pd.DataFrame(
        {
            "agent": pd.Categorical.from_codes(codes, pd.RangeIndex(agents)),
            "abandoned": rng.random(rows) < 0.06,
            "resolved": rng.random(rows) < 0.8,
            "transferred": rng.random(rows) < 0.05,
            "converted": rng.random(rows) < 0.3,
            "lost": rng.random(rows) < 0.1,
            "first_response_s": np.where(rng.random(rows) < 0.07, np.nan, rng.random(rows)),
            "response_s": np.where(rng.random(rows) < 0.2, np.nan, rng.random(rows)),
            "wait_s": rng.random(rows),
            "handle_s": np.where(rng.random(rows) < 0.01, np.nan, rng.random(rows) * 600),
        }
    )
    got = kpi.aggregate(frame, "sessions")
    answered = ~frame["abandoned"].to_numpy()
    expected = {
        "sessions": np.bincount(codes, minlength=agents),
        "abandoned": np.bincount(codes[~answered], minlength=agents),
        "resolved": np.bincount(codes[frame["resolved"].to_numpy() & answered], minlength=agents),
        "transferred": np.bincount(
            codes[frame["transferred"].to_numpy() & answered], minlength=agents
        ),
        "converted": np.bincount(codes[frame["converted"].to_numpy()], minlength=agents),
        "lost": np.bincount(codes[frame["lost"].to_numpy()], minlength=agents),
        "first_response_n": np.bincount(
            codes[frame["first_response_s"].notna().to_numpy()], minlength=agents
        ),
        "response_n": np.bincount(codes[frame["response_s"].notna().to_numpy()], minlength=agents),
        "handle_n": np.bincount(
            codes[frame["handle_s"].notna().to_numpy() & answered], minlength=agents
        ),
    }
    for name, counts in expected.items():
        assert got[name].tolist() == counts.astype("float64").tolist(), name
