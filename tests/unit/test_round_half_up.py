"""Totals rounded half up at the scheme's precision, vectorised (issue 20), exactly as before.

The rule (``scoring.total.round_half_up``): the value *as written* — its shortest repr, so 74.95
shows 75.0 although the float 74.95 is a hair below 74.95 — rounded half up (halves away from
zero) with ``Decimal``. ``tests/data/scoring/round_half_up_golden.json.gz`` holds what main's
one-``Decimal``-per-value code gave on 2026-12-04 (2a923c6) for 11,000 values at precisions 0–4:
every x.xx5 half below 100 and many above, its neighbouring floats, negatives, 0 and -0, tiny
and large values up to 10¹⁶, random totals and weighted sums.
"""

from __future__ import annotations

import gzip
import json
import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scoring.total import round_half_up

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "scoring" / "round_half_up_golden.json.gz"


def _as_written(v: float, precision: int) -> float:
    """The rule as it was written before it was vectorised: one Decimal per value."""
    if not math.isfinite(v):
        return math.nan
    quantum = Decimal(1).scaleb(-precision)
    return float(Decimal(repr(v)).quantize(quantum, rounding=ROUND_HALF_UP))


def _same(a: float, b: float) -> bool:
    """Equal to the bit (the sign of a zero included), NaN equal to NaN."""
    return (math.isnan(a) and math.isnan(b)) or a.hex() == b.hex()


@pytest.mark.parametrize("precision", range(5))
def test_every_golden_value_rounds_to_the_bit_as_before(precision: int) -> None:
    golden = json.loads(gzip.decompress(GOLDEN.read_bytes()))
    values = np.array([float(v) for v in golden["inputs"]])
    got = round_half_up(values, precision).tolist()
    want = [float(v) for v in golden[str(precision)]]
    wrong = [
        (v, g, w) for v, g, w in zip(values.tolist(), got, want, strict=True) if not _same(g, w)
    ]
    assert not wrong, wrong[:10]


def test_nan_and_infinities_give_nan_and_halves_go_away_from_zero() -> None:
    got = round_half_up(np.array([np.nan, np.inf, -np.inf, 2.675, -2.675, 74.95, -0.04]), 2)
    assert np.isnan(got[:3]).all()
    assert got[3:6].tolist() == [2.68, -2.68, 74.95]
    assert math.copysign(1.0, got[6]) == -1.0  # -0.04 shows -0.0, as Decimal("-0.0") does
    assert len(round_half_up(np.array([]), 1)) == 0


def _near_half(precision: int, k: int, ulps: int) -> float:
    """The float ``ulps`` steps away from the float nearest (k + ½)·10⁻ᵖ."""
    v = (2 * k + 1) / (2 * 10**precision)
    step = math.inf if ulps > 0 else -math.inf
    for _ in range(abs(ulps)):
        v = math.nextafter(v, step)
    return v


floats = st.floats(min_value=-1e17, max_value=1e17, allow_nan=False)
halves = st.builds(
    _near_half,
    st.integers(0, 4),
    st.integers(0, 10**12) | st.integers(0, 2_000_000),
    st.integers(-3, 3),
)
signed = st.tuples(halves, st.sampled_from([1.0, -1.0])).map(lambda t: t[0] * t[1])


@settings(max_examples=600, deadline=None)
@given(st.lists(floats | signed, min_size=1, max_size=40), st.integers(0, 4))
@example([2.675, 1.005, 0.125, 74.95, 1e15 + 0.5, 4503599627370.4995, -0.0], 2)
def test_the_vectorised_rounding_is_the_decimal_rule_on_the_value_as_written(
    values: list[float], precision: int
) -> None:
    got = round_half_up(np.array(values), precision).tolist()
    for v, g in zip(values, got, strict=True):
        assert _same(g, _as_written(v, precision)), (v, precision, g)


@settings(max_examples=400, deadline=None)
@given(signed | floats.filter(lambda v: abs(v) < 1e12), st.integers(0, 4))
@example(2.675, 2)
@example(1.005, 2)
@example(74.95, 1)
def test_it_differs_from_the_floats_exact_value_only_at_a_half_as_written(
    v: float, precision: int
) -> None:
    """Rounding the float's exact binary value instead would show 2.67 for 2.675 (the float is
    2.67499999999999982236431605997495353221893310546875): the rule rounds what was written.
    The two differ only where the value as written is exactly a half."""
    quantum = Decimal(1).scaleb(-precision)
    got = float(round_half_up(np.array([v]), precision)[0])
    exact = float(Decimal(v).quantize(quantum, rounding=ROUND_HALF_UP))
    written = Decimal(repr(v))
    at_half = (abs(written) / quantum) % 1 == Decimal("0.5")
    assert got == exact or (at_half and abs(Decimal(v)) < abs(written)), (v, got, exact)
