"""Results stored per period and kept current (issue 20): every kind of input change, every reader.

One team (``shop``, English) scored by a scheme with every input kind: the KPI table (one
indicator, imported), the manager review, customer ratings and quality sampling. Each case
changes one kind of input in its own transaction, as the command that writes it does, and
then every reader — ``/me`` and ``/rank`` through the router, the review preview and
``/simulate`` (``results.what_if``), the export and what publication and the broadcast read
(``results.period_results``) — must show Carol the score a fresh computation from the
stored facts gives, at once, and that score must have moved.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from commands import export, results
from commands.context import AppConfig
from commands.qa.sessions import store_sessions
from commands.router import Router
from scoring import parse_scheme
from storage import qa as qa_store
from storage import repo
from storage import results as result_store
from storage.db import unit_of_work
from storage.models import Member, Period, Team
from storage.models.consequences import Appeal
from tests.conftest import Clock
from tests.conversations.transcript import FakeChat

SCHEME = """
id = "stored_results"
period = "month"
language = "en"
publish_ranking = false

[name]
zh = "存储结果测试方案"
en = "Stored results scheme"

[[components]]
kind = "kpi"
weight = 30

[[components]]
kind = "manager"
weight = 30
dimensions = [ { id = "ability", name = { zh = "工作能力", en = "Ability" }, weight = 100 } ]

[[components]]
kind = "customer"
weight = 20
name = { zh = "顾客满意度", en = "Customer satisfaction" }
csat = "mean"
min_responses = 1
below_min = "exclude"

[[components]]
kind = "qa"
weight = 20
name = { zh = "录音质检", en = "Call quality" }
min_samples = 1
below_min = "exclude"
sample = { per = "day", count = 1 }

[[components.checks]]
id = "answer"
name = { zh = "解答准确", en = "Correct answer" }
points = 100

[[indicators]]
id = "refund_ratio"
name = { zh = "退款比例", en = "Refund ratio" }
unit = "fraction"
better = "lower"
points = 100
method = "tiered"
params.bands = [
  { le = 0.03, points = 100 },
  { gt = 0.03, le = 0.06, points = 60 },
  { gt = 0.06, points = 0 },
]
"""
AGENTS = {
    "Alice": ("0.02", 5, 5, 100.0),
    "Bob": ("0.04", 4, 4, 80.0),
    "Carol": ("0.05", 3, 4, 60.0),
}
"""refund ratio, manager's ability, customer stars, QA sample score."""
PERIOD = "2026-10"
NOW = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def shop(engine: Engine) -> Engine:
    parsed = parse_scheme(SCHEME)
    with unit_of_work(engine) as session:
        scheme = repo.get_or_create_scheme(
            session=session, key=parsed.id, text=SCHEME, name_zh=parsed.name_zh,
            name_en=parsed.name_en, content_hash=parsed.content_hash,
        )  # fmt: skip
        team = repo.create_team(session=session, name="shop", lang="en", scheme=scheme)
        mary = repo.add_member(session=session, team=team, name="Mary", role="manager")
        repo.add_member(session=session, team=team, name="Hana", role="admin")
        quinn = repo.add_member(session=session, team=team, name="Quinn", role="qa")
        period = repo.get_or_create_period(session=session, team=team, key=PERIOD, status="open")
        agents = {
            name: repo.add_member(session=session, team=team, name=name, role="agent", manager=mary)
            for name in AGENTS
        }
        record = repo.record_import(
            session=session,
            team=team,
            period=period,
            file_name="kpi-2026-10.csv",
            sha256="0" * 64,
            row_count=3,
            imported_by="test",
        )
        repo.store_import_values(
            session=session, period=period, record=record, actor="test", reason=None,
            rows=[(agents[n].id or 0, "refund_ratio", v[0], "import") for n, v in AGENTS.items()],
        )  # fmt: skip
        frame = pd.DataFrame(
            [
                {
                    "member_id": agents[n].id,
                    "ref": f"{n}-1",
                    "started_at": pd.Timestamp("2026-10-05 10:00"),
                }
                for n in AGENTS
            ]  # fmt: skip
        )
        store_sessions(session, team=team, period=period, frame=frame)
        sessions = {s.member_id: s for s in qa_store.list_sessions(session=session, period=period)}
        qa_store.add_draw(
            session=session,
            team=team,
            period=period,
            seed=1,
            rule={},
            max_session_id=0,
            candidates=3,
            short=[],
            digest="d",
            actor="test",
            samples=[
                {
                    "session_id": sessions[a.id or 0].id,
                    "member_id": a.id,
                    "stratum": "2026-10-05",
                    "short": False,
                }
                for a in agents.values()
            ],
        )
        for sample in qa_store.list_samples(session=session, period=period):
            review = qa_store.assign_review(
                session=session, sample=sample, reviewer=quinn, kind="regular", actor="test"
            )
            name = next(n for n, a in agents.items() if a.id == sample.member_id)
            qa_store.submit_review(
                session=session,
                review=review,
                answers={"answer": "pass"},
                comment=None,
                score=AGENTS[name][3],
                actor="test",
                now=NOW,
            )
        for name, (_value, ability, stars, _qa) in AGENTS.items():
            repo.save_review(
                session=session,
                period=period,
                subject=agents[name],
                rater=mary,
                kind="manager",
                answers={"ability": ability},
                actor="test",
                reason=None,
                submitted_at=NOW,
            )
            repo.add_customer_rating(session=session, team=team, member=agents[name], period=period,
                                     token_id=f"t-{name}", stars=stars)  # fmt: skip
    return engine


