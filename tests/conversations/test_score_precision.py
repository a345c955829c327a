"""Every surface writes a score at the precision of the scheme that scored its period
(``precision``, 0–4 decimals; ``commands.numbers``), in both languages: ``/rank``, ``/me`` (its
last periods at their own schemes' precision), ``/simulate``, the review preview, the feedback
prompt, the ranking chart and the export (a number with those places, never text).

The scheme: an indicator table (one ratio indicator, 100 points at 100%) 50% and the manager's
review 50%; every agent has "4" (75 points, 37.5 of the total). Alice's 95.94% gives 85.47,
Bob's 95.92% 85.46, Carol's 70% 72.5: at precision 2 Alice and Bob differ, at 1 and 0 they tie
(85.5, 85) and share the first place, as scoring ranks them. Dave has Alice's figures and no
review yet (the preview's subject; without the review the scheme requires, provisional, not
ranked). The previous month is scored by a scheme of another
precision, and ``/me`` writes its total at that one.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from commands import export, results
from commands.context import AppConfig
from commands.router import Router
from scoring.scheme_parser import parse_scheme
from storage import repo
from storage.db import unit_of_work
from tests.conftest import Clock

PERIOD, BEFORE = "2026-10", "2026-09"
OPENS = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
CLOSES = datetime(2026, 11, 6, 10, 0, tzinfo=UTC)

SCHEME = """
id = "places_{precision}"
period = "month"
language = "zh"
publish_ranking = true
precision = {precision}

[name]
zh = "精度 {precision}"
en = "Places {precision}"

[[components]]
kind = "kpi"
weight = 50
name = {{ zh = "考核指标", en = "Indicators" }}

[[components]]
kind = "manager"
weight = 50
missing = "block"
dimensions = [{{ id = "ability", name = {{ zh = "工作能力", en = "Ability" }}, weight = 100 }}]

[[indicators]]
id = "resolution_rate"
name = {{ zh = "问题解决率", en = "Resolution rate" }}
unit = "fraction"
better = "higher"
points = 100
method = "ratio"
params.target = 1.0
"""

VALUES = {"Alice": "0.9594", "Bob": "0.9592", "Carol": "0.70", "Dave": "0.9594"}
REVIEWED = ("Alice", "Bob", "Carol")
TEAMS = {
    "london": ("en", "Mary", ("Alice", "Bob", "Carol", "Dave")),
    "华东": ("zh", "王经理", ("李娜", "张伟", "刘洋", "赵敏")),
}
AS_EN = dict(zip(TEAMS["华东"][2], TEAMS["london"][2], strict=True))

# Per precision: each reviewed agent's total and place as /rank writes them, the KPI table's
# score, and Alice's what-if to 96% (48 + 37.5 = 85.5) with its change.
SHOWN: dict[int, dict[str, Any]] = {
    0: {"rank": {"Alice": ("1", "85"), "Bob": ("1", "85"), "Carol": ("3", "73")},
        "kpi": "96", "what_if": ("85", "86", "+1")},
    1: {"rank": {"Alice": ("1", "85.5"), "Bob": ("1", "85.5"), "Carol": ("3", "72.5")},
        "kpi": "95.9", "what_if": ("85.5", "85.5", "+0.0")},
    2: {"rank": {"Alice": ("1", "85.47"), "Bob": ("2", "85.46"), "Carol": ("3", "72.50")},
        "kpi": "95.94", "what_if": ("85.47", "85.50", "+0.03")},
}  # fmt: skip
PAST = {0: 2, 1: 2, 2: 0}
"""The precision of the scheme that scored the month before (another one than this month's)."""


def _scheme(session: Any, precision: int) -> Any:
    text = SCHEME.format(precision=precision)
    parsed = parse_scheme(text)
    assert parsed.precision == precision
    return repo.get_or_create_scheme(
        session=session, key=parsed.id, text=text, name_zh=parsed.name_zh,
        name_en=parsed.name_en, content_hash=parsed.content_hash,
    )  # fmt: skip


def _world(engine: Engine, precision: int) -> None:
    with unit_of_work(engine) as session:
        now, past = _scheme(session, precision), _scheme(session, PAST[precision])
        for team_name, (lang, manager_name, agents) in TEAMS.items():
            team = repo.create_team(session=session, name=team_name, lang=lang, scheme=now)
            manager = repo.add_member(session=session, team=team, name=manager_name, role="manager")
            periods = [
                repo.get_or_create_period(
                    session=session, team=team, key=key, status="open", scheme=scheme,
                    review_opens_at=OPENS, review_closes_at=CLOSES,
                )
                for key, scheme in ((BEFORE, past), (PERIOD, now))
            ]  # fmt: skip
            for name in agents:
                agent = repo.add_member(
                    session=session, team=team, name=name, role="agent", manager=manager
                )
                english = AS_EN.get(name, name)
                for period in periods:
                    repo.set_indicator_value(
                        session=session, period=period, member=agent, indicator="resolution_rate",
                        value=VALUES[english], source="test", actor="test", reason=None,
                    )  # fmt: skip
                    if english in REVIEWED:
                        repo.save_review(
                            session=session, period=period, subject=agent, rater=manager,
                            kind="manager", answers={"ability": 4}, comments={}, actor="test",
                            reason=None, submitted_at=OPENS,
                        )  # fmt: skip


@pytest.fixture(params=sorted(SHOWN), ids=lambda p: f"precision-{p}")
def precision(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture
def router(engine: Engine, clock: Clock, precision: int) -> Router:
    _world(engine, precision)
    return Router(engine, AppConfig(), clock)


def _results(session: Any, team_name: str, agent_name: str) -> tuple[Any, Any, Any, Any]:
    team = repo.get_team_by_name(session=session, name=team_name)
    assert team is not None
    period = repo.get_period(session=session, team=team, key=PERIOD)
    agent = repo.get_member_by_name(session=session, team=team, name=agent_name)
    assert period is not None and agent is not None
    outcome = results.period_results(team, period, session=session, store=False)
    assert outcome is not None
    return team, period, outcome, agent


@pytest.mark.parametrize("team", list(TEAMS))
def test_the_export_keeps_totals_numbers_with_the_schemes_places(
    engine: Engine, router: Router, precision: int, team: str
) -> None:
    lang, _manager, agents = TEAMS[team]
    with unit_of_work(engine) as session:
        found, period, _outcome, _agent = _results(session, team, agents[0])
        sheets = export.build_sheets(session, found, period)
    scores = sheets["scores"]
    column = scores[0].index("total")
    totals = {row[0]: row[column] for row in scores[1:]}
    for name in agents[:3]:
        expected = SHOWN[precision]["rank"][AS_EN.get(name, name)][1]
        assert isinstance(totals[name], Decimal) and str(totals[name]) == expected, totals
    shown = export.titled({"scores": scores}, lang)
    [rows] = shown.values()
    read = list(csv.reader(io.StringIO(export.csv_table(rows).decode("utf-8-sig"))))
    header = read[0].index(rows[0][column])
    assert read[1][header] == SHOWN[precision]["rank"][AS_EN.get(agents[0], agents[0])][1]
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(export.to_xlsx(shown)))
    cell = book.active.cell(row=2, column=column + 1) if book.active is not None else None
    assert cell is not None and isinstance(cell.value, float | int)
    assert cell.number_format == "#,##0" + ("." + "0" * precision if precision else "")
