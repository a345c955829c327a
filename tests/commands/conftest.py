"""Two teams (``demo`` in Chinese, ``london`` in English) from the conversation tests' world,
plus a quality inspector; the router and its clock (at ``REVIEW_WINDOW_NOW``) are the root
conftest's."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from storage import repo
from storage.db import unit_of_work
from tests.conftest import WORLD_NOW
from tests.conversations.world import build_world

REVIEW_WINDOW_NOW = WORLD_NOW


@pytest.fixture
def world(engine: Engine) -> dict[str, int]:
    ids = build_world(engine)
    with unit_of_work(engine) as session:
        demo = repo.get_team_by_name(session=session, name="demo")
        assert demo is not None
        qa = repo.add_member(session=session, team=demo, name="小赵", role="qa")
        ids["小赵"] = qa.id or 0
    return ids


def review_everyone(
    engine: Engine,
    team_name: str,
    *,
    self_scores: dict[str, int],
    manager_scores: dict[str, int],
    key: str = "2026-10",
) -> None:
    """Store submitted self and manager reviews directly (the forms are tested elsewhere)."""
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name=team_name)
        assert team is not None
        period = repo.get_or_create_period(session=session, team=team, key=key)
        manager = next(
            m for m in repo.list_members(session=session, team=team) if m.role == "manager"
        )
        for name, score in self_scores.items():
            agent = repo.get_member_by_name(session=session, team=team, name=name)
            assert agent is not None
            repo.save_review(
                session=session,
                period=period,
                subject=agent,
                rater=agent,
                kind="self",
                answers={"attitude": score, "task_completion": score},
                actor="test",
                reason=None,
                submitted_at=REVIEW_WINDOW_NOW,
            )
            m = manager_scores[name]
            repo.save_review(
                session=session,
                period=period,
                subject=agent,
                rater=manager,
                kind="manager",
                answers={"ability": m, "collaboration": m, "service": m},
                actor="test",
                reason=None,
                submitted_at=REVIEW_WINDOW_NOW,
            )
