"""Properties of the pure parts: meeting slots, the outlier rule, cell escaping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from commands.calibration import LENIENT, STRICT, rater_stats
from commands.export import DANGEROUS, safe
from commands.feedback import propose_slots
from commands.people import TeamClock
from commands.plain import printable

ZONES = st.sampled_from(
    ["Asia/Shanghai", "Europe/London", "America/New_York", "UTC", "Australia/Sydney"]
)
MOMENTS = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=150, deadline=None)
@given(after=MOMENTS, tz=ZONES, count=st.integers(1, 5), busy_n=st.integers(0, 4))
def test_proposed_slots_are_distinct_later_working_hours_and_never_busy(
    after: datetime, tz: str, count: int, busy_n: int
) -> None:
    busy = propose_slots(after, tz, count=busy_n) if busy_n else []
    slots = propose_slots(after, tz, count=count, busy=busy)
    assert len(slots) == count == len(set(slots))
    assert all(s > after and TeamClock.of(tz).in_working_hours(s) for s in slots)
    assert not set(slots) & set(busy)
    assert all(
        s.astimezone(ZoneInfo(tz)).date() > after.astimezone(ZoneInfo(tz)).date() for s in slots
    )
    assert max(slots) - after < timedelta(days=3 * count + 7)


# Review totals at a hundredth of a point, as kpibot produces them; arbitrary floats such as
# 1e-247 make "100 - score" round back to 100 and the mirror stops being a mirror.
SCORES = st.lists(st.integers(0, 10_000).map(lambda n: n / 100), min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    raters=st.dictionaries(st.integers(1, 6), SCORES, min_size=2, max_size=5), k=st.floats(0.5, 4)
)
def test_mirroring_every_score_swaps_lenient_and_strict(
    raters: dict[int, list[float]], k: float
) -> None:
    names = {r: f"m{r}" for r in raters}
    mirrored = {r: [100 - s for s in ss] for r, ss in raters.items()}
    before = {s.rater_id: s.flag for s in rater_stats(raters, names, k=k, min_reviews=1)}
    after = {s.rater_id: s.flag for s in rater_stats(mirrored, names, k=k, min_reviews=1)}
    swap = {LENIENT: STRICT, STRICT: LENIENT, None: None}
    assert after == {r: swap[f] for r, f in before.items()}


@given(
    raters=st.dictionaries(st.integers(1, 6), SCORES, min_size=2, max_size=5), k=st.floats(0.5, 4)
)
def test_a_manager_below_the_minimum_count_is_never_flagged(
    raters: dict[int, list[float]], k: float
) -> None:
    stats = rater_stats(raters, {}, k=k, min_reviews=13)
    assert all(s.flag is None for s in stats)


@given(st.text(max_size=30))
def test_an_escaped_cell_never_starts_like_a_formula_and_keeps_its_text(text: str) -> None:
    cell = safe(text)
    assert not cell.startswith(DANGEROUS)
    kept = printable(text)  # control characters never reach a spreadsheet (issue 21 item 9)
    assert cell in (kept, "'" + kept)