def _get(session: Session) -> tuple[Team, Period, dict[str, Member]]:
    team = repo.get_team_by_name(session=session, name="shop")
    assert team is not None
    period = repo.get_period(session=session, team=team, key=PERIOD)
    assert period is not None
    people = {m.name: m for m in repo.list_members(session=session, team=team, active_only=False)}
    return team, period, people


# -- the changes: one kind of input each, written as its command writes it ----------------------


def _import(s: Session, team: Team, period: Period, people: dict[str, Member]) -> None:
    record = repo.record_import(session=s, team=team, period=period, file_name="kpi-fix.csv",
                                sha256="1" * 64, row_count=1, imported_by="test")  # fmt: skip
    repo.store_import_values(
        session=s,
        period=period,
        record=record,
        actor="test",
        reason=None,
        rows=[(people["Carol"].id or 0, "refund_ratio", "0.10", "import")],
    )


def _review_corrected(s: Session, team: Team, period: Period, people: dict[str, Member]) -> None:
    repo.save_review(
        session=s,
        period=period,
        subject=people["Carol"],
        rater=people["Mary"],
        kind="manager",
        answers={"ability": 1},
        actor="test",
        reason="corrected",
        submitted_at=NOW,
    )


def _rating(s: Session, team: Team, period: Period, people: dict[str, Member]) -> None:
    repo.add_customer_rating(session=s, team=team, member=people["Carol"], period=period,
                             token_id="t-late", stars=1)  # fmt: skip


def _qa_review(s: Session, team: Team, period: Period, people: dict[str, Member]) -> None:
    for review, sample in qa_store.regular_reviews(session=s, period=period):
        if sample.member_id == people["Carol"].id:
            qa_store.submit_review(
                session=s,
                review=review,
                answers={"answer": "fail"},
                comment="wrong",
                score=0.0,
                actor="test",
                now=NOW,
            )


def _appeal_decided(s: Session, team: Team, period: Period, people: dict[str, Member]) -> None:
    carol = people["Carol"]
    appeal = Appeal(team_id=team.id or 0, period_id=period.id or 0, member_id=carol.id or 0,
                    component="kpi", reason="the refunds were the warehouse's")  # fmt: skip
    s.add(appeal)
    s.flush()
    appeal.status = "upheld"
    appeal.decided_at = NOW
    repo.set_indicator_value(
        session=s,
        period=period,
        member=carol,
        indicator="refund_ratio",
        value=Decimal("0.01"),
        source="appeal",
        actor="test",
        reason="appeal",
    )


def _calibration(router: Router) -> Callable[..., None]:
    def change(s: Session, team: Team, period: Period, people: dict[str, Member]) -> None:
        chat = FakeChat(router, "Hana")
        chat.say("/calibrate adjust shop Carol ability=5 raters differ")
        assert "Carol" in chat.text and "→" in chat.text, chat.text

    return change


def _scheme_change(s: Session, team: Team, period: Period, people: dict[str, Member]) -> None:
    text = (
        SCHEME.replace('id = "stored_results"', 'id = "stored_results_v2"')
        .replace('kind = "kpi"\nweight = 30', 'kind = "kpi"\nweight = 59')
        .replace('kind = "manager"\nweight = 30', 'kind = "manager"\nweight = 1')
    )
    parsed = parse_scheme(text)
    scheme = repo.get_or_create_scheme(
        session=s,
        key=parsed.id,
        text=text,
        name_zh=parsed.name_zh,
        name_en=parsed.name_en,
        content_hash=parsed.content_hash,
    )
    repo.set_team_scheme(session=s, team=team, scheme=scheme, actor="test", reason="new scheme")
    period.scheme_id = scheme.id  # the open period is scored by the new scheme too
    s.add(period)


def _agent_left(s: Session, team: Team, period: Period, people: dict[str, Member]) -> None:
    bob = people["Bob"]
    bob.active = False
    s.add(bob)


CHANGES = ["import", "review corrected", "rating", "qa review", "appeal decided",
           "calibration", "scheme change", "agent left"]  # fmt: skip


# -- the readers: what each shows Carol -------------------------------------------------------


