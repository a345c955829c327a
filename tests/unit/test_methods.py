"""The six scoring methods, with the seed's examples and their properties."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.methods import Band, Deduction, Descriptive, EitherOr, Gate, Level, Ratio, Tiered

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = json.loads((ROOT / "tests/data/scoring/methods_golden.json").read_text(encoding="utf-8"))

HIRING = Tiered(
    (
        Band(15, upper=25, upper_inclusive=True),
        Band(10, lower=25, upper=30, upper_inclusive=True),
        Band(0, lower=30),
    )
)


def build(spec: dict) -> object:
    kind = spec["method"]
    if kind == "tiered":
        return Tiered(tuple(Band(**b) for b in spec["bands"]))
    if kind == "deduction":
        return Deduction(spec["per_event"], spec.get("allowance", 0.0))
    if kind == "ratio":
        return Ratio(spec["target"])
    if kind == "either_or":
        return EitherOr(spec["target"])
    if kind == "descriptive":
        return Descriptive(
            tuple(Level(lv["id"], lv["id"], lv["id"], lv["points"]) for lv in spec["levels"])
        )
    return Gate(spec["target"], spec["voids"])


def pts(method, values, full, better):
    return method.score(np.asarray(values, dtype=float), full, better).points


@pytest.mark.parametrize("case", GOLDEN, ids=lambda c: c["name"])
def test_golden_cases_give_the_expected_points(case) -> None:
    method = build(case["spec"])
    got = pts(method, case["values"], case["full"], case["better"])
    expected = [np.nan if e is None else e for e in case["points"]]
    np.testing.assert_allclose(got, expected, equal_nan=True)


@pytest.mark.parametrize(
    ("days", "points"), [(20, 15), (25, 15), (25.01, 10), (27, 10), (30, 10), (31, 0)]
)
def test_hiring_cycle_is_15_within_25_days_10_up_to_30_and_0_after(days, points) -> None:
    assert pts(HIRING, [days], 15, "lower")[0] == points


def test_tiered_detail_names_the_band() -> None:
    scored = HIRING.score(np.array([27.0]), 15, "lower")
    assert HIRING.detail(27.0, scored.code[0]) == {
        "band": 2,
        "range": "(25, 30]",
        "band_points": 10,
    }


def test_missing_values_are_not_scored_as_zero_by_any_method() -> None:
    methods = [
        HIRING,
        Deduction(5),
        Ratio(10),
        EitherOr(1),
        Gate(1, "team"),
        Descriptive((Level("a", "a", "a", 0), Level("b", "b", "b", 5))),
    ]
    for method in methods:
        scored = method.score(
            np.array([np.nan]), 5, "lower" if isinstance(method, Deduction) else "higher"
        )
        assert not scored.valid[0]
        assert np.isnan(scored.points[0])


def test_deduction_of_5_per_complaint_from_15_reaches_the_floor_at_3() -> None:
    assert list(pts(Deduction(5), [0, 1, 2, 3, 4, 10], 15, "lower")) == [15, 10, 5, 0, 0, 0]


def test_deduction_allowance_forgives_the_first_events() -> None:
    assert list(pts(Deduction(2, allowance=1), [0, 1, 2, 3], 10, "lower")) == [10, 10, 8, 6]


def test_a_negative_or_fractional_count_is_invalid() -> None:
    assert not Deduction(5).score(np.array([-1.0, 1.5]), 15, "lower").valid.any()


@given(per_event=st.floats(0.01, 50), events=st.integers(0, 10_000), full=st.floats(0, 100))
def test_deduction_never_drops_below_zero(per_event: float, events: int, full: float) -> None:
    got = pts(Deduction(per_event), [events], full, "lower")[0]
    assert 0 <= got <= full


@given(
    target=st.floats(0.01, 1e6),
    actual=st.floats(0, 1e7),
    full=st.floats(0, 100),
    better=st.sampled_from(["higher", "lower"]),
)
def test_ratio_is_capped_at_full_points(
    target: float, actual: float, full: float, better: str
) -> None:
    got = pts(Ratio(target), [actual], full, better)[0]
    assert 0 <= got <= full + 1e-9


def test_ratio_is_actual_over_target_when_higher_is_better_and_the_inverse_when_lower() -> None:
    assert pts(Ratio(200), [100, 200, 400], 10, "higher").tolist() == [5, 10, 10]
    assert pts(Ratio(120), [240, 120, 60, 0], 10, "lower").tolist() == [5, 10, 10, 10]


def test_either_or_is_all_or_nothing_at_the_target() -> None:
    assert pts(EitherOr(0.95), [0.94, 0.95, 0.99], 5, "higher").tolist() == [0, 5, 5]
    assert pts(EitherOr(0.02), [0.01, 0.02, 0.03], 5, "lower").tolist() == [5, 5, 0]


def test_descriptive_maps_the_chosen_level_number_to_its_points() -> None:
    method = Descriptive(
        tuple(Level(i, i, i, p) for i, p in [("none", 0), ("some", 5), ("adopted", 10)])
    )
    scored = method.score(np.array([1.0, 2.0, 3.0, 4.0, 0.0]), 10, "higher")
    assert scored.points[:3].tolist() == [0, 5, 10]
    assert not scored.valid[3:].any()
    assert method.detail(3.0, scored.code[2])["level"] == "adopted"


def test_a_gate_reports_met_or_missed() -> None:
    gate = Gate(0.05, "team")
    scored = gate.score(np.array([0.04, 0.06]), 0, "lower")
    assert [gate.detail(v, c)["met"] for v, c in zip([0.04, 0.06], scored.code, strict=True)] == [
        True,
        False,
    ]


@given(a=st.floats(0, 100), b=st.floats(0, 100), better=st.sampled_from(["higher", "lower"]))
def test_every_method_is_monotone_in_the_better_direction(a: float, b: float, better: str) -> None:
    good, bad = (max(a, b), min(a, b)) if better == "higher" else (min(a, b), max(a, b))
    bands = (
        Band(0, upper=20),
        Band(4, lower=20, lower_inclusive=True, upper=60),
        Band(9, lower=60, lower_inclusive=True),
    )
    rising = Tiered(bands)
    falling = Tiered(
        tuple(
            Band(
                9 - band.points, band.lower, band.lower_inclusive, band.upper, band.upper_inclusive
            )
            for band in bands
        )
    )
    methods = [rising if better == "higher" else falling, Ratio(50), EitherOr(50)]
    if better == "lower":
        good, bad = float(int(good)), float(int(bad))
        methods.append(Deduction(3))
    for method in methods:
        p_good, p_bad = pts(method, [good, bad], 9, better)
        assert p_good >= p_bad, method
