"""``/scheme`` and ``/status`` through the fake Telegram Bot API, in English and in Chinese:
the scheme within Telegram's 4096 characters a message, the progress with its "Remind them"
button, and the reminder arriving in the agent's private chat once the outbox sends it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from commands.context import AppConfig
from commands.router import Router
from tests.commands.test_scheme_view import _use
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram.test_month_scenario import TELEGRAM_IDS, Clock, chats, world  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


async def test_the_scheme_and_the_progress_through_telegram(
    telegram_api: FakeTelegram,
    start_adapter,
    engine: Engine,
    world: dict[str, int],  # noqa: F811
) -> None:
    _use(engine, "demo", "call_centre.toml")  # a long scheme: the checklist, stars, the team part
    router = Router(engine, AppConfig(default_lang="en"), Clock())
    adapter = await start_adapter(router, engine=engine, private_burst=0)
    telegram_api.relax("per_chat")
    people = chats(telegram_api, adapter)

    alice = people["Alice"]
    await alice.say("/scheme")
    said = "\n".join(alice.screen())
    assert "Scheme of team london: Mini shop scheme" in said and "Refund ratio (50 points)" in said
    li = people["李娜"]
    await li.say("/scheme")
    texts = li.screen()
    assert all(len(t) <= 4096 for t in texts)
    whole = "\n".join(texts)
    assert "团队 demo 的考核方案：呼叫中心座席绩效考核" in whole
    assert "星级：90 分起为 5 星（奖金基数 ¥1,000.00）；80 分起为 4 星" in whole
    assert "不足时按 80 分计" in whole

    mary = people["Mary"]
    await mary.say("/status")
    assert "· Alice — Self-review ✗ · Manager review ✗" in mary.screen()[-1]
    await mary.press("Remind them")
    assert mary.screen()[-1] == "Reminder sent to Alice, Bob, Carol, Dave."
    wang = people["王经理"]
    await wang.say("/status")
    assert wang.screen()[-1].startswith("demo 团队 2026-10 进度（")


async def test_status_through_telegram_names_every_messenger_and_sets_chinese_names_close(
    telegram_api: FakeTelegram,
    start_adapter,
    engine: Engine,
    world: dict[str, int],  # noqa: F811
) -> None:
    """Issue 17 (everyday items 1 and 3) through Telegram: who no messenger reaches is told with
    the registry's messengers named (as ``bot.main.app_config`` configures the router), and the
    names in the Chinese reminder reply sit close to the Chinese around them."""
    from bot import messengers
    from storage import repo
    from storage.db import unit_of_work

    with unit_of_work(engine) as session:
        demo = repo.get_team_by_name(session=session, name="demo")
        chen = repo.get_member_by_name(session=session, team=demo, name="陈静")  # type: ignore[arg-type]
        assert chen is not None
        chen.set_external_id("telegram", None)
        session.add(chen)
    config = AppConfig(default_lang="en", extra={"messengers": messengers.names()})
    adapter = await start_adapter(Router(engine, config, Clock()), engine=engine, private_burst=0)
    telegram_api.relax("per_chat")
    wang = chats(telegram_api, adapter)["王经理"]
    await wang.say("/status")
    lines = wang.screen()[-1].splitlines()
    chen_line = next(x for x in lines if x.startswith("· 陈静"))
    assert chen_line.endswith("⚠ 未关联 Slack、Telegram 或飞书账号"), chen_line
    assert any(
        x.startswith("以下成员无法联系到：在管理员为其关联 Slack、Telegram 或飞书账号")
        for x in lines
    )
    await wang.press("提醒他们")
    assert wang.screen()[-1] == (
        "已向李娜、张伟、刘洋、陈静发送提醒。\n"
        "未关联 Slack、Telegram 或飞书账号，提醒暂存在 /inbox 中：陈静。"
    )
