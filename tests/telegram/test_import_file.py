"""An admin sends an export to kpibot as a document in their private chat: ``getFile``, then the
file download URL, imported with the CLI's use case (through the fake Telegram and the real
router)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine

from commands.context import AppConfig
from commands.importing.chat import CHAT_FILE_MAX_BYTES
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from tests.conversations.world import build_world
from tests.fakes.telegram_api import FakeTelegram, texts
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
ADMIN, AGENT = 301, 302


def _world(engine: Engine) -> None:
    ids = build_world(engine)
    with unit_of_work(engine) as session:
        for name, user_id in (("周人事", ADMIN), ("张伟", AGENT)):
            member = repo.get_member(session=session, member_id=ids[name])
            assert member is not None
            repo.link_platform(
                session=session,
                member=member,
                platform="telegram",
                user_id=str(user_id),
                actor="test",
            )


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


async def _adapter(telegram_api: FakeTelegram, start_adapter, engine: Engine):  # type: ignore[no-untyped-def]
    _world(engine)
    router = Router(engine, AppConfig(), lambda: datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    adapter = await start_adapter(router, engine=engine, private_burst=0)
    telegram_api.relax("per_chat")
    return adapter


async def test_a_document_with_a_caption_is_fetched_with_getfile_and_imported(
    telegram_api: FakeTelegram, start_adapter, engine: Engine
) -> None:
    adapter = await _adapter(telegram_api, start_adapter, engine)
    admin = telegram_api.user(ADMIN, "周", language_code="zh-hans")
    await telegram_api.send_document(admin, "客服绩效.csv", FILE, caption="demo 2026-11 shop_zh")
    await adapter.wait_handled(1, timeout=CEILING_S)
    [get_file] = telegram_api.calls_to("getFile")
    assert get_file.params["file_id"] in telegram_api.documents
    assert [status for _path, status in telegram_api.file_downloads] == [200]
    answer = texts(telegram_api.sent(ADMIN))[-1]
    assert answer.startswith("已将客服绩效.csv 导入 demo 2026-11（导入 #1）：3 行，3 名客服")
    assert _conversion(engine, "李娜") == Decimal("0.25") and _conversion(
        engine, "张伟"
    ) == Decimal("0.2")


async def test_without_a_caption_kpibot_asks_and_a_typed_answer_imports_it(
    telegram_api: FakeTelegram, start_adapter, engine: Engine
) -> None:
    adapter = await _adapter(telegram_api, start_adapter, engine)
    admin = telegram_api.user(ADMIN, "周", language_code="zh-hans")
    await telegram_api.send_document(admin, "客服绩效.csv", FILE)
    await adapter.wait_handled(1, timeout=CEILING_S)
    assert (
        "要导入客服绩效.csv，请告诉我团队、期间（如 2026-10）、映射"
        in texts(telegram_api.sent(ADMIN))[-1]
    )
    await telegram_api.send_text(admin, "demo 2026-11 shop_zh")
    await adapter.wait_handled(2, timeout=CEILING_S)
    assert texts(telegram_api.sent(ADMIN))[-1].startswith("已将客服绩效.csv 导入 demo 2026-11")
    assert len(telegram_api.calls_to("getFile")) == 1


async def test_a_non_admin_and_a_document_over_the_limit_are_refused_before_getfile(
    telegram_api: FakeTelegram, start_adapter, engine: Engine
) -> None:
    adapter = await _adapter(telegram_api, start_adapter, engine)
    admin = telegram_api.user(ADMIN, "周", language_code="zh-hans")
    agent = telegram_api.user(AGENT, "张伟", language_code="zh-hans")
    await telegram_api.send_document(agent, "客服绩效.csv", FILE, caption="demo 2026-11 shop_zh")
    await telegram_api.send_document(
        admin, "big.csv", FILE, caption="demo 2026-11 shop_zh", file_size=CHAT_FILE_MAX_BYTES + 1
    )
    await adapter.wait_handled(2, timeout=CEILING_S)
    assert telegram_api.calls_to("getFile") == [] and telegram_api.file_downloads == []
    assert "只有管理员" in texts(telegram_api.sent(AGENT))[-1]
    assert "在聊天中我最多接收 20 MB 的文件" in texts(telegram_api.sent(ADMIN))[-1]
    assert _conversion(engine, "李娜") is None


async def test_the_fake_serves_a_document_only_to_the_bots_own_token(
    telegram_api: FakeTelegram,
) -> None:
    user = telegram_api.user(ADMIN, "周")
    update = await telegram_api.send_document(user, "客服绩效.csv", FILE)
    file_id = update["message"]["document"]["file_id"]
    async with httpx.AsyncClient() as http:
        answer = (
            await http.post(
                f"{telegram_api.base_url}{telegram_api.token}/getFile", json={"file_id": file_id}
            )
        ).json()
        path = answer["result"]["file_path"]
        good = await http.get(f"{telegram_api.base_file_url}{telegram_api.token}/{path}")
        wrong = await http.get(f"{telegram_api.base_file_url}123:wrong/{path}")
        refused = await http.post(
            f"{telegram_api.base_url}123:wrong/getFile", json={"file_id": file_id}
        )
    assert (good.status_code, good.content) == (200, FILE)
    assert wrong.status_code == 404 and refused.status_code == 401
