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
