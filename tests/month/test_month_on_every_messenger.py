"""The month, once, on every messenger (issue 19): the london team of the conversation tests'
world on a scheme with consequences (reward, penalty, improvement plans, appeals) fills its
self-reviews, Mary reviews every agent, the admin publishes, the results reach each agent's
private chat through the outbox and the adapter, Carol takes a feedback meeting and
acknowledges its goal, Dave appeals his KPI table and Mary upholds it. The same steps and
the same expectations on each platform; only how a manager fills the review form differs
(:mod:`tests.month.platforms`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from commands.context import AppConfig
from commands.router import Router
from storage import consequences as store
from storage import repo
from storage.db import unit_of_work
from tests.consequences.test_consequences import APPLY, _use_scheme
from tests.conversations.world import SCHEME_TEXT, build_world
from tests.month.platforms import PLATFORMS, Played

pytestmark = pytest.mark.slow

SCALE = ["1 · far below expectations", "2 · below expectations", "3 · meets expectations",
         "4 · above expectations", "5 · outstanding"]  # fmt: skip
AGENTS = {"Alice": ("5", "4"), "Bob": ("4", "3"), "Carol": ("3", "3"), "Dave": ("4", "3")}
"""Each agent's self-review scores (task, attitude)."""
MARKS = {"Alice": "4", "Bob": "3", "Carol": "2", "Dave": "3"}
"""The ability score Mary gives each."""
NAMES = ["Mary", *AGENTS, "周人事"]
IN_WINDOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
AFTER_CLOSE = datetime(2026, 11, 6, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = IN_WINDOW

    def __call__(self) -> datetime:
        return self.now


def last(person: object, needle: str) -> str:
    """The newest message in their private chat that contains ``needle``."""
    screen = person.screen()  # type: ignore[attr-defined]
    found = [text for text in screen if needle in text]
    assert found, f"{needle!r} not in {screen[-5:]}"
    return found[-1]


async def play(month: Played, engine: Engine, clock: Clock, ids: dict[str, int]) -> None:
    people = month.people
    mary, carol, dave, alice = people["Mary"], people["Carol"], people["Dave"], people["Alice"]

    # self-review: two scores by button, two answers typed, submitted
    for name, (task, attitude) in AGENTS.items():
        agent = people[name]
        await agent.say("/selfreview")
        await agent.press(SCALE[int(task) - 1])
        await agent.press(SCALE[int(attitude) - 1])
        await agent.say("Fewer refunds")
        await agent.say("Faster first answers")
        await agent.press("Submit")
        assert "your self-review is submitted" in agent.screen()[-1], (name, agent.screen()[-3:])

    # manager review of every agent
    for name, ability in MARKS.items():
        await month.review(mary, name, ability)
        assert "the review is submitted" in mary.screen()[-1], (name, mary.screen()[-3:])

    # publish, after the review window
    clock.now = AFTER_CLOSE
    await people["周人事"].say("/runstep publish london 2026-10")
    assert "london 2026-10" in people["周人事"].screen()[-1]
    await month.deliver()

    # results: each agent has theirs in their private chat, rank and total as scored
    ranks = {
        name: last(people[name], "Your result for 2026-10 (Mini shop scheme)") for name in AGENTS
    }
    assert "rank 1 of 4" in ranks["Alice"] and "rank 4 of 4" in ranks["Carol"]
    assert "reward ¥100.00" in ranks["Alice"]

    # feedback meeting: Carol takes the second time offered, Mary records notes and a goal,
    # Carol acknowledges
    # the invitation and the result reach Carol in either order (the outbox sends them
    # together), so look for the invitation itself, not the newest mention of a meeting
    assert last(carol, "Mary would like a feedback meeting with you")
    await carol.press("11-10 16:00")
    assert last(carol, "The feedback meeting is set for") == (
        "The feedback meeting is set for 2026-11-10 16:00."
    )
    await mary.say("/feedback notes Carol agreed: quick replies at the evening peak")
    await mary.say("/feedback goal Carol avg_response_s=45 2026-11-30 answer within 45 seconds")
    assert "It is Carol's personal target for 2026-11." in last(mary, "Goal for Carol saved")
    await carol.say("/feedback")
    assert "answer within 45 seconds (Average response time 45 s by 2026-11-30)" in last(
        carol, "Your goals:"
    )
    await carol.press("Acknowledge")
    assert carol.screen()[-1] == "Thank you, the result is acknowledged."

    # appeal: Dave appeals his KPI table, Mary upholds it with the corrected value
    await dave.say("/appeal kpi my response time was 29 s; the export counted a night shift")
    filed = last(dave, "Your appeal #")
    appeal_id = int(filed.split("#")[1].split()[0])
    await month.deliver()
    await mary.say(f"/appeal uphold {appeal_id} avg_response_s=29 the shift log confirms it")
    assert f"Appeal #{appeal_id} is upheld" in mary.screen()[-1]
    await month.deliver()
    with unit_of_work(engine) as session:
        appeal = store.get_appeal(session=session, appeal_id=appeal_id)
        assert appeal is not None and appeal.status == "upheld"
        dave_member = repo.get_member(session=session, member_id=ids["Dave"])
        assert dave_member is not None and appeal.member_id == dave_member.id
    assert any(f"#{appeal_id}" in text for text in dave.screen()[-3:]), dave.screen()[-3:]

    await alice.say("/me")
    assert alice.screen()[-1].startswith("Your result for 2026-10")


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
async def test_a_month_on_every_messenger(engine: Engine, platform: str) -> None:
    ids = build_world(engine)
    _use_scheme(engine, SCHEME_TEXT + APPLY)
    clock = Clock()
    router = Router(engine, AppConfig(default_lang="en"), clock, platforms={platform, "test"})
    async with PLATFORMS[platform](engine, router, ids, NAMES) as month:
        await play(month, engine, clock, ids)
