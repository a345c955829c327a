"""A rating given through the survey page changes /me and /rank exactly as the scheme says."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from commands.context import AppConfig
from commands.messages import Incoming, Reply
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from storage.models import Member, Period
from tests.conftest import Clock
from tests.survey.conftest import SECRET, World, scheme_text, use_scheme
from tests.survey.pagekit import rate

SELF_ANSWER = 3  # stored 1–5; the scoring module reads it as (3 − 1) / 4 × 100 = 50
SELF_POINTS = (SELF_ANSWER - 1) / 4 * 100


@pytest.fixture
def router(world: World, clock: Clock) -> Router:
    use_scheme(
        world.engine,
        world.team_id,
        scheme_text(csat="share_4_5", min_responses=3, below_min="exclude", customer_weight=50),
    )
    with unit_of_work(world.engine) as session:
        period = session.get(Period, world.period_id)
        assert period is not None
        for agent_id in (world.agent_id, world.other_agent_id):
            agent = session.get(Member, agent_id)
            assert agent is not None
            agent.lang = "en"
            repo.save_review(
                session=session,
                period=period,
                subject=agent,
                rater=agent,
                kind="self",
                answers={"task_completion": SELF_ANSWER},
                actor="test",
                reason=None,
                submitted_at=world.now,
            )
        manager = session.get(Member, world.manager_id)
        assert manager is not None
        manager.lang = "en"
    config = AppConfig(public_url="http://testserver", secret=SECRET, default_lang="en")
    return Router(world.engine, config, clock)


def say(router: Router, who: int, text: str) -> str:
    replies: list[Reply] = router.handle(Incoming(platform="test", user_id=str(who), text=text))
    return "\n".join(r.text for r in replies)


def customer_line(text: str) -> str:
    [line] = [ln for ln in text.splitlines() if "Customer ratings" in ln]
    return line


def rank_total(text: str, name: str) -> float:
    [line] = [ln for ln in text.splitlines() if name in ln]
    numbers = re.findall(r"\d+\.\d", line)
    return float(numbers[0])


def test_ratings_through_the_page_move_me_and_rank_as_the_scheme_says(
    router: Router, client: TestClient, world: World
) -> None:
    before = say(router, world.agent_id, "/me 2026-10")
    assert "not enough ratings" in customer_line(before)
    assert "0 customer survey ratings" in customer_line(before)
    assert f"Total {SELF_POINTS:.1f} of 100" in before  # customers left out, self rescaled to 100 %

    # Two ratings: still below the scheme's minimum of three, so still left out.
    for stars in ("5", "4"):
        assert rate(client, world.token(), stars=stars).status_code == 200
    assert "not enough ratings" in customer_line(say(router, world.agent_id, "/me 2026-10"))

    # The third reaches the minimum: share of 4–5 = 2/3; the other agent gets 1/3.
    assert rate(client, world.token(), stars="2").status_code == 200
    for stars in ("1", "2", "5"):
        rate(client, world.token(member_id=world.other_agent_id), stars=stars)
    me = say(router, world.agent_id, "/me 2026-10")
    share = 100 * 2 / 3
    assert f"{share:.1f}".rstrip("0").rstrip(".") in customer_line(me)
    assert "3 customer survey ratings" in customer_line(me)

    ranking = say(router, world.manager_id, "/rank demo 2026-10")
    expected_mine = 0.5 * SELF_POINTS + 0.5 * share
    expected_other = 0.5 * SELF_POINTS + 0.5 * (100 / 3)
    assert rank_total(ranking, "王小红") == pytest.approx(expected_mine, abs=0.05)
    assert rank_total(ranking, "李明") == pytest.approx(expected_other, abs=0.05)
    assert ranking.index("王小红") < ranking.index("李明")


def test_a_replaced_rating_changes_the_score_without_counting_twice(
    router: Router, client: TestClient, world: World
) -> None:
    tokens = [world.token() for _ in range(3)]
    for token in tokens:
        rate(client, token, stars="5")
    assert "100 × 50%" in customer_line(say(router, world.agent_id, "/me 2026-10"))
    rate(client, tokens[0], stars="1")  # the same customer changes their mind
    line = customer_line(say(router, world.agent_id, "/me 2026-10"))
    assert "3 customer survey ratings" in line
    assert "66.7" in line
