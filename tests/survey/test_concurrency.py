"""Ratings racing on one link, on SQLite and PostgreSQL: one row, never two."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from bot.survey_page import Submission, _store
from commands.survey_tokens import SurveyClaims
from tests.survey.conftest import seed_team
from tests.survey.pagekit import rating_rows

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("policy", ["replace", "refuse"])
def test_simultaneous_ratings_from_one_link_store_one_row(db_engine: Engine, policy: str) -> None:
    world = seed_team(db_engine)
    claims = SurveyClaims(
        "race-1", world.agent_id, world.team_id, world.period_id, world.now + timedelta(days=1)
    )
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def rate(stars: int) -> None:
        start.wait()
        outcomes.append(_store(db_engine, claims, Submission(stars, None, None), world.now, policy))  # type: ignore[arg-type]

    threads = [threading.Thread(target=rate, args=(1 + i % 5,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    rows = rating_rows(db_engine)
    assert len(rows) == 1
    assert sorted(outcomes).count("stored") == 1
    other = "replaced" if policy == "replace" else "refused"
    assert sorted(outcomes) == sorted(["stored"] + [other] * 7)
