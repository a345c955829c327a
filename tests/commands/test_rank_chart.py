"""``/rank``'s chart (issue 20): the router answers with the text and a reply whose chart is
still to draw (``Reply.chart``); it is drawn by ``Router.draw`` from the bars the text was
written from (the top and the bottom ``CHART_ENDS`` of a large team, in the text's order),
once per change of the results, and a published ranking stores it by reference."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from commands import charts
from commands.context import AppConfig
from commands.rank import CHART_ENDS
from commands.router import Router
from storage import repo
from storage.db import unit_of_work

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
import commands_bench as bench  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def team(engine: Engine) -> bench.TeamIds:
    [ids] = bench.build(engine, 1, 60)
    return ids


def _ranked(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^\d+\. (\S+)", text, re.MULTILINE)]


def test_the_ranking_answers_with_its_text_and_a_chart_drawn_from_the_same_bars(
    engine: Engine, team: bench.TeamIds
) -> None:
    router = Router(engine, AppConfig(default_lang="en"), lambda: bench.NOW)
    manager = bench.Person(router, team.manager_id)
    [text, later] = manager.say("/rank")
    ranked = _ranked(text.text)
    assert len(ranked) == len(team.agents) and text.image is None and text.chart is None
    assert later.image is None and later.chart is not None  # nothing drawn while answering
    assert f"the top {CHART_ENDS} and the bottom {CHART_ENDS} of 60" in later.text
    drawn = router.draw(later)
    assert drawn is not None and drawn.chart is None and drawn.text == later.text
    assert drawn.image is not None and drawn.image.data.startswith(PNG)
    labels = [bar[0] for bar in later.chart.params["bars"]]
    assert labels == ranked[:CHART_ENDS] + ranked[-CHART_ENDS:]


def test_the_chart_is_drawn_once_per_change_of_the_results(
    engine: Engine, team: bench.TeamIds
) -> None:
    router = Router(engine, AppConfig(default_lang="en"), lambda: bench.NOW)
    manager = bench.Person(router, team.manager_id)
    charts._ranking_chart.cache_clear()
    for _ in range(3):  # asked again and again: drawn the first time only
        [_text, later] = manager.say("/rank")
        assert router.draw(later) is not None
    assert charts._ranking_chart.cache_info().misses == 1
    with unit_of_work(engine) as session:  # the last agent gets the best review: a new ranking
        period = repo.get_period_by_id(session=session, period_id=team.period_id)
        boss = repo.get_member(session=session, member_id=team.manager_id)
        last = repo.get_member(session=session, member_id=team.agents[-1][0])
        assert period is not None and boss is not None and last is not None
        repo.save_review(session=session, period=period, subject=last, rater=boss, kind="manager",
                         answers={"ability": 5, "collaboration": 5, "service": 5}, actor="test",
                         reason="test", submitted_at=bench.NOW)  # fmt: skip
    [text, later] = manager.say("/rank")
    drawn = router.draw(later)
    assert drawn is not None and charts._ranking_chart.cache_info().misses == 2
    assert [bar[0] for bar in later.chart.params["bars"]][:CHART_ENDS] == _ranked(text.text)[
        :CHART_ENDS
    ]


def test_a_chart_that_cannot_be_drawn_is_not_said(engine: Engine, team: bench.TeamIds) -> None:
    from dataclasses import replace

    from commands.messages import ChartRef

    router = Router(engine, AppConfig(default_lang="en"), lambda: bench.NOW)
    [_text, later] = bench.Person(router, team.manager_id).say("/rank")
    assert router.draw(replace(later, chart=ChartRef("rank.chart", {"bars": []}))) is None
    assert router.draw(replace(later, chart=ChartRef("no.such.chart", {}))) is None
    assert router.draw(replace(later, chart=ChartRef("rank.chart", {"bars": [[1]]}))) is None
