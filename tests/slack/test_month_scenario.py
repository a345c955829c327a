"""One month of kpibot played through Slack, with the real router, forms and storage.

Two teams from the conversation tests' world (``london`` in English, ``demo`` in
Chinese): eight agents fill their self-reviews in their DM with kpibot (one sends a
wrong answer first, one abandons midway and resumes the next day, one's answer is
delivered twice by Slack), a colleague rates another anonymously in a modal, the
managers review every agent in a modal (one submission
comes back with an error shown inline), ``/rank`` shows the order as text and a chart
uploaded with the files API, ``/mykpi`` explains a score in private, and a Slack user
kpibot does not know is told how to get added. Asserted on what the fake Slack received.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.slack.adapter import SlackAdapter
from commands import results
from commands.context import AppConfig
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from storage.models import Review
from tests.conversations.world import PERIOD, build_world
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import make_adapter, web_app
from tests.slack.people import Person, seen
from tests.slack.sender import SlackSender
from tests.telegram.world import publish_the_ranking

SLACK_IDS = {
    "Mary": "U0MARY",
    "Alice": "U0ALICE",
    "Bob": "U0BOB",
    "Carol": "U0CAROL",
    "Dave": "U0DAVE",
    "王经理": "U0WANG",
    "李娜": "U0LINA",
    "张伟": "U0ZHANGWEI",
    "刘洋": "U0LIUYANG",
    "陈静": "U0CHENJING",
}
LOCALES = {"Mary": "en-GB", "Alice": "en-US", "Bob": "en-US", "Carol": "en-US", "Dave": "en-US"}
LONDON, DEMO = "C0LONDON", "C0DEMO"
MARKS = {
    "Alice": "5",
    "Bob": "3",
    "Carol": "2",
    "Dave": "4",
    "李娜": "4",
    "张伟": "3",
    "刘洋": "2",
    "陈静": "3",
}
"""The ability score each agent gets from their manager (spreads the ranking)."""
SCALE = ["1 · far below expectations", "2 · below expectations", "3 · meets expectations",
         "4 · above expectations", "5 · outstanding"]  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


ALICE_STARTS = [
    (
        "post",
        "D0ALICE",
        "Self-review for 2026-10.\nPlease finish by 2026-11-06 18:00.\nYour KPI numbers for "
        "2026-10, for reference:\n· Refund ratio: 2%\n· Average response time: 20 s",
        [],
    ),
    (
        "post",
        "D0ALICE",
        "Question 1 of 4: Task completion: how do you rate yourself this period?\nHow much of this "
        "month's targets did you reach?\nSend a whole number from 1 to 5.",
        [*SCALE, "Cancel"],
    ),
]


REVIEW_INPUTS = ["ability", "ability_comment", "collaboration", "collaboration_comment", "service",
                 "service_comment", "comment"]  # fmt: skip


@pytest.fixture
def world(engine: Engine) -> dict[str, int]:
    ids = build_world(engine)
    with unit_of_work(engine) as session:
        for name, user_id in SLACK_IDS.items():
            member = repo.get_member(session=session, member_id=ids[name])
            assert member is not None
            repo.link_platform(
                session=session, member=member, platform="slack", user_id=user_id, actor="test"
            )
    return ids


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def month(
    fake_slack: FakeSlack, engine: Engine, world: dict[str, int], clock: Clock
) -> AsyncIterator[tuple[SlackAdapter, dict[str, Person]]]:
    for name, user_id in SLACK_IDS.items():
        fake_slack.add_user(
            user_id, name.lower(), real_name=name, locale=LOCALES.get(name, "zh-CN")
        )
    router = Router(engine, AppConfig(default_lang="en"), clock)
    adapter = make_adapter(fake_slack, router, engine=engine)
    transport = httpx.ASGITransport(app=web_app(adapter))
    async with httpx.AsyncClient(transport=transport, base_url="http://kpibot.test") as client:
        sender = SlackSender(client, fake_slack)
        yield (
            adapter,
            {name: Person(sender, fake_slack, adapter, uid) for name, uid in SLACK_IDS.items()},
        )
    await adapter.stop()


async def self_review(
    person: Person, *, task: str, attitude: str, well: str, improve: str, submit: str
) -> None:
    await person.press(task)
    await person.press(attitude)
    await person.say(well)
    await person.say(improve)
    await person.press(submit)


@pytest.mark.slow
async def test_a_month_through_slack(
    fake_slack: FakeSlack, month: tuple[SlackAdapter, dict[str, Person]], engine: Engine,
    world: dict[str, int], clock: Clock,
) -> None:  # fmt: skip
    adapter, people = month
    alice, bob, carol, dave = (people[n] for n in ("Alice", "Bob", "Carol", "Dave"))

    # Alice, in the team channel, starts her self-review: it continues in her DM with kpibot
    calls = await alice.command("/selfreview", channel=LONDON)
    assert fake_slack.response_posts(alice.last.response_url) == [], "nothing in the channel"
    assert seen(calls) == ALICE_STARTS
    calls = await alice.press(SCALE[3])
    assert seen(calls) == [
        (
            "replace",  # through the press's response_url: what was chosen, the next question
            ["→ 4 · above expectations"],
            "Question 2 of 4: Attitude: how do you rate yourself this period?\nSend a whole number "
            "from 1 to 5.",
            [*SCALE, "Back", "Cancel"],
        ),
    ]
    await alice.press(SCALE[4])
    assert alice.screen()[-1].startswith("Question 3 of 4: What went well this period?")
    # Slack delivers her answer, then retries it (X-Slack-Retry-Num): one answer, one next question
    first = await alice.say("Fewer refunds", event_id="Ev0ALICE3")
    again = await alice.say("Fewer refunds", event_id="Ev0ALICE3", retry_num=1)
    assert seen(again) == []
    assert seen(first) == [
        (
            "post",
            alice.dm,
            "Question 4 of 4: What do you want to improve next period?\nWrite your answer in at "
            "most 500 characters.",
            ["Back", "Cancel"],
        ),
        # the buttons of question 3 taken off, after; her first two answers stay above it
        ("update", alice.dm, ["→ 4 · above expectations", "→ 5 · outstanding"], []),
    ]
    calls = await alice.say("Faster first answers")
    assert seen(calls)[0] == (
        "post",
        alice.dm,
        "Summary of your self-review:\n1. Task completion: 4 · above expectations\n2. Attitude: 5 "
        "· outstanding\n3. What went well: Fewer refunds\n4. What to improve: Faster first "
        "answers\nSubmit, or change an answer first.",
        ["Submit", "Change 1", "Change 2", "Change 3", "Change 4", "Cancel"],
    )
    calls = await alice.press("Submit")
    assert seen(calls) == [
        (
            "replace",
            ["→ Submit"],
            "Thank you, your self-review is submitted. You can change it with /selfreview until "
            "the deadline.",
            [],
        ),
    ]
    assert alice.live_buttons() == 0, "no old question can be answered by accident"

    # Bob sends a wrong answer first: the hint and the same question, nothing lost
    await bob.command("/selfreview")
    await bob.say("7")
    assert (
        "Send a whole number from 1 to 5." in bob.screen()[-1]
        and "Question 1 of 4" in bob.screen()[-1]
    )
    await self_review(
        bob,
        task="3 · meets expectations",
        attitude="3 · meets expectations",
        well="Calm",
        improve="Speed",
        submit="Submit",
    )

    await carol.command("/selfreview")
    await self_review(
        carol,
        task=SCALE[1],
        attitude=SCALE[2],
        well="Learned the refunds tool",
        improve="Accuracy",
        submit="Submit",
    )

    # Dave answers two questions, leaves, and continues the next day where he stopped
    await dave.command("/selfreview")
    await dave.press(SCALE[3])
    await dave.press(SCALE[3])
    clock.now += timedelta(days=1)
    calls = await dave.command("/selfreview")
    assert seen(calls) == [
        (
            "post",
            dave.dm,
            "You have an unfinished self-review. Continue from question 3?",
            ["Continue", "Start over", "Cancel"],
        ),
        # yesterday's question 3 loses its buttons; his two answers stay above it
        ("update", dave.dm, ["→ 4 · above expectations"] * 2, []),
    ]
    await dave.press("Continue")
    assert dave.screen()[-1].startswith("Question 3 of 4")
    await dave.say("Upsold accessories")
    await dave.say("Fewer typos")
    await dave.press("Submit")

    # the Chinese team, in Chinese, from their team channel
    for name in ("李娜", "张伟", "刘洋", "陈静"):
        person = people[name]
        await person.command("/selfreview", channel=DEMO)
        assert "第 1/4 题：工作任务完成情况" in person.screen()[1]
        await self_review(
            person, task="4", attitude="3", well="耐心", improve="速度", submit="提交"
        )
        assert "自评已提交" in person.screen()[-1]

    with unit_of_work(engine) as session:
        submitted = Review.submitted_at.is_not(None)  # type: ignore[union-attr]
        selfs = session.exec(select(Review).where(Review.kind == "self", submitted)).all()
        assert len(selfs) == 8

    # Bob rates Alice anonymously: he picks her from a list, the form is a modal
    await bob.command("/peer", channel=LONDON)
    await bob.press("Alice")
    assert bob.screen()[-1].startswith("Whom do you want to rate? Your answers are anonymous.")
    assert bob.modal()["title"]["text"].startswith("Peer rating of Alice")
    assert [b["block_id"] for b in bob.modal()["blocks"] if b["type"] == "input"] == [
        "collaboration",
        "service",
    ]
    calls = await bob.submit({"collaboration": "4", "service": "5"})
    assert bob.last.ack == {} and seen(calls)[-1][3][0] == "Submit"
    await bob.press("Submit")
    with unit_of_work(engine) as session:
        [peer] = session.exec(select(Review).where(Review.kind == "peer")).all()
        assert (peer.subject_id, peer.answers) == (
            world["Alice"],
            {"collaboration": 4, "service": 5},
        )
    assert not any("Bob" in text for text in alice.screen()), "Alice is not told who rated her"

    # Mary reviews Alice in a modal: the KPI breakdown and self-review on top, one input per
    # question
    mary, wang = people["Mary"], people["王经理"]
    calls = await mary.command("/review", "<@U0ALICE|alice>", channel=LONDON)
    assert seen(calls) == [("modal", "Review of Alice for 202…", REVIEW_INPUTS)]
    view = mary.modal()
    head = view["blocks"][0]["text"]["text"]
    assert head.startswith("Review of Alice for 2026-10.\nKPI breakdown of Alice for 2026-10:")
    assert "· What went well: Fewer refunds" in head
    assert mary.screen() == [], "the form is the modal; the DM stays quiet"

    # a 5 needs a reason: Slack shows the error under that input, the modal stays open
    wrong = await mary.submit({"ability": "5", "collaboration": "3", "service": "3"})
    assert wrong == [] and mary.last.ack["response_action"] == "errors"
    assert list(mary.last.ack["errors"]) == ["ability_comment"]
    calls = await mary.submit(
        {
            "ability": "5",
            "ability_comment": "Best refund numbers",
            "collaboration": "3",
            "service": "3",
        }
    )
    assert mary.last.ack == {}, "the modal closes"
    [(kind, where, summary, buttons)] = seen(calls)
    assert (kind, where) == ("post", mary.dm)
    assert (
        summary.startswith("Summary of your manager review:")
        and "Resulting total for Alice:" in summary
    )
    assert buttons[0] == "Submit"
    await mary.press("Submit")
    assert "the review is submitted" in mary.screen()[-1]

    for name in ("Bob", "Carol", "Dave"):
        await mary.command("/review", f"<@{SLACK_IDS[name]}|{name.lower()}>")
        await mary.submit({"ability": MARKS[name], "collaboration": "3", "service": "3"})
        await mary.press("Submit")
        assert "the review is submitted" in mary.screen()[-1]

    # 王经理 picks each agent from a list; the modal opens from the button press
    for name in ("李娜", "张伟", "刘洋", "陈静"):
        await wang.command("/review", channel=DEMO)
        await wang.press(name)
        modal = wang.modal()
        assert (modal["title"]["text"], modal["submit"]["text"]) == (
            f"{name}的 2026-10 评价。",
            "下一步",
        )
        assert modal["blocks"][0]["text"]["text"].startswith(
            f"{name}的 2026-10 评价。\n{name}在 2026-10 的 KPI 明细："
        )
        await wang.submit({"ability": MARKS[name], "collaboration": "3", "service": "3"})
        await wang.press("提交")
    with unit_of_work(engine) as session:
        reviews = session.exec(select(Review).where(Review.kind == "manager")).all()
        assert {r.subject_id: r.answers["ability"] for r in reviews} == {
            world[n]: int(m) for n, m in MARKS.items()
        }

    # /rank in the team channel while the scheme does not publish the ranking: Mary alone
    # gets it, in her DM; the channel sees nothing
    calls = await mary.command("/rank", channel=LONDON)
    assert fake_slack.response_posts(mary.last.response_url) == []
    [(kind, where, ranking, _buttons), chart] = seen(calls)
    assert (kind, where) == ("post", mary.dm) and chart[:2] == ("file", mary.dm)
    assert listed(ranking) == computed_order(engine, "london")
    assert not [f for f in fake_slack.files.values() if f.channel == LONDON]

    # once the scheme publishes it: the ranking as text, the chart uploaded into the channel
    publish_the_ranking(engine, "london", "demo")
    calls = await mary.command("/rank", channel=LONDON)
    [(kind, visibility, ranking, _buttons), chart] = seen(calls)
    assert (kind, visibility) == ("respond", "in_channel")
    assert chart[:2] == ("file", LONDON)
    [png] = [f for f in fake_slack.files.values() if f.channel == LONDON]
    assert png.data is not None and png.data.startswith(b"\x89PNG") and png.completed
    assert listed(ranking) == computed_order(engine, "london")

    # 王经理 asks in a channel kpibot was never invited to: the chart comes to his DM instead
    fake_slack.refuse_channel(DEMO)
    calls = await wang.command("/rank", channel=DEMO)
    [(kind, visibility, ranking, _buttons), *_rest] = seen(calls)
    assert listed(ranking) == computed_order(engine, "demo") and ranking.startswith("demo 2026-10")
    assert [f.channel for f in fake_slack.files.values() if f.completed][-1] == wang.dm

    # /mykpi (Slack keeps /me for itself) from the channel: the receipt is private, in the DM
    calls = await alice.command("/mykpi", channel=LONDON)
    assert fake_slack.response_posts(alice.last.response_url) == []
    assert [s[:2] for s in seen(calls)] == [("post", alice.dm)]
    assert alice.screen()[-1].startswith("Your result for 2026-10")

    # someone kpibot does not know: told, in their Slack language, how to get added; nothing else
    fake_slack.add_user("U0NEWBIE", "newbie", locale="zh-CN")
    stranger = Person(alice.slack, fake_slack, adapter, "U0NEWBIE")
    calls = await stranger.command("/rank", "london", channel=LONDON)
    [(kind, visibility, text, _buttons)] = seen(calls)
    assert (kind, visibility) == ("respond", "ephemeral")
    assert "U0NEWBIE" in text and "kpibot member add" in text and "我" in text

    # the only refusals Slack gave all month: the channel kpibot is not in
    refused = [(c.method, c.response.get("error")) for c in fake_slack.calls_to(ok=False)]
    assert refused == [("files.completeUploadExternal", "not_in_channel")]


def listed(ranking: str) -> list[str]:
    return [
        line.split(". ", 1)[1].split()[0]
        for line in ranking.splitlines()
        if line[:1].isdigit() and ". " in line
    ]


def computed_order(engine: Engine, team_name: str) -> list[str]:
    """The order the shared scoring module gives, read straight from the results service."""
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name=team_name)
        assert team is not None
        period = repo.get_period(session=session, team=team, key=PERIOD)
        assert period is not None
        outcome = results.compute(team, period, session=session)
        assert outcome is not None
        return [s.name for s in sorted(outcome.scored, key=lambda s: s.rank or 0)]
