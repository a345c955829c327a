"""Every surface writes a score at the precision of the scheme that scored its period
(``precision``, 0–4 decimals; ``commands.numbers``), in both languages: ``/rank``, ``/me`` (its
last periods at their own schemes' precision), ``/simulate``, the review preview, the feedback
prompt, the best agent's announcement, the ranking chart and the export (a number with those
places, never text).

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
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from commands import charts, consequences, export, feedback, results
from commands.context import AppConfig
from commands.i18n import translator
from commands.router import Router
from scoring.scheme_parser import parse_scheme
from storage import outbox, repo
from storage.db import unit_of_work
from tests.conftest import Clock
from tests.conversations.transcript import FakeChat, run

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

[apply]
announce_best = true
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


def _one(pattern: str, text: str) -> re.Match[str]:
    found = re.search(pattern, text, re.MULTILINE)
    assert found is not None, f"{pattern!r} not in:\n{text}"
    return found


NUMBER = r"[\d.,+-]+"
ME_TOTAL = {"en": rf"^Total ({NUMBER}) of 100 · rank", "zh": rf"^总分 ({NUMBER})（满分 100）· 第"}
ME_KPI = {
    "en": rf"^Indicators \(KPI table ({NUMBER}) of 100\):$",
    "zh": rf"^考核指标（指标表得分 ({NUMBER})，满分 100）：$",
}
ME_PAST = {"en": rf"^· {BEFORE}: ({NUMBER}), rank", "zh": rf"^· {BEFORE}：({NUMBER}) 分，第"}
WHAT_IF = {
    "en": rf"^Total: ({NUMBER}) → ({NUMBER}) \(({NUMBER})\)$",
    "zh": rf"^总分：({NUMBER}) → ({NUMBER})（({NUMBER})）$",
}
PREVIEW = {
    "en": rf"Resulting total for .+?: ({NUMBER}) / 100 \(preview",
    "zh": rf"的总分将为：({NUMBER}) / 100（预览",
}
BEST = {
    "en": rf"^Best agent of {PERIOD}: (.+) \(({NUMBER})\)\.$",
    "zh": rf"^{PERIOD} 最佳客服：(.+)（({NUMBER})）。$",
}
FEEDBACK = {
    "en": rf"about {PERIOD}: total ({NUMBER}), rank",
    "zh": rf"的绩效反馈面谈：总分 ({NUMBER})，",
}


@pytest.mark.parametrize("team", list(TEAMS))
def test_the_ranking_writes_each_total_at_the_schemes_precision_and_ties_as_scoring_ranks(
    router: Router, precision: int, team: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lang, manager, agents = TEAMS[team]
    drawn: list[int] = []
    real = charts.ranking_chart

    def recording(bars: Any, *, title: str, xlabel: str, precision: int) -> bytes:
        drawn.append(precision)
        return real(bars, title=title, xlabel=xlabel, precision=precision)

    monkeypatch.setattr(charts, "ranking_chart", recording)
    chat = FakeChat(router, manager)
    run(chat, [("/rank", "")])
    text = chat.transcript[-2][1]
    for name in agents:
        english = AS_EN.get(name, name)
        if english in REVIEWED:
            place, total = SHOWN[precision]["rank"][english]
            assert _one(rf"^(\d+)\. {name}  ({NUMBER})", text).groups() == (place, total), text
    assert drawn == [precision], "the chart's labels are written at the scheme's precision"


@pytest.mark.parametrize("team", list(TEAMS))
def test_me_writes_the_total_and_the_kpi_table_at_the_schemes_precision(
    router: Router, precision: int, team: str
) -> None:
    lang, _manager, agents = TEAMS[team]
    chat = FakeChat(router, agents[0])
    run(chat, [("/me", "")])
    assert _one(ME_TOTAL[lang], chat.text)[1] == SHOWN[precision]["rank"]["Alice"][1]
    assert _one(ME_KPI[lang], chat.text)[1] == SHOWN[precision]["kpi"].rstrip("0").rstrip(".")
    # the month before at its own scheme's precision, not this month's
    assert _one(ME_PAST[lang], chat.text)[1] == SHOWN[PAST[precision]]["rank"]["Alice"][1]


@pytest.mark.parametrize("team", list(TEAMS))
def test_simulate_writes_both_totals_and_the_change_at_the_schemes_precision(
    router: Router, precision: int, team: str
) -> None:
    lang, _manager, agents = TEAMS[team]
    chat = FakeChat(router, agents[0])
    run(chat, [("/simulate resolution_rate=96%", "")])
    assert _one(WHAT_IF[lang], chat.text).groups() == SHOWN[precision]["what_if"], chat.text


@pytest.mark.parametrize("team", list(TEAMS))
def test_the_review_preview_writes_the_total_at_the_schemes_precision(
    router: Router, precision: int, team: str
) -> None:
    lang, manager, agents = TEAMS[team]
    skip = {"en": "skip", "zh": "跳过"}[lang]
    chat = FakeChat(router, manager)
    run(chat, [(f"/review {agents[3]}", "1"), ("4", ""), (skip, "")])
    assert _one(PREVIEW[lang], chat.text)[1] == SHOWN[precision]["rank"]["Alice"][1]
    run(chat, [("/cancel", "")])


@pytest.mark.parametrize("team", list(TEAMS))
def test_the_feedback_prompt_writes_the_total_at_the_schemes_precision(
    engine: Engine, router: Router, precision: int, team: str
) -> None:
    lang, _manager, agents = TEAMS[team]
    with unit_of_work(engine) as session:
        found, period, outcome, agent = _results(session, team, agents[0])
        prompt = feedback.build_prompt(session, found, period, agent, outcome, now=OPENS)
        text = feedback.render_prompt(
            translator(lang), lang, prompt, [], found.timezone, outcome.scheme
        )
    assert _one(FEEDBACK[lang], text)[1] == SHOWN[precision]["rank"]["Alice"][1]


@pytest.mark.parametrize("team", list(TEAMS))
def test_the_best_agents_announcement_writes_the_total_at_the_schemes_precision(
    engine: Engine, router: Router, precision: int, team: str
) -> None:
    """At 2 decimals Alice alone is first; at 1 and 0 Bob shares her total and her place."""
    lang, _manager, agents = TEAMS[team]
    with unit_of_work(engine) as session:
        found, period, outcome, _agent = _results(session, team, agents[0])
        assert consequences.announce(session, found, period, outcome, now=OPENS)
        [best] = outbox.list_messages(session=session, team_id=found.id, kinds=["best"])
        text = best.reply["text"]
    names, total = _one(BEST[lang], text).groups()
    first = agents[:1] if precision == 2 else agents[:2]
    # the tied names as each language lists them (李娜、张伟; Alice, Bob)
    together = {"zh": "、", "en": ", "}[lang]
    assert (set(names.split(together)), total) == (set(first), SHOWN[precision]["rank"]["Alice"][1])


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
