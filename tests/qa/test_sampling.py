"""Sampling: reproducible from its seed, stratified per agent and day/week, never the same session
twice."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from commands.qa.sampling import draw, draw_period, reproduce, stratum_of, wanted
from scoring.scheme import Sampling
from storage import qa as store
from storage import repo
from storage.db import unit_of_work
from tests.qa.conftest import PERIOD, SESSIONS, build_qa_world


def frame(spec: dict[int, dict[str, int]]) -> pd.DataFrame:
    """``{member: {day: sessions}}`` → candidate rows with consecutive session ids."""
    rows, next_id = [], 1
    for member, days in spec.items():
        for day, count in days.items():
            for _ in range(count):
                rows.append((next_id, member, date.fromisoformat(day)))
                next_id += 1
    return pd.DataFrame(rows, columns=["session_id", "member_id", "day"])


BIG = frame({1: {"2026-10-05": 30, "2026-10-06": 25}, 2: {"2026-10-05": 40}, 3: {"2026-10-07": 2}})


def test_the_same_seed_draws_the_same_sessions_and_another_seed_others() -> None:
    rule = Sampling(per="day", count=3)
    first, again, other = draw(BIG, rule, 7), draw(BIG, rule, 7), draw(BIG, rule, 8)
    assert first.samples.equals(again.samples)
    assert first.digest == again.digest
    assert set(first.samples["session_id"]) != set(other.samples["session_id"])


def test_the_order_of_the_candidates_does_not_change_the_draw() -> None:
    rule = Sampling(per="day", count=3)
    shuffled = BIG.sample(frac=1.0, random_state=1)
    assert draw(shuffled, rule, 7).digest == draw(BIG, rule, 7).digest


def test_each_agent_gets_the_daily_count_and_one_with_too_few_gets_all_there_is_marked() -> None:
    result = draw(BIG, Sampling(per="day", count=3), 11)
    per_stratum = Counter(zip(result.samples["member_id"], result.samples["stratum"], strict=True))
    assert per_stratum == {
        (1, "2026-10-05"): 3,
        (1, "2026-10-06"): 3,
        (2, "2026-10-05"): 3,
        (3, "2026-10-07"): 2,
    }
    assert result.short == ({"member_id": 3, "stratum": "2026-10-07", "available": 2, "wanted": 3},)
    marked = result.samples[result.samples["short"]]
    assert set(marked["member_id"]) == {3} and len(marked) == 2


def test_a_share_draws_at_least_one_per_agent_and_week() -> None:
    result = draw(BIG, Sampling(per="week", share=0.1), 3)
    per_stratum = Counter(zip(result.samples["member_id"], result.samples["stratum"], strict=True))
    # week 2026-W41: agent 1 has 55 sessions → 6; agent 2 has 40 → 4; agent 3 has 2 → 1
    assert per_stratum == {(1, "2026-W41"): 6, (2, "2026-W41"): 4, (3, "2026-W41"): 1}
    assert result.short == ()


def test_strata_are_days_iso_weeks_or_the_period() -> None:
    assert stratum_of(date(2026, 10, 5), "day") == "2026-10-05"
    assert stratum_of(date(2026, 1, 1), "week") == "2026-W01"
    assert stratum_of(date(2026, 12, 31), "week") == "2026-W53"
    assert stratum_of(date(2026, 10, 5), "period") == "period"
    assert wanted(Sampling(share=0.05), 1) == 1 and wanted(Sampling(share=0.05), 41) == 3


DAYS = st.dates(min_value=date(2026, 10, 1), max_value=date(2026, 10, 31))


@settings(max_examples=60, deadline=None)
@given(
    sessions=st.lists(st.tuples(st.integers(1, 4), DAYS), min_size=0, max_size=60),
    count=st.integers(1, 4),
    per=st.sampled_from(["day", "week", "period"]),
    seed=st.integers(0, 2**63 - 1),
)
def test_any_draw_takes_min_of_wanted_and_available_per_stratum_without_repeats(
    sessions: list[tuple[int, date]], count: int, per: str, seed: int
) -> None:
    candidates = pd.DataFrame(
        [(i + 1, m, d) for i, (m, d) in enumerate(sessions)],
        columns=["session_id", "member_id", "day"],
    )
    rule = Sampling(per=per, count=count)  # type: ignore[arg-type]
    result = draw(candidates, rule, seed)
    ids = list(result.samples["session_id"])
    assert len(ids) == len(set(ids)) and set(ids) <= set(candidates["session_id"])
    available = Counter((m, stratum_of(d, per)) for m, d in sessions)
    got = Counter(zip(result.samples["member_id"], result.samples["stratum"], strict=True))
    assert got == {k: min(count, n) for k, n in available.items()}
    assert {(s["member_id"], s["stratum"]) for s in result.short} == {
        k for k, n in available.items() if n < count
    }
    assert draw(candidates, rule, seed).digest == result.digest


# -- stored draws ------------------------------------------------------------------------------


def _draw(engine: Engine, seed: int | None = None) -> int:
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="call")
        assert team is not None
        period = repo.get_period(session=session, team=team, key=PERIOD)
        assert period is not None
        row = draw_period(
            session,
            team=team,
            period=period,
            rule=Sampling(per="day", count=1),
            actor="test",
            seed=seed,
        )
        assert row.id is not None
        return row.id


def test_a_stored_draw_records_its_seed_and_rule_and_reproduces_after_later_draws(
    engine: Engine, world: dict[str, int]
) -> None:
    first = _draw(engine, seed=2026)
    second = _draw(engine)  # a fresh random seed
    with unit_of_work(engine) as session:
        one = store.get_draw(session=session, draw_id=first)
        two = store.get_draw(session=session, draw_id=second)
        assert one is not None and two is not None
        assert one.seed == "2026" and one.rule == {"per": "day", "count": 1, "share": None}
        assert two.seed.isdigit() and two.seed != "2026"
        assert reproduce(session, one).digest == one.digest
        assert reproduce(session, two).digest == two.digest
        assert sorted(reproduce(session, one).samples["session_id"]) == sorted(
            s.session_id for s in store.list_samples(session=session, draw=one)
        )


def test_a_second_draw_never_takes_a_session_the_first_took(
    engine: Engine, world: dict[str, int]
) -> None:
    first, second = _draw(engine, seed=1), _draw(engine, seed=1)
    with unit_of_work(engine) as session:
        one, two = (store.get_draw(session=session, draw_id=i) for i in (first, second))
        assert one is not None and two is not None
        a = {s.session_id for s in store.list_samples(session=session, draw=one)}
        b = {s.session_id for s in store.list_samples(session=session, draw=two)}
    assert a and b and not a & b
    # one per person and day each time: days with one session are used up by the first draw
    total = sum(len(days) for days in SESSIONS.values())
    assert len(a) == total


def test_a_draw_is_stratified_per_agent_and_local_day_and_marks_nobody_with_enough_sessions(
    engine: Engine, world: dict[str, int]
) -> None:
    draw_id = _draw(engine, seed=5)
    with unit_of_work(engine) as session:
        row = store.get_draw(session=session, draw_id=draw_id)
        assert row is not None
        samples = store.list_samples(session=session, draw=row)
        strata = Counter((s.member_id, s.stratum) for s in samples)
    expected = {(world[name], day): 1 for name, days in SESSIONS.items() for day in days}
    assert strata == expected
    assert row.short == []


def test_sessions_keep_their_local_day_in_the_teams_time_zone(
    engine: Engine, world: dict[str, int]
) -> None:
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="call")
        assert team is not None
        period = repo.get_period(session=session, team=team, key=PERIOD)
        assert period is not None
        first = store.list_sessions(session=session, period=period, member_id=world["Alice"])[0]
        # 2026-10-05 09:00 in Asia/Shanghai is 01:00 UTC the same day
        assert first.day == date(2026, 10, 5)
        assert first.started_at.utcoffset() == timedelta(0) and first.started_at.hour == 1


@pytest.mark.parametrize("per", ["day", "week"])
def test_the_same_seed_on_the_same_sessions_gives_the_same_draw_in_a_fresh_database(
    engine: Engine, world: dict[str, int], per: str
) -> None:
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="call")
        assert team is not None
        period = repo.get_period(session=session, team=team, key=PERIOD)
        assert period is not None
        from commands.qa.sampling import candidates_of

        candidates = candidates_of(session, period)
    assert (
        draw(candidates, Sampling(per=per, count=2), 99).digest
        == draw(candidates.iloc[::-1].reset_index(drop=True), Sampling(per=per, count=2), 99).digest
    )  # type: ignore[arg-type]


def test_two_reviewers_can_never_both_claim_one_sample_on_either_database(
    db_engine: Engine,
) -> None:
    from sqlalchemy.exc import IntegrityError

    world = build_qa_world(db_engine)
    with unit_of_work(db_engine) as session:
        team = repo.get_team_by_name(session=session, name="call")
        period = repo.get_period(session=session, team=team, key=PERIOD) if team else None
        assert team is not None and period is not None
        draw_period(
            session,
            team=team,
            period=period,
            rule=Sampling(per="week", count=2),
            actor="test",
            seed=4,
        )
    with unit_of_work(db_engine) as session:
        queue = store.unclaimed_samples(
            session=session, team_ids=[team.id or 0], exclude_member=world["Quinn"]
        )
        assert queue and all(s.member_id != world["Quinn"] for s in queue)
        quinn = repo.get_member(session=session, member_id=world["Quinn"])
        assert quinn is not None
        store.assign_review(
            session=session, sample=queue[0], reviewer=quinn, kind="regular", actor="test"
        )
        first = queue[0].id
    with pytest.raises(IntegrityError), unit_of_work(db_engine) as session:
        sample = store.get_sample(session=session, sample_id=first or 0)
        quentin = repo.get_member(session=session, member_id=world["Quentin"])
        assert sample is not None and quentin is not None
        store.assign_review(
            session=session, sample=sample, reviewer=quentin, kind="regular", actor="test"
        )
    with unit_of_work(db_engine) as session:
        left = store.unclaimed_samples(
            session=session, team_ids=[team.id or 0], exclude_member=world["Quentin"]
        )
        assert first not in {s.id for s in left} and len(left) == len(queue) - 1
        draw_row = store.list_draws(session=session, period=period)[0]
        assert reproduce(session, draw_row).digest == draw_row.digest
