"""Telegram's limits, as the strict fake applies them: what kpibot sends fits them."""

from __future__ import annotations

import pytest

from commands.messages import Button, Incoming, Reply
from tests.fakes.telegram_api import FakeTelegram, keyboard_of, texts
from tests.telegram.conftest import ScriptedRouter
from tests.waiting import CEILING_S

TEAM = 200
"""A team of 200 agents: a manager's picker used to carry 200 buttons (Telegram allows 100)."""


def picker_script(incoming: Incoming) -> list[Reply]:
    if incoming.action == "review:pick":
        return [Reply(text=f"picked {incoming.value}")]
    if incoming.text == "/review":
        people = tuple(Button(f"Agent {i:03d}", "review:pick", str(5000 + i)) for i in range(TEAM))
        return [
            Reply(
                text="Whom do you review?", buttons=(*people, Button("Cancel", "form:cancel", "x"))
            )
        ]
    return [Reply(text=f"echo {incoming.text}")]


def buttons(markup: dict | None) -> list[str]:
    return [label for row in keyboard_of(markup) for label, _data in row]


async def test_a_picker_of_200_agents_is_paged_and_every_agent_can_be_picked(
    telegram_api: FakeTelegram, start_adapter
) -> None:
    """Reproduces issue 16 item 3: 200 buttons in one message were refused (BUTTONS_TOO_MUCH)."""
    router = ScriptedRouter(picker_script)
    adapter = await start_adapter(router)
    manager = telegram_api.user(801, "Wang")
    await telegram_api.send_text(manager, "/review")
    await adapter.wait_handled(1, timeout=CEILING_S)
    assert [c for c in telegram_api.calls if not c.ok and c.method != "getUpdates"] == []
    [picker] = telegram_api.sent(801)
    first = buttons(picker.params["reply_markup"])
    assert len(first) <= 100 and first[:2] == ["Agent 000", "Agent 001"]
    assert first[-4:] == ["◀", "1/9", "▶", "Cancel"]

    for page in range(1, 8):  # ▶ seven times: the eighth page
        await telegram_api.press(manager, picker, "▶")
        await adapter.wait_handled(1 + page, timeout=CEILING_S)
    shown = buttons(telegram_api.last_message(801)["reply_markup"])
    assert shown[0] == "Agent 168" and "8/9" in shown
    assert router.seen == [router.seen[0]], "paging is the adapter's own business"

    await telegram_api.press(manager, picker, "Agent 170")
    await adapter.wait_handled(9, timeout=CEILING_S)
    assert (router.seen[-1].action, router.seen[-1].value) == ("review:pick", "5170")


async def test_a_press_is_answered_before_anything_else_is_sent(
    telegram_api: FakeTelegram, start_adapter
) -> None:
    """Reproduces issue 16 item 10: answerCallbackQuery came after every reply ("query is too
    old")."""
    router = ScriptedRouter(picker_script)
    adapter = await start_adapter(router)
    manager = telegram_api.user(802, "Wang")
    await telegram_api.send_text(manager, "/review")
    await adapter.wait_handled(1, timeout=CEILING_S)
    [picker] = telegram_api.sent(802)
    start = len(telegram_api.calls)
    await telegram_api.press(manager, picker, "Agent 003")
    await adapter.wait_handled(2, timeout=CEILING_S)
    after = [c.method for c in telegram_api.calls[start:] if c.method != "getUpdates"]
    assert after[0] == "answerCallbackQuery" and "sendMessage" in after


async def test_a_group_reply_quotes_the_command_and_still_goes_out_if_it_was_deleted(
    telegram_api: FakeTelegram, start_adapter
) -> None:
    router = ScriptedRouter(picker_script)
    adapter = await start_adapter(router)
    group = telegram_api.group(-1009, "Shop team")
    agent = telegram_api.user(803, "Li")
    asked = await telegram_api.send_text(agent, "hello there", chat=group)
    await adapter.wait_handled(1, timeout=CEILING_S)
    [said] = telegram_api.sent(-1009)
    quoting = said.params["reply_parameters"]
    assert quoting["message_id"] == asked["message"]["message_id"]
    assert quoting["allow_sending_without_reply"] is True


