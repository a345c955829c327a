"""With the real router and storage: linking by one-time code, replays, a blocked bot, strangers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from commands import linking, permissions, registry
from commands.context import AppConfig
from commands.i18n import translator
from commands.messages import Outgoing, Reply
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from storage.models import LinkCode, Member
from tests.fakes.telegram_api import FakeTelegram, texts
from tests.waiting import CEILING_S

ADMIN_TG, MANAGER_TG, AGENT_TG = 9001, 9002, 9003


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def team(db_engine: Engine) -> dict[str, int]:
    with unit_of_work(db_engine) as session:
        demo = repo.create_team(session=session, name="demo", lang="zh")
        admin = repo.add_member(
            session=session,
            team=demo,
            name="HR",
            role="admin",
            telegram_user_id=ADMIN_TG,
            lang="en",
        )
        boss = repo.add_member(
            session=session, team=demo, name="王经理", role="manager", telegram_user_id=MANAGER_TG
        )
        agent = repo.add_member(
            session=session,
            team=demo,
            name="李娜",
            role="agent",
            manager=boss,
            telegram_user_id=AGENT_TG,
        )
        newbie = repo.add_member(
            session=session, team=demo, name="张伟", role="agent", manager=boss
        )
        return {"admin": admin.id, "boss": boss.id, "agent": agent.id, "newbie": newbie.id}  # type: ignore[dict-item]


@pytest.fixture
def router(db_engine: Engine, clock: Clock, team: dict[str, int]) -> Router:
    return Router(db_engine, AppConfig(default_lang="en"), clock, modules=[linking])


def member(db_engine: Engine, member_id: int) -> Member:
    with unit_of_work(db_engine) as session:
        row = session.get(Member, member_id)
        assert row is not None
        session.expunge(row)
        return row


async def make_code(tg: FakeTelegram, adapter, who: dict) -> str:
    before = adapter.handled
    await tg.send_text(who, "/linkcode demo 张伟")
    await adapter.wait_handled(before + 1, timeout=CEILING_S)
    text = tg.sent(who["id"])[-1].params["text"]
    return text.split(": ", 1)[1].split("\n", 1)[0]


async def test_a_member_links_their_account_with_the_code_an_admin_gave_once(
    telegram_api: FakeTelegram,
    start_adapter,
    router: Router,
    db_engine: Engine,
    team: dict[str, int],
) -> None:
    adapter = await start_adapter(router, engine=db_engine)
    admin = telegram_api.user(ADMIN_TG, "HR")
    code = await make_code(telegram_api, adapter, admin)
    assert len(code) == 8
    assert telegram_api.sent(ADMIN_TG)[-1].params["text"] == (
        f"Link code for 张伟 (demo): {code}\nIt works once, for 72 hours. Ask them to send /start "
        f"{code} to the kpibot Telegram bot in a private chat."
    )

    newbie = telegram_api.user(9100, "Zhang", language_code="zh-hans")
    await telegram_api.send_text(newbie, "/start WRONGCOD")
    await telegram_api.send_text(newbie, f"/start {code.lower()}")
    await adapter.wait_handled(3, timeout=CEILING_S)
    assert texts(telegram_api.sent(9100)) == [
        "绑定码无效。请检查后重试，或向 kpibot 管理员索取新的绑定码。",
        "你的 Telegram 账号已绑定到团队 demo 的张伟。发送 /help 查看你可以做什么。",
    ]
    assert member(db_engine, team["newbie"]).telegram_user_id == "9100"

    # the same code again, from someone else: refused, and the link stays as it was
    other = telegram_api.user(9101, "Eve", language_code="en")
    await telegram_api.send_text(other, f"/start {code}")
    await adapter.wait_handled(4, timeout=CEILING_S)
    assert texts(telegram_api.sent(9101)) == [
        "This link code was already used. Ask your kpibot admin for a new one."
    ]
    assert member(db_engine, team["newbie"]).telegram_user_id == "9100"
    with unit_of_work(db_engine) as session:
        trail = repo.audit_trail(session=session, entity="member", entity_id=team["newbie"])
        assert [e.action for e in trail] == ["member.link_code", "member.link_telegram"]


async def test_an_expired_code_is_refused(
    telegram_api: FakeTelegram, start_adapter, router: Router, db_engine: Engine, clock: Clock
) -> None:
    adapter = await start_adapter(router, engine=db_engine)
    code = await make_code(telegram_api, adapter, telegram_api.user(ADMIN_TG, "HR"))
    clock.now += timedelta(hours=73)
    await telegram_api.send_text(telegram_api.user(9102, "Late"), f"/start {code}")
    await adapter.wait_handled(2, timeout=CEILING_S)
    assert texts(telegram_api.sent(9102)) == [
        "This link code has expired. Ask your kpibot admin for a new one."
    ]


async def test_only_an_admin_can_create_a_link_code(
    telegram_api: FakeTelegram, start_adapter, router: Router, db_engine: Engine
) -> None:
    adapter = await start_adapter(router, engine=db_engine)
    agent = telegram_api.user(AGENT_TG, "Li")
    await telegram_api.send_text(agent, "/linkcode demo 张伟")
    await adapter.wait_handled(1, timeout=CEILING_S)
    with unit_of_work(db_engine) as session:
        assert session.query(LinkCode).count() == 0
        agent_member = repo.get_member_by_telegram_id(session=session, telegram_user_id=AGENT_TG)
        assert agent_member is not None
        decision = permissions.can_use(agent_member, registry.commands()["linkcode"])
        decision = permissions.can_administer(agent_member) if decision else decision
        expected = permissions.refusal(decision, translator("zh")).text
    assert [c.params["text"] for c in telegram_api.sent(AGENT_TG)] == [expected]


@pytest.mark.parametrize(
    ("language_code", "expected_word"), [("zh-hans", "管理员"), ("en", "admin"), (None, "admin")]
)
async def test_a_stranger_is_told_how_to_get_linked_in_their_language_and_nothing_else(
    telegram_api: FakeTelegram,
    start_adapter,
    router: Router,
    db_engine: Engine,
    language_code: str | None,
    expected_word: str,
) -> None:
    adapter = await start_adapter(router, engine=db_engine)
    stranger = telegram_api.user(9200, "Who", language_code=language_code)
    await telegram_api.send_text(stranger, "/rank demo")
    await telegram_api.send_text(stranger, "/start")
    await adapter.wait_handled(2, timeout=CEILING_S)
    said = texts(telegram_api.sent(9200))
    assert len(said) == 2
    for text in said:
        assert expected_word in text
        for secret in ("demo", "李娜", "王经理", "张伟", "HR"):
            assert secret not in text


@pytest.mark.parametrize(
    ("language_code", "code_words"),
    [("zh-hans", ("一次性绑定码", "/start 绑定码")), ("en", ("one-time link code", "/start CODE"))],
)
async def test_a_stranger_is_pointed_to_the_one_time_link_code_and_learns_no_team_name_or_number(
    telegram_api: FakeTelegram,
    start_adapter,
    router: Router,
    db_engine: Engine,
    language_code: str,
    code_words: tuple[str, ...],
) -> None:
    adapter = await start_adapter(router, engine=db_engine)
    stranger = telegram_api.user(9201, "Who", language_code=language_code)
    await telegram_api.send_text(stranger, "/me")
    await adapter.wait_handled(1, timeout=CEILING_S)
    [text] = texts(telegram_api.sent(9201))
    assert all(word in text for word in code_words)
    for secret in (
        "demo",
        "李娜",
        "王经理",
        "张伟",
        "HR",
        str(ADMIN_TG),
        str(MANAGER_TG),
        str(AGENT_TG),
    ):
        assert secret not in text
    assert set(re.findall(r"\d+", text)) == {"9201"}, "no number but the person's own Telegram id"


async def test_an_update_delivered_twice_has_one_effect(
    telegram_api: FakeTelegram, start_adapter, router: Router, db_engine: Engine
) -> None:
    adapter = await start_adapter(router, engine=db_engine, webhook=True)
    admin = telegram_api.user(ADMIN_TG, "HR")
    update = await telegram_api.send_text(admin, "/linkcode demo 张伟")
    await telegram_api.deliver(update)  # Telegram retries the webhook
    await adapter.wait_handled(2, timeout=CEILING_S)
    assert telegram_api.webhook_responses == [200, 200]
    assert len(telegram_api.sent(ADMIN_TG)) == 1
    with unit_of_work(db_engine) as session:
        assert session.query(LinkCode).count() == 1


async def test_a_member_who_blocked_the_bot_is_marked_unreachable_and_their_manager_told_once(
    telegram_api: FakeTelegram,
    start_adapter,
    router: Router,
    db_engine: Engine,
    team: dict[str, int],
) -> None:
    adapter = await start_adapter(router, engine=db_engine)
    telegram_api.user(MANAGER_TG, "Wang")
    telegram_api.user(AGENT_TG, "Li")
    telegram_api.block(AGENT_TG)

    reminder = Outgoing(team["agent"], Reply(text="Please fill your self-review."), key="remind:1")
    assert await adapter.send_outgoing(reminder) is None
    assert await adapter.send_outgoing(reminder) is None
    assert member(db_engine, team["agent"]).unreachable is True
    assert [
        c.status for c in telegram_api.calls_to("sendMessage") if c.params["chat_id"] == AGENT_TG
    ] == [403, 403]
    assert texts(telegram_api.sent(MANAGER_TG)) == [
        "李娜在 Telegram 上屏蔽了 kpibot，提醒和考核结果都无法送达。请让对方打开机器人并解除屏蔽。"
    ]

    # writing to the bot again makes them reachable again
    await telegram_api.send_text(telegram_api.users[AGENT_TG], "/start")
    await adapter.wait_handled(1, timeout=CEILING_S)
    assert member(db_engine, team["agent"]).unreachable is False
    ref = await adapter.send_outgoing(reminder)
    assert ref is not None and ref.startswith(f"{AGENT_TG}:")


async def test_a_member_without_telegram_gets_no_outgoing_message(
    telegram_api: FakeTelegram,
    start_adapter,
    router: Router,
    db_engine: Engine,
    team: dict[str, int],
) -> None:
    adapter = await start_adapter(router, engine=db_engine)
    assert await adapter.send_outgoing(Outgoing(team["newbie"], Reply(text="hi"), key="k")) is None
    assert telegram_api.sent() == []


async def test_blocking_the_bot_is_noticed_from_telegrams_own_update_and_unblocking_clears_it(
    telegram_api: FakeTelegram,
    start_adapter,
    router: Router,
    db_engine: Engine,
    team: dict[str, int],
) -> None:
    adapter = await start_adapter(router, engine=db_engine)
    telegram_api.user(MANAGER_TG, "Wang")
    agent = telegram_api.user(AGENT_TG, "Li")
    await telegram_api.set_blocked(agent)
    await adapter.wait_handled(1, timeout=CEILING_S)
    assert member(db_engine, team["agent"]).unreachable is True
    assert len(telegram_api.sent(MANAGER_TG)) == 1
    await telegram_api.set_blocked(agent, blocked=False)
    await adapter.wait_handled(2, timeout=CEILING_S)
    assert member(db_engine, team["agent"]).unreachable is False
    assert (
        telegram_api.sent(AGENT_TG) == []
    )  # nothing is said to someone who just blocked or unblocked
