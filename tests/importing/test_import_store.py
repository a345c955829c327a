"""Importing into the database: all or nothing, idempotent, replaceable, traceable, scorable."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from sqlmodel import Session, select

from commands.importing import import_file, sha256_of, source_of
from scoring import ScoreInputs, parse_scheme, score_team
from storage import repo
from storage.models import AuditLog, DataImport, IndicatorValue, Period, Team
from tests.importing.conftest import DATA, sample


def _import(session: Session, name: str, mapping: str, **kwargs: object):  # type: ignore[no-untyped-def]
    return import_file(
        session,
        team="sample",
        period_key="2026-10",
        mapping=mapping,
        data=sample(name),
        file_name=name,
        actor="cli",
        **kwargs,
    )  # type: ignore[arg-type]


def _values(session: Session, agent: str) -> dict[str, Decimal | None]:
    team = repo.get_team_by_name(session=session, name="sample")
    assert team is not None
    period = repo.get_period(session=session, team=team, key="2026-10")
    member = repo.get_member_by_name(session=session, team=team, name=agent)
    assert period is not None and member is not None
    return {
        v.indicator: v.value
        for v in repo.indicator_values(session=session, period=period, member=member)
    }


def test_a_valid_file_is_stored_with_its_import_record(session: Session, team: Team) -> None:
    report = _import(session, "shop_zh_summary.csv", "shop_zh")
    assert report.status == "imported", report.lines("en")
    record = session.exec(select(DataImport)).one()
    assert (record.file_name, record.row_count, record.mapping_name, record.kind) == (
        "shop_zh_summary.csv",
        3,
        "shop_zh",
        "summary",
    )
    assert record.sha256 == sha256_of(sample("shop_zh_summary.csv"))
    assert record.encoding == "UTF-8" and record.imported_by == "cli" and record.status == "active"
    assert record.mapping_text and "最终付款人数" in record.mapping_text
    values = _values(session, "王小红")
    assert values["conversion_rate"] == Decimal("0.25")
    assert values["order_amount"] == Decimal("12500")
    assert values["refund_ratio"] == Decimal("0.05")
    assert values["avg_response_s"] == Decimal("18")
    assert all(v.import_id == record.id for v in session.exec(select(IndicatorValue)))


def test_the_same_file_twice_changes_nothing_and_says_so(session: Session, team: Team) -> None:
    first = _import(session, "shop_zh_summary.csv", "shop_zh")
    audit_before = len(session.exec(select(AuditLog)).all())
    second = _import(session, "shop_zh_summary.csv", "shop_zh")
    assert second.status == "unchanged" and second.import_id == first.import_id
    assert "nothing changed" in " ".join(second.lines("en"))
    assert "未作任何更改" in " ".join(second.lines("zh"))
    assert len(session.exec(select(DataImport)).all()) == 1
    assert len(session.exec(select(AuditLog)).all()) == audit_before


def test_a_corrected_file_replaces_the_earlier_values_and_the_audit_log_keeps_both(
    session: Session, team: Team
) -> None:
    first = _import(session, "shop_zh_summary.csv", "shop_zh")
    second = _import(session, "shop_zh_summary_corrected.csv", "shop_zh")
    assert second.status == "imported"
    (replaced,) = second.replaced
    assert (replaced.import_id, replaced.file_name, replaced.kept) == (
        first.import_id,
        "shop_zh_summary.csv",
        0,
    )
    assert replaced.agents == ("王小红", "李明", "张伟")
    old = session.get(DataImport, first.import_id)
    assert old is not None and old.status == "replaced" and old.replaced_by_id == second.import_id
    values = _values(session, "王小红")
    assert values["refund_amount"] == Decimal("500")
    assert values["refund_ratio"] == Decimal("0.04")
    assert {v.import_id for v in session.exec(select(IndicatorValue))} == {second.import_id}
    trail = [
        e
        for e in session.exec(select(AuditLog).where(AuditLog.entity == "indicator_value"))
        if e.after
        and e.after.get("indicator") == "refund_amount"
        and e.after.get("member_id")
        == repo.get_member_by_name(session=session, team=team, name="王小红").id
    ]  # type: ignore[union-attr]
    assert [e.after["value"] for e in trail if e.after] == ["625.0000000000", "500.0000000000"]
    assert trail[-1].before is not None and trail[-1].before["value"] == "625.0000000000"


def test_an_unknown_team_is_refused(session: Session, team: Team) -> None:
    report = import_file(
        session,
        team="nobody",
        period_key="2026-10",
        mapping="shop_zh",
        data=sample("shop_zh_summary.csv"),
        file_name="x.csv",
        actor="cli",
    )
    assert report.status == "refused" and report.problems[0].code == "team_unknown"


def test_a_locked_period_takes_no_import(session: Session, team: Team) -> None:
    period = repo.get_or_create_period(session=session, team=team, key="2026-10")
    repo.set_period_status(
        session=session, period=period, status="locked", actor="cli", reason=None
    )
    report = _import(session, "shop_zh_summary.csv", "shop_zh")
    assert report.status == "refused" and report.problems[0].code == "period_closed"
    assert session.exec(select(IndicatorValue)).all() == []


def test_every_value_can_be_traced_to_its_file(session: Session, team: Team) -> None:
    first = _import(session, "shop_zh_summary.csv", "shop_zh")
    report = source_of(
        session,
        team="sample",
        period_key="2026-10",
        agent="Wang Xiaohong",
        indicator="conversion_rate",
    )
    assert len(report.lines_) == 1
    line = report.lines_[0]
    assert (line.import_id, line.file_name, line.mapping, line.status) == (
        first.import_id,
        "shop_zh_summary.csv",
        "shop_zh",
        "active",
    )
    assert line.sha256 == sha256_of(sample("shop_zh_summary.csv"))
    assert "shop_zh_summary.csv" in report.lines("en")[0]


def test_show_source_suggests_close_names_for_an_unknown_agent(
    session: Session, team: Team
) -> None:
    report = source_of(session, team="sample", period_key="2026-10", agent="王晓红")
    assert report.problems and report.problems[0].params["suggestions"] == ["王小红"]


def test_complaint_share_is_derived_from_a_complaints_file_and_a_sessions_file(
    session: Session, team: Team
) -> None:
    sessions = _import(session, "sessions_en.csv", "sessions_en")
    complaints = _import(session, "complaints_zh.csv", "complaints_zh")
    assert sessions.status == complaints.status == "imported"
    values = _values(session, "王小红")
    assert values["complaints"] == Decimal(2) and values["sessions"] == Decimal(4)
    assert values["complaint_share"] == Decimal("0.5")
    traced = source_of(
        session, team="sample", period_key="2026-10", agent="王小红", indicator="complaint_share"
    ).lines_[0]
    assert traced.source == "derived" and traced.import_id == complaints.import_id


def test_sessions_and_orders_files_of_one_period_do_not_replace_each_other(
    session: Session, team: Team
) -> None:
    _import(session, "sessions_en.csv", "sessions_en")
    _import(session, "orders_zh.csv", "orders_zh")
    statuses = [i.status for i in session.exec(select(DataImport))]
    assert statuses == ["active", "active"]
    values = _values(session, "王小红")
    assert values["resolution_rate"] == pytest.approx(Decimal(2) / Decimal(3), abs=Decimal("1e-9"))
    assert values["order_amount"] == Decimal("1500.5")


SCHEME = parse_scheme((DATA / "sample_scheme.toml").read_text(encoding="utf-8"))


def _score(session: Session, team: Team) -> dict[str, float]:
    period = repo.get_period(session=session, team=team, key="2026-10")
    assert period is not None
    table = repo.indicator_table(session=session, period=period)
    names = {m.id: m.name for m in repo.list_members(session=session, team=team)}
    values = pd.DataFrame.from_dict(
        {
            names[m]: {k: float(v) for k, v in row.items() if v is not None}
            for m, row in table.items()
        },
        orient="index",
    )
    result = score_team(SCHEME, ScoreInputs(values=values), as_of=date(2026, 11, 3))
    return {r.agent: float(r.total) for r in result.results if r.total is not None}


def test_importing_then_scoring_gives_the_hand_computed_totals(
    session: Session, team: Team
) -> None:
    _import(session, "shop_zh_summary.csv", "shop_zh")
    # 王小红: conversion 50/200=0.25 → 20; response 18 s → 15; refunds 625/12500=0.05 → 0;
    #         order value 12500/50=250 → 250/300×20; complaints 2/400=0.005 → 0; abnormal 1/60 → 10
    # 李明:   0.20 → 0; 25 s → 5; 0.05 → 0; 200 → 200/300×20; 1/300 → 10; 2/40=0.05 → 0
    # 张伟:   0.30 → 30; 12 s → 20; 0 → 10; 300 → 20; 0 → 10; 0 → 10
    # totals are rounded once, half up, to the scheme's precision (1 decimal by default)
    assert _score(session, team) == pytest.approx(
        {
            "王小红": round(20 + 15 + 0 + 250 / 300 * 20 + 0 + 10, 1),
            "李明": round(0 + 5 + 0 + 200 / 300 * 20 + 10 + 0, 1),
            "张伟": 100.0,
        }
    )


def test_scoring_after_a_corrected_file_uses_the_corrected_values(
    session: Session, team: Team
) -> None:
    _import(session, "shop_zh_summary.csv", "shop_zh")
    _import(session, "shop_zh_summary_corrected.csv", "shop_zh")
    # refunds 500/12500 = 0.04 now meet the 0.045 target: +10 points
    assert _score(session, team)["王小红"] == pytest.approx(
        round(20 + 15 + 10 + 250 / 300 * 20 + 0 + 10, 1)
    )


def test_a_period_is_created_only_when_the_file_is_stored(
    session: Session, team: Team, tmp_path: Path
) -> None:
    _import(session, "broken_unknown_agent.csv", "shop_zh")
    assert session.exec(select(Period)).all() == []
    _import(session, "shop_zh_summary.csv", "shop_zh")
    assert [p.key for p in session.exec(select(Period))] == ["2026-10"]


def test_the_progress_callback_hears_every_step_once(session: Session, team: Team) -> None:
    steps: list[str] = []
    _import(session, "sessions_en.csv", "sessions_en", progress=steps.append)
    assert steps == ["read", "parse", "check", "store"]


def test_the_shipped_online_shop_scheme_scores_the_imported_kpi_table_as_computed_by_hand(
    session: Session, team: Team
) -> None:
    _import(session, "shop_zh_summary.csv", "shop_zh")
    period = repo.get_period(session=session, team=team, key="2026-10")
    assert period is not None
    table = repo.indicator_table(session=session, period=period)
    values = pd.DataFrame.from_dict(
        {
            str(m): {k: float(v) for k, v in row.items() if v is not None}
            for m, row in table.items()
        },
        orient="index",
    )
    scheme = parse_scheme(
        (DATA.parents[2] / "schemes" / "online_shop.toml").read_text(encoding="utf-8")
    )
    result = score_team(scheme, ScoreInputs(values=values), as_of=date(2026, 11, 3))
    names = {str(m.id): m.name for m in repo.list_members(session=session, team=team)}
    kpi = {names[r.agent]: r.kpi for r in result.results}
    # churn has no data and is excluded, so the table counts out of 90 points; the three
    # report ratings are missing and score their worst (0). Points per indicator:
    # conversion, response, order amount (/200000×10), valid share, payment, refunds,
    # order value (/300×10), complaints, abnormal orders
    wang = 0 + 15 + 12500 / 200000 * 10 + 0 + 3 + 3 + 250 / 300 * 10 + 5 + 5
    li = 0 + 15 + 6000 / 200000 * 10 + 0 + 3 + 3 + 200 / 300 * 10 + 5 + 0
    zhang = 5 + 15 + 22500 / 200000 * 10 + 5 + 5 + 5 + 10 + 5 + 5
    assert kpi == pytest.approx(
        {"王小红": wang / 90 * 100, "李明": li / 90 * 100, "张伟": zhang / 90 * 100}
    )


def test_an_agent_with_no_row_in_a_complaints_import_has_zero_complaints_not_missing(
    session: Session, team: Team
) -> None:
    # 003 deducts points per service-quality complaint: the complaints file lists every
    # complaint of the month, so an agent it does not name had none (full points), not "no data".
    report = _import(session, "complaints_zh.csv", "complaints_zh")
    assert report.status == "imported", report.lines("en")
    named = {"王小红": Decimal(2), "李明": Decimal(1)}
    agents = [
        m for m in repo.list_members(session=session, team=team, roles=["agent"], active_only=True)
    ]
    assert len(agents) > len(named)
    for member in agents:
        assert _values(session, member.name)["complaints"] == named.get(member.name, Decimal(0))
    manager = repo.get_member_by_name(session=session, team=team, name="赵经理")
    assert manager is not None
    assert "complaints" not in _values(session, "赵经理")  # only agents are scored


def test_show_source_names_the_indicator_the_unit_who_and_the_teams_time(
    session: Session, team: Team
) -> None:
    # issue 17 item 3: not conversion_rate = 0.235 … by cli at 2026-11-02 10:00 UTC
    text = (DATA / "sample_scheme.toml").read_text(encoding="utf-8")
    parsed = parse_scheme(text)
    row = repo.get_or_create_scheme(
        session=session,
        key=parsed.id,
        text=text,
        name_zh=parsed.name_zh,
        name_en=parsed.name_en,
        content_hash=parsed.content_hash,
    )
    team.scheme_id = row.id
    team.timezone = "Asia/Shanghai"
    _import(session, "shop_zh_summary.csv", "shop_zh")
    report = source_of(
        session, team="sample", period_key="2026-10", agent="王小红", indicator="conversion_rate"
    )
    zh, en = report.lines("zh")[0], report.lines("en")[0]
    assert zh.startswith("询单转化率 = ") and "%（导入）" in zh and "由命令行于 " in zh, zh
    assert en.startswith("Conversion rate = ") and "by the command line at " in en, en
    assert "UTC" not in zh and "conversion_rate" not in zh
