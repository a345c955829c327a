"""An admin shares an export in their DM with kpibot: downloaded as Slack serves it, imported
with the CLI's use case, answered in the DM (through the fake Slack and the real router)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from bot.slack.adapter import SlackAdapter
from commands.context import AppConfig
from commands.importing.chat import CHAT_FILE_MAX_BYTES
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from tests.conversations.world import build_world
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.slack.conftest import make_adapter, web_app
from tests.slack.sender import SlackSender

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
ADMIN, AGENT = "U0ZHOU", "U0ZHANGWEI"


@pytest.fixture
async def kpibot(
    fake_slack: FakeSlack, engine: Engine
) -> AsyncIterator[tuple[SlackAdapter, SlackSender]]:
    ids = build_world(engine)
    with unit_of_work(engine) as session:
        demo = repo.get_team_by_name(session=session, name="demo")
        assert demo is not None
        admin = repo.get_member(session=session, member_id=ids["周人事"])
        assert admin is not None
        repo.link_platform(
            session=session, member=admin, platform="slack", user_id=ADMIN, actor="test"
        )
        agent = repo.get_member(session=session, member_id=ids["张伟"])
        assert agent is not None
        repo.link_platform(
            session=session, member=agent, platform="slack", user_id=AGENT, actor="test"
        )
    fake_slack.add_user(ADMIN, "zhou", real_name="周人事", locale="zh-CN")
    fake_slack.add_user(AGENT, "zhangwei", real_name="张伟", locale="zh-CN")
    router = Router(engine, AppConfig(), lambda: datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    adapter = make_adapter(fake_slack, router, engine=engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web_app(adapter)), base_url="http://kpibot.test"
    ) as client:
        yield adapter, SlackSender(client, fake_slack)
    await adapter.stop()


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


@pytest.mark.parametrize("check_file_info", [False, True])
async def test_a_file_shared_in_the_dm_is_downloaded_with_the_bot_token_and_imported(
    kpibot: tuple[SlackAdapter, SlackSender],
    fake_slack: FakeSlack,
    engine: Engine,
    check_file_info: bool,
) -> None:
    adapter, slack = kpibot
    file = fake_slack.share_file(ADMIN, "客服绩效.csv", FILE)
    sent = await slack.share(ADMIN, file, "demo 2026-11 shop_zh", check_file_info=check_file_info)
    assert sent.response.status_code == 200
    await adapter.idle()
    assert fake_slack.downloads == [(file["id"], 200)]
    assert [c.args.get("file") for c in fake_slack.calls_to("files.info")] == (
        [file["id"]] if check_file_info else []
    )
    [answer] = fake_slack.texts_in(fake_slack.dm_channel(ADMIN))
    assert answer.startswith("已将客服绩效.csv 导入 demo 2026-11（导入 #1）：3 行，3 名客服")
    assert _conversion(engine, "李娜") == Decimal("0.25") and _conversion(
        engine, "刘洋"
    ) == Decimal("0.3")


async def test_without_a_caption_kpibot_asks_in_the_dm_and_a_typed_answer_imports_it(
    kpibot: tuple[SlackAdapter, SlackSender], fake_slack: FakeSlack, engine: Engine
) -> None:
    adapter, slack = kpibot
    await slack.share(ADMIN, fake_slack.share_file(ADMIN, "客服绩效.csv", FILE))
    await adapter.idle()
    assert (
        "要导入客服绩效.csv，请告诉我团队、期间（如 2026-10）、映射"
        in fake_slack.texts_in(fake_slack.dm_channel(ADMIN))[-1]
    )
    await slack.dm(ADMIN, "demo 2026-11 shop_zh")
    await adapter.idle()
    assert fake_slack.texts_in(fake_slack.dm_channel(ADMIN))[-1].startswith(
        "已将客服绩效.csv 导入 demo 2026-11"
    )
    assert len(fake_slack.downloads) == 1


async def test_a_non_admin_and_a_file_over_the_limit_are_refused_before_any_download(
    kpibot: tuple[SlackAdapter, SlackSender], fake_slack: FakeSlack, engine: Engine
) -> None:
    adapter, slack = kpibot
    await slack.share(
        AGENT, fake_slack.share_file(AGENT, "客服绩效.csv", FILE), "demo 2026-11 shop_zh"
    )
    await slack.share(
        ADMIN,
        fake_slack.share_file(ADMIN, "big.csv", FILE, size=CHAT_FILE_MAX_BYTES + 1),
        "demo 2026-11 shop_zh",
    )
    await adapter.idle()
    assert fake_slack.downloads == [] and fake_slack.calls_to("files.info") == []
    assert "只有管理员" in fake_slack.texts_in(fake_slack.dm_channel(AGENT))[-1]
    assert (
        "在聊天中我最多接收 20 MB 的文件" in fake_slack.texts_in(fake_slack.dm_channel(ADMIN))[-1]
    )
    assert _conversion(engine, "李娜") is None


async def test_the_fake_serves_shared_files_only_with_a_valid_bot_token(
    fake_slack: FakeSlack,
) -> None:
    file = fake_slack.share_file(ADMIN, "客服绩效.csv", FILE)
    async with httpx.AsyncClient() as http:
        good = await http.get(
            file["url_private_download"], headers={"Authorization": f"Bearer {BOT_TOKEN}"}
        )
        wrong = await http.get(file["url_private"], headers={"Authorization": "Bearer xoxb-wrong"})
        none = await http.get(file["url_private"])
    assert (good.status_code, good.content) == (200, FILE)
    assert wrong.status_code == 403 and none.status_code == 403


async def test_the_bot_token_goes_to_slacks_own_file_host_only(
    kpibot: tuple[SlackAdapter, SlackSender], fake_slack: FakeSlack, engine: Engine
) -> None:
    adapter, slack = kpibot
    file = fake_slack.share_file(ADMIN, "客服绩效.csv", FILE)
    elsewhere = {
        **file,
        "url_private": "http://127.0.0.2:9/steal",
        "url_private_download": "http://127.0.0.2:9/steal",
    }
    await slack.share(ADMIN, elsewhere, "demo 2026-11 shop_zh")
    await adapter.idle()
    assert fake_slack.downloads == []
    assert (
        fake_slack.texts_in(fake_slack.dm_channel(ADMIN))[-1]
        == "我没能下载客服绩效.csv，请重新发送。"
    )
    assert _conversion(engine, "李娜") is None
