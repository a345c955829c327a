"""The KPI table a manager sees when opening ``/review @agent`` is the agent's published result:
every indicator's value and points, and the computed performance dimension, are those of
``/me`` (and so of ``/rank``'s stored results), for every scoring method, in both languages.

A table scored from the agent's data alone differs wherever the team matters: a team-scope gate
(``scope = "team"``) checks the team's value (its agents' mean), not the agent's own (DOMAIN.md,
001). The scheme below has one indicator of every method, a team gate worth points among them,
and agents whose own response time meets the gate while the team's misses it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from commands.context import AppConfig
from commands.router import Router
from scoring.methods import METHOD_KINDS
from scoring.scheme_parser import parse_scheme
from storage import repo
from storage.db import unit_of_work
from tests.conftest import Clock
from tests.conversations.transcript import FakeChat, run

PERIOD = "2026-10"
OPENS = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
CLOSES = datetime(2026, 11, 6, 10, 0, tzinfo=UTC)

SCHEME = (Path(__file__).parent / "data" / "every_method.toml").read_text(encoding="utf-8")

# refund_ratio, complaints, resolution_rate, answer_rate, report_quality, dsr_rating,
# avg_response_s: each agent's own response time meets the gate's 40 s but the team's mean
# (20 + 30 + 100) / 3 = 50 s misses it, and the other way round for the slow one.
AGENT_VALUES = [
    ("0.02", 1, "0.81", "0.95", 3, "4.8", 20),
    ("0.05", 4, "0.95", "0.85", 2, "4.6", 30),
    ("0.08", 0, None, "0.90", 1, "4.7", 100),
]
COLUMNS = (
    "refund_ratio", "complaints", "resolution_rate", "answer_rate", "report_quality",
    "dsr_rating", "avg_response_s",
)  # fmt: skip
TEAMS = {
    "london": ("en", "Mary", ["Alice", "Bob", "Carol"]),
    "华东": ("zh", "王经理", ["李娜", "张伟", "刘洋"]),
}


def _world(engine: Engine) -> None:
    parsed = parse_scheme(SCHEME)
    with unit_of_work(engine) as session:
        scheme = repo.get_or_create_scheme(
            session=session, key=parsed.id, text=SCHEME, name_zh=parsed.name_zh,
            name_en=parsed.name_en, content_hash=parsed.content_hash,
        )  # fmt: skip
        for team_name, (lang, manager_name, agents) in TEAMS.items():
            team = repo.create_team(session=session, name=team_name, lang=lang, scheme=scheme)
            manager = repo.add_member(session=session, team=team, name=manager_name, role="manager")
            period = repo.get_or_create_period(
                session=session, team=team, key=PERIOD, status="open",
                review_opens_at=OPENS, review_closes_at=CLOSES,
            )  # fmt: skip
            for name, values in zip(agents, AGENT_VALUES, strict=True):
                agent = repo.add_member(
                    session=session, team=team, name=name, role="agent", manager=manager
                )
                for column, value in zip(COLUMNS, values, strict=True):
                    repo.set_indicator_value(
                        session=session, period=period, member=agent, indicator=column,
                        value=value, source="test", actor="test", reason=None,
                    )  # fmt: skip
                repo.save_review(
                    session=session, period=period, subject=agent, rater=agent, kind="self",
                    answers={"task_completion": 4}, comments={}, actor="test", reason=None,
                    submitted_at=OPENS,
                )  # fmt: skip


@pytest.fixture
def router(engine: Engine, clock: Clock) -> Router:
    _world(engine)
    return Router(engine, AppConfig(), clock)


def test_the_scheme_has_every_method_and_a_team_gate_worth_points() -> None:
    scheme = parse_scheme(SCHEME)
    assert {i.method.kind for i in scheme.indicators} == set(METHOD_KINDS)
    gate = scheme.indicator("team_response_gate")
    assert getattr(gate.method, "scope", None) == "team" and gate.points > 0


# The review table's line and /me's receipt line of one indicator: name, value, points, full.
HEAD = {"en": r"^· (?P<name>.+?): (?P<value>.+?) → ", "zh": r"^· (?P<name>.+?)：(?P<value>.+?) → "}
POINTS, FULL = r"(?P<points>[\d.—]+)", r"(?P<full>[\d.]+)"
REVIEW_LINE = {
    "en": re.compile(HEAD["en"] + POINTS + " of " + FULL + " points$"),
    "zh": re.compile(HEAD["zh"] + POINTS + "/" + FULL + " 分$"),
}
ME_LINE = {
    "en": re.compile(HEAD["en"] + ".* → " + POINTS + " of " + FULL + " points → "),
    "zh": re.compile(HEAD["zh"] + ".* → 得 " + POINTS + " 分（满分 " + FULL + "）→ "),
}
REVIEW_KPI = {
    "en": re.compile(r"^Performance \(computed from the KPIs, not asked\): (?P<kpi>[\d.]+) / 100$"),
    "zh": re.compile(r"^工作绩效（根据 KPI 计算，无需评分）：(?P<kpi>[\d.]+) / 100$"),
}
ME_KPI = {
    "en": re.compile(r"^Indicators \(KPI table (?P<kpi>[\d.]+) of 100\):$"),
    "zh": re.compile(r"^考核指标（指标表得分 (?P<kpi>[\d.]+)，满分 100）：$"),
}


def _table(text: str, lines: dict[str, re.Pattern[str]], lang: str) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        if m := lines[lang].match(line):
            found[m["name"]] = (m["value"], m["points"], m["full"])
    return found


def _kpi(text: str, pattern: dict[str, re.Pattern[str]], lang: str) -> str:
    return next(m["kpi"] for line in text.splitlines() if (m := pattern[lang].match(line)))


def _review_table(
    router: Router, manager: str, agent: str, lang: str
) -> tuple[dict[str, tuple[str, ...]], str]:
    chat = FakeChat(router, manager)
    run(chat, [(f"/review {agent}", "1")])
    text = chat.text
    run(chat, [("/cancel", "")])
    return _table(text, REVIEW_LINE, lang), _kpi(text, REVIEW_KPI, lang)


def _me_table(router: Router, agent: str, lang: str) -> tuple[dict[str, tuple[str, ...]], str]:
    chat = FakeChat(router, agent)
    run(chat, [("/me", "")])
    return _table(chat.text, ME_LINE, lang), _kpi(chat.text, ME_KPI, lang)


@pytest.mark.parametrize("first", ["review", "me"], ids=["opened-first", "after-me"])
@pytest.mark.parametrize("team", list(TEAMS))
def test_the_review_table_shows_each_agents_published_points_for_every_method(
    router: Router, team: str, first: str
) -> None:
    lang, manager, agents = TEAMS[team]
    for agent in agents:
        if first == "me":
            me, me_kpi = _me_table(router, agent, lang)
            review, review_kpi = _review_table(router, manager, agent, lang)
        else:
            review, review_kpi = _review_table(router, manager, agent, lang)
            me, me_kpi = _me_table(router, agent, lang)
        assert len(review) == len(COLUMNS), review
        assert review == me, agent
        assert review_kpi == me_kpi, agent


def test_the_team_gate_reads_the_teams_value_in_the_review_table(router: Router) -> None:
    """Alice's own 20 s meets the 40 s gate; the team's mean of 50 s does not: 0 of 10."""
    review, _kpi_text = _review_table(router, "Mary", "Alice", "en")
    assert review["Team response on target"] == ("50 s", "0", "10")
    review_zh, _kpi_zh = _review_table(router, "王经理", "李娜", "zh")
    assert review_zh["团队响应达标"] == ("50 秒", "0", "10")


PREVIEW = {
    "en": re.compile(r"Resulting total for (?P<name>.+?): (?P<total>[\d.]+) / 100 \(preview"),
    "zh": re.compile(r"(?P<name>.+?) ?的总分将为：(?P<total>[\d.]+) / 100（预览"),
}
ME_TOTAL = {
    "en": re.compile(r"Total (?P<total>[\d.]+) of 100 · rank"),
    "zh": re.compile(r"总分 (?P<total>[\d.]+)（满分 100）· 第"),
}
WORDS = {"en": ("skip", "submit"), "zh": ("跳过", "提交")}


@pytest.mark.parametrize("team", list(TEAMS))
def test_the_preview_is_the_total_me_shows_once_the_review_is_submitted(
    router: Router, team: str
) -> None:
    """The preview scores this review's answers against the team as stored (a what-if): the
    team gate's mean is the team's, so the total previewed is the one published."""
    lang, manager, agents = TEAMS[team]
    skip, submit = WORDS[lang]
    for agent, ability in zip(agents, (4, 2, 3), strict=True):
        chat = FakeChat(router, manager)
        run(chat, [(f"/review {agent}", "1"), (str(ability), "2"), (skip, "")])
        previewed = PREVIEW[lang].search(chat.text)
        assert previewed is not None and previewed["name"].endswith(agent), chat.text
        run(chat, [(submit, "")])
        me = FakeChat(router, agent)
        run(me, [("/me", "")])
        shown = ME_TOTAL[lang].search(me.text)
        assert shown is not None, me.text
        assert previewed["total"] == shown["total"], agent


def test_an_agent_without_a_published_row_gets_no_table_scored_alone(
    router: Router, engine: Engine
) -> None:
    """Scores locked while the period is still open (nothing in the bot does this: locking
    closes the period) and an agent added after: the agent is in no result, and the table
    says so instead of scoring them alone."""
    from commands import results

    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="london")
        assert team is not None
        period = repo.get_period(session=session, team=team, key=PERIOD)
        manager = repo.get_member_by_name(session=session, team=team, name="Mary")
        assert period is not None and manager is not None
        results.compute_and_store(team, period, session=session, actor="test")
        repo.lock_scores(session=session, period=period, actor="test", reason=None, now=OPENS)
        late = repo.add_member(session=session, team=team, name="Erin", role="agent",
                               manager=manager)  # fmt: skip
        repo.set_indicator_value(
            session=session, period=period, member=late, indicator="refund_ratio",
            value="0.01", source="test", actor="test", reason=None,
        )  # fmt: skip
    chat = FakeChat(router, "Mary")
    run(chat, [("/review Erin", "Erin has no result for 2026-10 yet, so there is no KPI")])
    assert "KPI breakdown of Erin" not in chat.text
    run(chat, [("/cancel", "")])
    review, _kpi_text = _review_table(router, "Mary", "Alice", "en")
    assert review["Team response on target"] == ("50 s", "0", "10")  # the locked row as stored