def test_the_largest_ranking_chart_kpibot_draws_fits_telegrams_photo_limits() -> None:
    """Reproduces issue 16 item 7: from 204 agents the chart broke width + height ≤ 10,000 px."""
    import io

    from PIL import Image

    from commands import charts
    from commands.rank import CHART_ENDS
    from tests.fakes.telegram_api import PHOTO_RATIO_MAX, PHOTO_SIDES_MAX

    bars = [charts.Bar(label=f"客服 {i:03d}", value=100 - i / 3) for i in range(2 * CHART_ENDS)]
    with Image.open(
        io.BytesIO(charts.ranking_chart(bars, title="t", xlabel="x", precision=1))
    ) as chart:
        width, height = chart.size
    assert width + height <= PHOTO_SIDES_MAX and max(width, height) <= PHOTO_RATIO_MAX * min(
        width, height
    )
    too_many = [charts.Bar(label=f"客服 {i:03d}", value=50.0) for i in range(204)]
    with Image.open(
        io.BytesIO(charts.ranking_chart(too_many, title="t", xlabel="x", precision=1))
    ) as chart:
        assert sum(chart.size) > PHOTO_SIDES_MAX, "why the rank command draws only the ends"


GROUP_PARTS = 24
"""Four more than a group may receive in a minute (Telegram: 20 a minute in a group)."""


def big_survey_script(incoming: Incoming) -> list[Reply]:
    if incoming.text.startswith("/survey"):
        lines = [f"line {i:04d} " + "x" * 90 for i in range(GROUP_PARTS * 40)]  # ~24 × 4,000 chars
        return [Reply(text="\n".join(lines))]
    return [Reply(text=f"help for {incoming.text}")]


@pytest.mark.slow
async def test_a_long_group_reply_loses_nothing_at_20_a_minute_and_a_private_help_is_not_held_back(
    telegram_api: FakeTelegram, start_adapter
) -> None:
    """Reproduces issue 16 item 6: with the group limit applied, 16 of 36 parts of
    ``/survey team big 20`` were lost (RetryAfter not caught) and a private /help waited
    behind the group's flood pause."""
    adapter = await start_adapter(ScriptedRouter(big_survey_script))
    group = telegram_api.group(-1016, "Big team")
    manager = telegram_api.user(816, "Wang")
    agent = telegram_api.user(817, "Li")
    await telegram_api.send_text(manager, "/survey team big 20", chat=group)
    await telegram_api.wait_for(lambda tg: len(tg.sent(-1016)) >= 20, timeout=60)
    await telegram_api.send_text(agent, "/help")
    await telegram_api.wait_for(lambda tg: len(tg.sent(817)) == 1, timeout=60)
    in_group_before_help = len(telegram_api.sent(-1016))
    await adapter.wait_handled(2, timeout=120)
    await telegram_api.wait_for(
        lambda tg: "\n".join(texts(tg.sent(-1016))).count("line ") == GROUP_PARTS * 40, timeout=120
    )
    parts = texts(telegram_api.sent(-1016))
    assert len(parts) > 20 and in_group_before_help < len(parts), "/help went out meanwhile"
    said = "\n".join(parts)
    numbers = [int(w.split()[1]) for w in said.split("\n") if w.startswith("line ")]
    assert numbers == list(range(GROUP_PARTS * 40)), "every line once, in order"
    assert texts(telegram_api.sent(817)) == ["help for /help"]
    refused = [c for c in telegram_api.calls if not c.ok and c.method != "getUpdates"]
    assert all(c.status == 429 for c in refused) and len(refused) <= 1, (
        "paced to the group limit: at most one 429 at the bucket's edge (PTB's leaky bucket"
        " against Telegram's), waited out and sent again"
    )
