"""One month of kpibot played through Feishu, with the real router, forms and storage.

Two teams from the conversation tests' world (``london`` in English, ``demo`` in Chinese):
the agents fill their self-reviews on cards updated in place (one starts in the team group,
one sends a wrong answer first, one types an answer into the card's input, one leaves
midway and continues the next day), the managers review every agent on one card form each
(one submission comes back with its error shown on the same card), ``/rank`` shows the
order as a card with the chart uploaded, ``/me`` explains a score in private. Asserted on
what the fake Feishu received and shows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from commands import results
from commands.context import AppConfig
from commands.registry import MODULES
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from storage.models import Review
from tests.conversations.world import PERIOD, build_world
from tests.fakes.feishu_api import FakeFeishu
from tests.feishu.chat import FeishuChat, seen
from tests.feishu.world import link

NAMES = ["Mary", "Alice", "Bob", "Carol", "Dave", "王经理", "李娜", "张伟", "刘洋", "陈静"]
MARKS = {
    "Alice": "4",
    "Bob": "3",
    "Carol": "2",
    "Dave": "4",
    "李娜": "4",
    "张伟": "3",
    "刘洋": "2",
    "陈静": "3",
}
SCALE = ["1 · far below expectations", "2 · below expectations", "3 · meets expectations",
         "4 · above expectations", "5 · outstanding"]  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def self_review(
    person: FeishuChat, *, task: str, attitude: str, well: str, improve: str, submit: str
) -> None:
    await person.press(task)
    await person.press(attitude)
    await person.say(well)
    await person.say(improve)
    await person.press(submit)


async def manager_review(
    manager: FeishuChat, agent: str, ability: str, submit: str, nxt: str
) -> None:
    await manager.say(f"/review @{agent}")
    await manager.submit(nxt, ability=ability, collaboration="3", service="3")
    await manager.press(submit)


@pytest.mark.slow
async def test_a_month_through_feishu(feishu: FakeFeishu, start_adapter, engine: Engine) -> None:
    clock = Clock()
    ids = build_world(engine)
    users = {name: feishu.user(name) for name in NAMES}
    router = Router(engine, AppConfig(default_lang="en"), clock, modules=MODULES)
    front = link(engine, router, ids, {n: u.open_id for n, u in users.items()})
    adapter = await start_adapter(front, lang_of=front.lang_of, default_lang="zh")
    feishu.relax()  # people here answer faster than any human; pacing is tested on its own
    people = {n: FeishuChat(feishu, adapter, u) for n, u in users.items()}
    london = feishu.group("London support")
    alice, bob, carol, dave = (people[n] for n in ("Alice", "Bob", "Carol", "Dave"))

    # Alice: exactly what Feishu receives for a whole self-review
    calls = await alice.say("/selfreview")
    assert seen(calls) == [
        (
            "card",
            "Self-review for 2026-10.\nPlease finish by 2026-11-06 18:00.\nYour KPI numbers for "
            "2026-10, for reference:\n· Refund ratio: 2%\n· Average response time: 20 s",
            [],
        ),
        (
            "card",
            "Question 1 of 4: Task completion: how do you rate yourself this period?\nHow much of "
            "this month's targets did you reach?\nSend a whole number from 1 to 5.",
            [*SCALE, "Cancel"],
        ),
    ]
    question = alice.card_message()
    calls = await alice.press("4 · above expectations")
    assert seen(calls) == [
        (
            "patch",
            "Question 2 of 4: Attitude: how do you rate yourself this period?\nSend a whole number "
            "from 1 to 5.",
            [*SCALE, "Back", "Cancel"],
        ),
    ]
    assert calls[0].path.endswith(question)  # the same card, updated in place
    await alice.press("5 · outstanding")
    calls = await alice.submit("Send", answer="Fewer refunds")  # typed into the card
    assert seen(calls)[0][0] == "patch" and "Question 4 of 4" in seen(calls)[0][1]
    calls = await alice.say("Faster first answers")  # or typed as a message
    assert seen(calls) == [
        (
            "card",
            "Summary of your self-review:\n1. Task completion: 4 · above expectations\n2. "
            "Attitude: 5 · outstanding\n3. What went well: Fewer refunds\n4. What to improve: "
            "Faster first answers\nSubmit, or change an answer first.",
            ["Submit", "Change 1", "Change 2", "Change 3", "Change 4", "Cancel"],
        ),
        (
            "patch",
            "Question 4 of 4: What do you want to improve next period?\nWrite your answer in at "
            "most 500 characters.",
            [],
        ),
    ]
    calls = await alice.press("Submit")
    assert seen(calls) == [
        (
            "patch",
            "Summary of your self-review:\n1. Task completion: 4 · above expectations\n2. "
            "Attitude: 5 · outstanding\n3. What went well: Fewer refunds\n4. What to improve: "
            "Faster first answers\nSubmit, or change an answer first.",
            [],
        ),
        (
            "card",
            "Thank you, your self-review is submitted. You can change it with /selfreview until "
            "the deadline.",
            [],
        ),
    ]
    assert alice.live_cards() == 0  # nothing left to press on an old card

    # Bob sends a wrong answer first: the hint and the same question, nothing lost
    await bob.say("/selfreview")
    calls = await bob.say("7")
    assert (
        "Send a whole number from 1 to 5." in seen(calls)[-1][1]
        and "Question 1 of 4" in seen(calls)[-1][1]
    )
    await self_review(bob, task="3", attitude="3", well="Calm", improve="Speed", submit="Submit")

    # Carol starts in the team group: the form goes to her private chat, the group stays quiet
    await carol.say("/selfreview", chat_id=london)
    assert feishu.screen(london) == []
    assert "Question 1 of 4" in carol.screen()[-1]
    await self_review(
        carol,
        task="2",
        attitude="3",
        well="Learned the refunds tool",
        improve="Accuracy",
        submit="Submit",
    )

    # Dave answers two questions, leaves, and continues the next day where he stopped
    await dave.say("/selfreview")
    await dave.press("4")
    await dave.press("4")
    clock.now += timedelta(days=1)
    calls = await dave.say("/selfreview")
    assert seen(calls)[0] == (
        "card",
        "You have an unfinished self-review. Continue from question 3?",
        ["Continue", "Start over", "Cancel"],
    )
    await dave.press("Continue")
    assert "Question 3 of 4" in dave.screen()[-1]
    await dave.say("Upsold accessories")
    await dave.say("Fewer typos")
    await dave.press("Submit")

    # the Chinese team, in Chinese, by buttons; the cards' own words in Chinese too
    for name in ("李娜", "张伟", "刘洋", "陈静"):
        person = people[name]
        calls = await person.say("/selfreview")
        assert "第 1/4 题：工作任务完成情况" in seen(calls)[1][1]
        await person.press("4")
        await person.press("3")
        card = feishu.bot_cards(person.user.p2p_chat)[-1]
        assert "发送" in str(card)  # the typed answer's button
        await person.say("耐心")
        await person.say("速度")
        await person.press("提交")
        assert "自评已提交" in person.screen()[-1]

    with unit_of_work(engine) as session:
        selfs = session.exec(
            select(Review).where(Review.kind == "self", Review.submitted_at != None)  # noqa: E711
        ).all()
        assert len(selfs) == 8

    # the managers review every agent, each on one card form; one submission needs another look
    mary, wang = people["Mary"], people["王经理"]
    await mary.say("/review @Alice")
    calls = await mary.submit("Next", ability="1", collaboration="3", service="3")
    assert (
        seen(calls)[0][0] == "patch" and "⚠" in seen(calls)[0][1]
    )  # a 1 needs a comment, on the same card
    await mary.submit("Next", ability=MARKS["Alice"])
    await mary.press("Submit")
    assert "the review is submitted" in mary.screen()[-1]
    for name in ("Bob", "Carol", "Dave"):
        await manager_review(mary, name, MARKS[name], "Submit", "Next")
        assert "the review is submitted" in mary.screen()[-1]
    for name in ("李娜", "张伟", "刘洋", "陈静"):
        await manager_review(wang, name, MARKS[name], "提交", "下一步")
    with unit_of_work(engine) as session:
        reviews = session.exec(select(Review).where(Review.kind == "manager")).all()
        assert {r.subject_id: r.answers["ability"] for r in reviews} == {
            ids[n]: int(m) for n, m in MARKS.items()
        }

    # /rank: the order the scoring module computes, as a card with the chart uploaded
    for manager, team_name in ((mary, "london"), (wang, "demo")):
        calls = await manager.say("/rank")
        kinds = seen(calls)
        assert [k[0] for k in kinds] == ["card", "image", "card"] and "[image]" in kinds[2][1]
        listed = [line.split(". ", 1)[1].split()[0] for line in kinds[0][1].splitlines()
                  if line[:1].isdigit() and ". " in line]  # fmt: skip
        with unit_of_work(engine) as session:
            team = repo.get_team_by_name(session=session, name=team_name)
            assert team is not None
            period = repo.get_period(session=session, team=team, key=PERIOD)
            assert period is not None
            computed = results.compute(team, period, session=session)
            assert computed is not None
            expected = [s.name for s in sorted(computed.scored, key=lambda s: s.rank or 0)]
        assert listed == expected and len(listed) == 4

    # /me from the group: the receipt goes to the private chat only
    calls = await alice.say("/me", chat_id=london)
    assert [k[0] for k in seen(calls)] == ["card"]
    assert alice.screen()[-1].startswith("Your result for 2026-10")
    assert feishu.screen(london) == []
    presses = [d for d in feishu.deliveries if d.event_type == "card.action.trigger"]
    assert len(presses) > 40 and all(d.in_time for d in presses)
