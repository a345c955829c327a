"""One month of kpibot played through Telegram, with the real router, forms and storage.

Two teams (``london`` in English, ``demo`` in Chinese, from the conversation tests'
world): eight agents fill their self-reviews on Telegram (one starts in the team group,
one sends a wrong answer first, one abandons midway and resumes the next day), the
managers review every agent, ``/rank`` shows the order as a text and a chart photo,
``/me`` explains a score. Asserted on what the fake Telegram received and shows.
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
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram.chat import TelegramChat, seen

TELEGRAM_IDS = {
    "Mary": 100, "Alice": 101, "Bob": 102, "Carol": 103, "Dave": 104,
    "王经理": 200, "李娜": 201, "张伟": 202, "刘洋": 203, "陈静": 204,
}  # fmt: skip
LONDON_GROUP, DEMO_GROUP = -3001, -3002
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
"""The ability score each agent gets from their manager (spreads the ranking)."""


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world(engine: Engine) -> dict[str, int]:
    ids = build_world(engine)
    with unit_of_work(engine) as session:
        for name, telegram_id in TELEGRAM_IDS.items():
            member = repo.get_member(session=session, member_id=ids[name])
            assert member is not None
            repo.link_platform(
                session=session,
                member=member,
                platform="telegram",
                user_id=telegram_id,
                actor="test",
            )
    return ids


def chats(tg: FakeTelegram, adapter: object) -> dict[str, TelegramChat]:
    langs = {"Mary": "en", "Alice": "en", "Bob": "en-GB", "Carol": "en", "Dave": "en"}
    return {
        name: TelegramChat(
            tg, adapter, tg.user(uid, name, language_code=langs.get(name, "zh-hans"))
        )
        for name, uid in TELEGRAM_IDS.items()
    }


ALICE_SEES = [
    (
        "send",
        101,
        "Self-review for 2026-10.\nPlease finish by 2026-11-06 18:00.\nYour KPI numbers for "
        "2026-10, for reference:\n· Refund ratio: 2%\n· Average response time: 20 s",
        [],
    ),
    (
        "send",
        101,
        "Question 1 of 4: Task completion: how do you rate yourself this period?\nHow much of this "
        "month's targets did you reach?\nSend a whole number from 1 to 5.",
        [
            ["1 · far below expectations"],
            ["2 · below expectations"],
            ["3 · meets expectations"],
            ["4 · above expectations"],
            ["5 · outstanding"],
            ["Cancel"],
        ],
    ),
]


async def self_review(
    person: TelegramChat, *, task: str, attitude: str, well: str, improve: str, submit: str
) -> None:
    await person.press(task)
    await person.press(attitude)
    await person.say(well)
    await person.say(improve)
    await person.press(submit)


async def manager_review(
    manager: TelegramChat, agent: str, ability: str, submit: str, skip: str
) -> None:
    await manager.say(f"/review @{agent}")
    await manager.press(ability)
    await manager.press("3")  # collaboration
    await manager.press("3")  # service
    await manager.press(skip)  # the optional comment
    await manager.press(submit)


@pytest.mark.slow
@pytest.mark.parametrize(
    "webhook", [pytest.param(False, id="polling"), pytest.param(True, id="webhook")]
)
async def test_a_month_through_telegram(
    telegram_api: FakeTelegram, start_adapter, engine: Engine, world: dict[str, int], webhook: bool
) -> None:
    clock = Clock()
    router = Router(engine, AppConfig(default_lang="en"), clock, modules=MODULES)
    # people here answer faster than any human: per-chat pacing (tested on its own) would only add
    # waiting
    adapter = await start_adapter(router, engine=engine, webhook=webhook, private_burst=0)
    telegram_api.relax(
        "per_chat"
    )  # ... and Telegram's "about 1 a second" in a private chat is lifted too
    people = chats(telegram_api, adapter)
    london = telegram_api.group(LONDON_GROUP, "London support")
    telegram_api.group(DEMO_GROUP, "demo 客服组")
    alice, bob, carol, dave = (people[n] for n in ("Alice", "Bob", "Carol", "Dave"))

    # Alice: exactly what Telegram receives for a whole self-review
    assert seen(await alice.say("/selfreview")) == ALICE_SEES
    question = telegram_api.sent(101)[1].response["result"]["message_id"]
    calls = await alice.press("4 · above expectations")
    assert seen(calls) == [
        ("answer",),  # the press first: answerCallbackQuery before any reply
        (
            "edit",
            101,
            "Question 2 of 4: Attitude: how do you rate yourself this period?\nSend a whole number "
            "from 1 to 5.",
            [
                ["1 · far below expectations"],
                ["2 · below expectations"],
                ["3 · meets expectations"],
                ["4 · above expectations"],
                ["5 · outstanding"],
                ["Back", "Cancel"],
            ],
        ),
    ]
    assert calls[1].params["message_id"] == question
    assert seen(await alice.press("5 · outstanding")) == [
        ("answer",),
        (
            "edit",
            101,
            "Question 3 of 4: What went well this period?\nOne or two sentences are enough.\nWrite "
            "your answer in at most 500 characters.",
            [["Back", "Cancel"]],
        ),
    ]
    assert seen(await alice.say("Fewer refunds")) == [
        (
            "send",
            101,
            "Question 4 of 4: What do you want to improve next period?\nWrite your answer in at "
            "most 500 characters.",
            [["Back", "Cancel"]],
        ),
        ("strip", 101),
    ]
    calls = await alice.say("Faster first answers")
    assert seen(calls) == [
        (
            "send",
            101,
            "Summary of your self-review:\n1. Task completion: 4 · above expectations\n2. "
            "Attitude: 5 · outstanding\n3. What went well: Fewer refunds\n4. What to improve: "
            "Faster first answers\nSubmit, or change an answer first.",
            [["Submit", "Change 1", "Change 2"], ["Change 3", "Change 4", "Cancel"]],
        ),
        ("strip", 101),
    ]
    assert seen(await alice.press("Submit")) == [
        ("answer",),
        ("strip", 101),
        (
            "send",
            101,
            "Thank you, your self-review is submitted. You can change it with /selfreview until "
            "the deadline.",
            [],
        ),
    ]
    assert len(alice.screen()) == 5 and alice.live_keyboards() == 0  # no flood, no stale buttons

    # Bob sends a wrong answer first: the hint and the same question, nothing lost
    await bob.say("/selfreview")
    calls = await bob.say("7")
    assert "Send a whole number from 1 to 5." in calls[0].params["text"]
    assert "Question 1 of 4" in calls[0].params["text"]
    await self_review(bob, task="3", attitude="3", well="Calm", improve="Speed", submit="Submit")

    # Carol starts in the team group: the form moves to her private chat, the group stays quiet
    await carol.say("/selfreview", chat=london)
    assert telegram_api.sent(LONDON_GROUP) == []
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
        "send",
        104,
        "You have an unfinished self-review. Continue from question 3?",
        [["Continue", "Start over", "Cancel"]],
    )
    calls = await dave.press("Continue")
    assert [s[0] for s in seen(calls)] == [
        "answer",
        "strip",
        "send",
        "send",
    ]  # intro, then question 3
    assert "Question 3 of 4" in calls[-1].params["text"]
    await dave.say("Upsold accessories")
    await dave.say("Fewer typos")
    await dave.press("Submit")

    # the Chinese team, in Chinese, by buttons
    for name in ("李娜", "张伟", "刘洋", "陈静"):
        person = people[name]
        calls = await person.say("/selfreview")
        assert "第 1/4 题：工作任务完成情况" in calls[1].params["text"]
        await self_review(
            person, task="4", attitude="3", well="耐心", improve="速度", submit="提交"
        )
        assert "自评已提交" in person.screen()[-1]

    with unit_of_work(engine) as session:
        selfs = session.exec(
            select(Review).where(Review.kind == "self", Review.submitted_at != None)  # noqa: E711
        ).all()
        assert len(selfs) == 8

    # the managers review every agent
    mary, wang = people["Mary"], people["王经理"]
    for name in ("Alice", "Bob", "Carol", "Dave"):
        await manager_review(mary, name, MARKS[name], "Submit", "Skip")
        assert "the review is submitted" in mary.screen()[-1]
    for name in ("李娜", "张伟", "刘洋", "陈静"):
        await manager_review(wang, name, MARKS[name], "提交", "跳过")
    with unit_of_work(engine) as session:
        reviews = session.exec(select(Review).where(Review.kind == "manager")).all()
        assert {r.subject_id: r.answers["ability"] for r in reviews} == {
            world[n]: int(m) for n, m in MARKS.items()
        }

    # /rank: the order the scoring module computes, as text and as a chart photo
    for manager, team_name in ((mary, "london"), (wang, "demo")):
        calls = await manager.say("/rank")
        kinds = seen(calls)
        assert [k[0] for k in kinds] == ["send", "photo"]
        assert calls[1].files["photo"].data.startswith(b"\x89PNG")
        listed = [line.split(". ", 1)[1].split()[0] for line in calls[0].params["text"].splitlines()
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
    calls = await alice.say("/me", chat=london)
    assert [s[:2] for s in seen(calls)] == [("send", 101)]
    assert calls[0].params["text"].startswith("Your result for 2026-10")
    assert telegram_api.sent(LONDON_GROUP) == []
    answered = telegram_api.calls_to("answerCallbackQuery")
    presses = [u for u in telegram_api.delivered if "callback_query" in u]
    assert len(answered) == len(presses) > 50 and all(c.ok for c in answered)
