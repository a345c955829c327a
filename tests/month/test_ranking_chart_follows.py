"""``/rank``'s chart follows its text (issue 20, the lead's decision): the ranking is said at
once from the stored rows, and the chart comes after it as a second message, drawn off the
reply path (the router's ``draw``, after the adapter said the text), from the very bars the
text was written from, on every messenger that shows images."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from commands import charts
from commands.context import AppConfig
from commands.router import Router
from tests.commands.conftest import review_everyone
from tests.conversations.world import build_world
from tests.month.platforms import PLATFORMS

pytestmark = pytest.mark.slow

NAMES = ["Mary", "Alice", "Bob", "Carol", "Dave"]
SELF = {"Alice": 5, "Bob": 4, "Carol": 3, "Dave": 4}
MANAGER = {"Alice": 5, "Bob": 4, "Carol": 2, "Dave": 3}
ORDER = ["Alice", "Bob", "Dave", "Carol"]
AFTER_CLOSE = datetime(2026, 11, 12, 9, 0, tzinfo=UTC)


def _ranked(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^\d+\. (\S+)", text, re.MULTILINE)]


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
async def test_the_ranking_is_said_first_and_its_chart_follows_in_the_texts_order(
    engine: Engine, platform: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = build_world(engine)
    review_everyone(engine, "london", self_scores=SELF, manager_scores=MANAGER)
    router = Router(engine, AppConfig(default_lang="en"), lambda: AFTER_CLOSE,
                    platforms={platform, "test"})  # fmt: skip
    drawn: list[tuple[list[str], list[str]]] = []
    real = charts.ranking_chart
    async with PLATFORMS[platform](engine, router, ids, NAMES) as month:
        mary: Any = month.people["Mary"]

        def recording(bars: Any, *, title: str, xlabel: str, precision: int) -> bytes:
            drawn.append(([b.label for b in bars], list(mary.screen())))  # what Mary reads then
            return real(bars, title=title, xlabel=xlabel, precision=precision)

        monkeypatch.setattr(charts, "ranking_chart", recording)
        await mary.say("/rank")
        screen = mary.screen()
    [(labels, read_before)] = drawn
    texts = [t for t in read_before if "Ranking of london for 2026-10" in t]
    assert texts, f"the chart was drawn before the text was said: {read_before[-3:]}"
    assert _ranked(texts[-1]) == ORDER == labels  # the chart shows the text's order
    at = max(i for i, t in enumerate(screen) if "Ranking of london for 2026-10" in t)
    assert [t.startswith("Ranking chart") for t in screen[at + 1 :]] == [True], screen[-3:]


def test_the_terminal_says_the_ranking_then_where_its_chart_was_saved(
    engine: Engine, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.console import ConsoleChat

    build_world(engine)
    review_everyone(engine, "london", self_scores=SELF, manager_scores=MANAGER)
    router = Router(engine, AppConfig(default_lang="en"), lambda: AFTER_CLOSE)
    drawn: list[list[str]] = []
    real = charts.ranking_chart

    def recording(bars: Any, *, title: str, xlabel: str, precision: int) -> bytes:
        drawn.append([b.label for b in bars])
        return real(bars, title=title, xlabel=xlabel, precision=precision)

    monkeypatch.setattr(charts, "ranking_chart", recording)
    answers = ConsoleChat(router, "Mary", tmp_path / "media").answers("/rank")
    text = next(answers)
    assert _ranked(text) == ORDER and drawn == []  # said before anything was drawn
    [chart] = list(answers)
    assert drawn == [ORDER]
    saved = re.fullmatch(r"Ranking chart\n\[Ranking chart: (.+\.png)\]", chart)
    assert saved is not None, chart
    with open(saved.group(1), "rb") as png:
        assert png.read(8) == b"\x89PNG\r\n\x1a\n"
