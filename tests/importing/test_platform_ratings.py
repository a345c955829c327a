"""Customer ratings from a platform's export (Zendesk good/bad, JD 好评量/差评量, 赤兔 满意度) feed
the same customer component as the survey page; the receipt says where each came from; a
re-import or a corrected file replaces them, never adds; undo takes them away."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from commands import results
from commands.i18n import translator
from commands.importing import import_file, undo_import
from commands.me import component_source
from commands.ratings import customer_frame
from scoring.scheme_parser import parse_scheme
from storage import repo
from storage.models import Team
from tests.importing.conftest import sample

ROOT = Path(__file__).resolve().parents[2]
ZENDESK = "zendesk_agents.csv"


def _import(session: Session, data: bytes, name: str = ZENDESK):  # type: ignore[no-untyped-def]
    return import_file(
        session,
        team="sample",
        period_key="2026-10",
        mapping="zendesk_agents",
        data=data,
        file_name=name,
        actor="cli",
    )


def _stars(session: Session, team: Team) -> dict[str, list[int]]:
    period = repo.get_period(session=session, team=team, key="2026-10")
    assert period is not None
    members = {str(m.id): m.name for m in repo.list_members(session=session, team=team)}
    frame = customer_frame(session, period=period)
    return {members[k]: [int(x) for x in row] for k, row in frame.iterrows()}


def test_platform_ratings_join_the_survey_ratings_and_a_corrected_file_replaces_them(
    session: Session, team: Team
) -> None:
    report = _import(session, sample(ZENDESK))
    assert report.status == "imported", report.lines("en")
    assert report.ratings == 50 + 36  # 王小红 45 good of 50 rated, 李明 27 of 36, 张伟 none
    assert "Customer ratings from the file: 86" in " ".join(report.lines("en"))
    assert "文件中的客户评价：86 条" in " ".join(report.lines("zh"))
    period = repo.get_period(session=session, team=team, key="2026-10")
    wang = repo.get_member_by_name(session=session, team=team, name="王小红")
    assert period is not None and wang is not None
    repo.add_customer_rating(
        session=session, team=team, member=wang, token_id="t1", stars=4, period=period
    )
    assert _stars(session, team)["王小红"] == [5, 0, 0, 1, 45]  # good = 5 stars, bad = 1 star
    assert _stars(session, team)["李明"] == [9, 0, 0, 0, 27]

    assert _import(session, sample(ZENDESK)).status == "unchanged"  # the same file again
    corrected = sample(ZENDESK).replace(
        b"Wang Xiaohong,120,1.5,20.25,340,48,45,50", b"Wang Xiaohong,120,1.5,20.25,340,48,40,50"
    )
    again = _import(session, corrected, "zendesk_agents_fixed.csv")
    assert again.status == "imported"
    assert _stars(session, team)["王小红"] == [10, 0, 0, 1, 40]  # replaced, not 95 good
    assert _stars(session, team)["李明"] == [9, 0, 0, 0, 27]

    assert undo_import(session, import_id=again.import_id or 0, actor="cli").ok
    assert _stars(session, team)["王小红"] == [5, 0, 0, 1, 45]


def test_the_receipt_says_where_each_customer_rating_came_from(
    session: Session, team: Team
) -> None:
    report = _import(session, sample(ZENDESK))
    period = repo.get_period(session=session, team=team, key="2026-10")
    wang = repo.get_member_by_name(session=session, team=team, name="王小红")
    assert period is not None and wang is not None and wang.id is not None
    repo.add_customer_rating(
        session=session, team=team, member=wang, token_id="t1", stars=5, period=period
    )
    scheme = parse_scheme((ROOT / "schemes" / "call_centre.toml").read_text(encoding="utf-8"))
    gathered = results.gather(team, period, scheme, session=session)
    source = gathered.sources[wang.id]["customer"]
    assert source["responses"] == 51 and source["survey"] == 1
    assert source["platform"] == [{"import_id": report.import_id, "file": ZENDESK, "count": 50}]
    customer = scheme.customer
    assert customer is not None
    breakdown = {"sources": gathered.sources[wang.id]}
    en = component_source(translator("en"), customer, breakdown, {})
    assert (
        en == f"51 customer ratings: 1 from the survey page; 50 from {ZENDESK} (import "
        f"#{report.import_id})"
    )
    zh = component_source(translator("zh"), customer, breakdown, {})
    assert (
        zh == f"共 51 条客户评价：1 条来自评价页面；50 条来自 {ZENDESK}（第 {report.import_id} "
        f"次导入）"
    )
    assert list(gathered.inputs.customer.loc[str(wang.id)]) == [5, 0, 0, 0, 46]  # type: ignore[union-attr]


def test_a_daily_import_says_how_it_combined_the_days(session: Session, team: Team) -> None:
    workload = import_file(
        session,
        team="sample",
        period_key="2026-10",
        mapping="jd_workload",
        data=sample("jd_workload_daily.csv"),
        file_name="workload.csv",
        actor="cli",
    )
    assert workload.status == "imported", workload.lines("en")
    assert (
        "Days combined: 6 daily rows into 3 agents (counts summed, rates and averages weighted by "
        "接待量)." in workload.lines("en")
    )
    assert (
        "已按日合并：6 行日数据合并为 3 位客服（数量相加，比率和平均值按接待量加权）。"
        in workload.lines("zh")
    )
    sales = import_file(
        session,
        team="sample",
        period_key="2026-10",
        mapping="jd_sales",
        data=sample("jd_sales_daily.csv"),
        file_name="sales.csv",
        actor="cli",
    )
    assert (
        "Days combined: 5 daily rows into 3 agents (counts summed, rates recomputed from the sums)."
        in sales.lines("en")
    )
    period = repo.get_period(session=session, team=team, key="2026-10")
    li = repo.get_member_by_name(session=session, team=team, name="李明")
    assert period is not None and li is not None
    stored = {
        v.indicator: v.value
        for v in repo.indicator_values(session=session, period=period, member=li)
    }
    assert float(stored["answer_30s_rate"]) == 0.7 and float(stored["conversion_rate"]) == 0.06
    assert stored["sessions_handled"] == 200
