"""An admin sends an export to kpibot in their Feishu private chat: Feishu's ``file`` message
carries no caption and no size, so kpibot asks for the team, period and mapping, downloads
the file from the message-resource API with the app's token when told, and imports it with
the CLI's use case (through the fake Feishu and the real router) - issue 15's file in chat,
on issue 19's messenger."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.feishu.people import FeishuPeople
from commands.context import AppConfig
from commands.importing.chat import CHAT_FILE_MAX_BYTES
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from tests.conversations.world import build_world
from tests.fakes.feishu_api import FakeFeishu
from tests.feishu.chat import FeishuChat
from tests.waiting import CEILING_S

DATA = Path(__file__).resolve().parents[1] / "data" / "imports"
FILE = (
    (DATA / "shop_zh_summary.csv")
    .read_text(encoding="utf-8")
    .replace("2026-10", "2026-11")
    .replace("张伟", "刘洋")
    .replace("王小红", "李娜")
    .replace("李明", "张伟")
    .encode()
)


@pytest.fixture
async def people(
    feishu: FakeFeishu, engine: Engine, start_adapter: Any
) -> AsyncIterator[dict[str, FeishuChat]]:
    ids = build_world(engine)
    users = {name: feishu.user(name, locale="zh_CN") for name in ("周人事", "张伟")}
    with unit_of_work(engine) as session:
        for name, user in users.items():
            member = repo.get_member(session=session, member_id=ids[name])
            assert member is not None
            repo.link_platform(
                session=session, member=member, platform="feishu", user_id=user.open_id,
                actor="test",
            )  # fmt: skip
    router = Router(engine, AppConfig(), lambda: datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    lookup = FeishuPeople(engine)
    adapter = await start_adapter(
        router, default_lang="zh", address=lookup.open_id_of, lang_of=lookup.lang_of
    )
    yield {name: FeishuChat(feishu, adapter, user) for name, user in users.items()}


def _conversion(engine: Engine, name: str) -> Decimal | None:
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="demo")
        assert team is not None
        period = repo.get_period(session=session, team=team, key="2026-11")
        member = repo.get_member_by_name(session=session, team=team, name=name)
        if period is None or member is None:
            return None
        found = repo.get_indicator_value(
            session=session, period=period, member=member, indicator="conversion_rate"
        )
        return None if found is None else found.value


def _downloads(feishu: FakeFeishu) -> list[tuple[str, int]]:
    return [(c.query.get("type", ""), c.status) for c in feishu.calls if c.name == "download"]


async def test_a_file_sent_in_the_private_chat_is_asked_about_then_downloaded_and_imported(
    people: dict[str, FeishuChat], feishu: FakeFeishu, engine: Engine
) -> None:
    admin = people["周人事"]
    await admin.send_file("客服绩效.csv", FILE)
    assert "要导入客服绩效.csv，请告诉我团队、期间（如 2026-10）、映射" in admin.screen()[-1]
    assert _downloads(feishu) == [("file", 200)], "downloaded once, kept for the answer"
    assert _conversion(engine, "李娜") is None, "nothing imported before the answer"

    await admin.say("demo 2026-11 shop_zh")
    assert admin.screen()[-1].startswith(
        "已将客服绩效.csv 导入 demo 2026-11（导入 #1）：3 行，3 名客服"
    ), admin.screen()[-1]
    assert _conversion(engine, "李娜") == Decimal("0.25")
    assert _conversion(engine, "刘洋") == Decimal("0.3")
    assert _downloads(feishu) == [("file", 200)]


async def test_an_agent_is_refused_before_any_download(
    people: dict[str, FeishuChat], feishu: FakeFeishu, engine: Engine
) -> None:
    await people["张伟"].send_file("客服绩效.csv", FILE)
    assert "只有管理员" in people["张伟"].screen()[-1]
    assert _downloads(feishu) == []


async def test_a_file_over_the_chat_limit_is_refused_and_nothing_is_kept(
    people: dict[str, FeishuChat], feishu: FakeFeishu, engine: Engine
) -> None:
    """Feishu's event does not say the size, so the download is where the limit holds."""
    admin = people["周人事"]
    await admin.send_file("big.csv", FILE + b"x" * CHAT_FILE_MAX_BYTES)
    assert admin.screen()[-1] == "big.csv 超过 20 MB，请用 kpibot import FILE 导入。"
    await admin.say("demo 2026-11 shop_zh")
    assert _conversion(engine, "李娜") is None


async def test_a_file_feishu_will_not_hand_over_gets_a_clear_answer(
    people: dict[str, FeishuChat], feishu: FakeFeishu, engine: Engine
) -> None:
    admin = people["周人事"]
    envelope = feishu.file_event(admin.user, "客服绩效.csv", FILE)
    key = next(iter(feishu.files))
    del feishu.files[key]  # recalled before kpibot fetched it
    before = admin.adapter.handled
    assert (await feishu.push(envelope)).in_time
    await admin.adapter.wait_handled(before + 1, timeout=CEILING_S)
    assert "我没能下载客服绩效.csv，请重新发送" in admin.screen()[-1], admin.screen()[-1]
    assert _downloads(feishu) == [("file", 400)]
