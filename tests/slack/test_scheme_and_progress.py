"""``/kpi scheme`` (and ``/kpi status``) through the fake Slack: Slack keeps ``/status`` for
itself and the manifest registers a few commands, so both are typed after ``/kpi``."""

from __future__ import annotations

import pytest

from bot.slack.adapter import SlackAdapter
from tests.fakes.slack_api import FakeSlack
from tests.slack.people import Person, seen
from tests.slack.test_month_scenario import DEMO, LONDON, clock, month, world  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


def _texts(calls: list) -> str:  # type: ignore[type-arg]
    return "\n".join(str(c[2]) for c in seen(calls) if len(c) > 2)


async def test_an_agent_reads_the_scheme_in_slack_in_english_and_in_chinese(
    fake_slack: FakeSlack,
    month: tuple[SlackAdapter, dict[str, Person]],  # noqa: F811
) -> None:
    _adapter, people = month
    said = _texts(await people["Alice"].command("/kpi", "scheme", channel=LONDON))
    assert "Scheme of team london: Mini shop scheme" in said
    assert "Refund ratio (50 points): bands:" in said
    assert fake_slack.response_posts(people["Alice"].last.response_url) == [], "not in the channel"
    said = _texts(await people["李娜"].command("/kpi", "scheme", channel=DEMO))
    assert "团队 demo 的考核方案：小网店方案" in said
    assert "退款比例（50 分）：分档：" in said


async def test_a_manager_sees_progress_and_reminds_through_slack(
    fake_slack: FakeSlack,
    month: tuple[SlackAdapter, dict[str, Person]],  # noqa: F811
) -> None:
    _adapter, people = month
    mary = people["Mary"]
    said = _texts(await mary.command("/kpi", "status", channel=LONDON))
    assert "Progress of london for 2026-10" in said
    assert "· Alice — Self-review ✗ · Manager review ✗" in said
    assert "no Slack, Telegram or Feishu account" not in said, (
        "every member of this world is linked"
    )
    said = _texts(await mary.press("Remind them"))
    assert "Reminder sent to Alice, Bob, Carol, Dave." in said
    wang = people["王经理"]
    said = _texts(await wang.command("/kpi", "status", channel=DEMO))
    assert "demo 团队 2026-10 进度" in said and "· 李娜 — 自评 ✗" in said