def _me(router: Router) -> tuple[float | None, int | None]:
    chat = FakeChat(router, "Carol")
    chat.say("/me")
    found = re.search(r"Total (\d+\.\d) of 100 · rank (\d+) of", chat.text)
    assert found, chat.text
    return float(found.group(1)), int(found.group(2))


def _rank(router: Router) -> tuple[float | None, int | None]:
    chat = FakeChat(router, "Mary")
    chat.say("/rank")
    found = re.search(r"^(\d+)\. Carol\s+(\d+\.\d)", chat.text, re.MULTILINE)
    assert found, chat.text
    return float(found.group(2)), int(found.group(1))


def _seen(engine: Engine, router: Router) -> dict[str, tuple[float | None, int | None]]:
    seen = {"/me": _me(router), "/rank": _rank(router)}
    with unit_of_work(engine) as s:
        team, period, people = _get(s)
        carol = people["Carol"]
        preview = results.what_if(team, period, carol, {}, session=s)
        assert preview is not None
        seen["preview (before)"] = (preview.before.total, preview.before.rank)
        seen["preview (after)"] = (preview.after.total, preview.after.rank)
        sheet = export.build_sheets(s, team, period)
        rows = next(r for r in sheet.values() if list(r[0][:3]) == ["agent", "total", "rank"])
        line = next(r for r in rows[1:] if r[0] == "Carol")
        seen["export"] = (float(line[1]), int(line[2]))
        published = results.period_results(team, period, session=s, store=False)
        assert published is not None
        mine = published.of(carol.id)
        assert mine is not None
        seen["publication and broadcast"] = (mine.total, mine.rank)
    return seen


def _fresh(engine: Engine) -> tuple[float, int | None]:
    with unit_of_work(engine) as s:
        team, period, people = _get(s)
        fresh = results.compute(team, period, session=s)
        assert fresh is not None
        mine = fresh.of(people["Carol"].id)
        assert mine is not None and mine.total is not None
        return mine.total, mine.rank


def _agree(
    seen: dict[str, tuple[float | None, int | None]], fresh: tuple[float, int | None]
) -> None:
    for reader, (total, rank) in seen.items():
        assert total == pytest.approx(fresh[0], abs=0.051), (reader, total, fresh)
        if rank is not None:
            assert rank == fresh[1], (reader, rank, fresh)


@pytest.mark.parametrize("change", CHANGES)
def test_every_reader_sees_the_new_score_at_once_after_each_kind_of_input_change(
    shop: Engine, change: str
) -> None:
    router = Router(shop, AppConfig(default_lang="en"), Clock(NOW))
    before = _fresh(shop)
    _agree(_seen(shop, router), before)  # stored now: the readers below read the stored rows
    with unit_of_work(shop) as s:
        team, period, _people = _get(s)
        version = result_store.state(session=s, period_id=period.id or 0)
        assert version.current(results.load_scheme(team, period, session=s).content_hash)  # type: ignore[union-attr]
    write = {
        "import": _import, "review corrected": _review_corrected, "rating": _rating,
        "qa review": _qa_review, "appeal decided": _appeal_decided,
        "calibration": _calibration(router), "scheme change": _scheme_change,
        "agent left": _agent_left,
    }[change]  # fmt: skip
    with unit_of_work(shop) as s:
        write(s, *_get(s))
    after = _fresh(shop)
    assert after != before, f"{change} did not move Carol's score: the case tests nothing"
    _agree(_seen(shop, router), after)


def test_a_write_bumps_its_period_and_the_later_ones_and_nothing_else(shop: Engine) -> None:
    with unit_of_work(shop) as s:
        team, october, people = _get(s)
        november = repo.get_or_create_period(session=s, team=team, key="2026-11")
        september = repo.get_or_create_period(session=s, team=team, key="2026-09")
        s.flush()
        before = {p.key: result_store.state(session=s, period_id=p.id or 0).inputs_version
                  for p in (september, october, november)}  # fmt: skip
        repo.set_indicator_value(
            session=s,
            period=october,
            member=people["Alice"],
            indicator="refund_ratio",
            value="0.03",
            source="manual",
            actor="test",
            reason=None,
        )
        after = {p.key: result_store.state(session=s, period_id=p.id or 0).inputs_version
                 for p in (september, october, november)}  # fmt: skip
    assert after["2026-09"] == before["2026-09"]
    assert after["2026-10"] > before["2026-10"] and after["2026-11"] > before["2026-11"]


def test_a_write_that_changes_nothing_a_result_reads_bumps_nothing(shop: Engine) -> None:
    with unit_of_work(shop) as s:
        _team, october, people = _get(s)
        before = result_store.state(session=s, period_id=october.id or 0).inputs_version
        alice = people["Alice"]
        alice.lang = "zh"
        s.add(alice)
        s.flush()
        assert result_store.state(session=s, period_id=october.id or 0).inputs_version == before
