"""A second import replaces only what it supplies again; ``import undo`` puts back exactly that."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session, select

from commands.importing import import_file, list_imports, undo_import
from storage import repo
from storage.models import AuditLog, DataImport, Team

HEADER = "Agent,Period,Sessions,Inquiries,Converted,Orders,Paid orders,Sales,Refunds\n"
FULL = HEADER + (
    "Wang Xiaohong,2026-10,400,200,50,60,50,12500,625\n"
    "Li Ming,2026-10,300,150,30,40,30,6000,300\n"
    "Zhang Wei,2026-10,500,250,75,80,75,22500,0\n"
)
LI_MING_CORRECTED = HEADER + "Li Ming,2026-10,320,160,40,44,40,8000,200\n"
QA_SYSTEM = "Agent,Sessions,Complaints\nWang Xiaohong,400,4\nLi Ming,300,3\nZhang Wei,500,5\n"


def _import(
    session: Session, text: str, name: str, mapping: str = "generic_en", actor: str = "cli"
):  # type: ignore[no-untyped-def]
    return import_file(
        session,
        team="sample",
        period_key="2026-10",
        mapping=mapping,
        data=text.encode(),
        file_name=name,
        actor=actor,
    )


def _table(
    session: Session, team: Team
) -> dict[tuple[str, str], tuple[Decimal | None, int | None]]:
    period = repo.get_period(session=session, team=team, key="2026-10")
    assert period is not None
    names = {m.id: m.name for m in repo.list_members(session=session, team=team, active_only=False)}
    return {
        (names[v.member_id], v.indicator): (v.value, v.import_id)
        for v in repo.indicator_values(session=session, period=period)
    }


def test_a_corrected_file_for_one_agent_keeps_every_other_agents_values(
    session: Session, team: Team
) -> None:
    first = _import(session, FULL, "october.csv")
    before = _table(session, team)
    second = _import(session, LI_MING_CORRECTED, "october-li-ming.csv")
    assert second.status == "imported", second.lines("en")
    after = _table(session, team)
    for agent in ("王小红", "张伟"):
        assert {k: v for k, v in after.items() if k[0] == agent} == {
            k: v for k, v in before.items() if k[0] == agent
        }
    assert after[("李明", "paid_amount")] == (Decimal("8000"), second.import_id)
    assert after[("李明", "conversion_rate")] == (Decimal("0.25"), second.import_id)  # 40 / 160
    li_ming_before = [k for k in before if k[0] == "李明"]
    (replaced,) = second.replaced
    assert (replaced.import_id, replaced.agents, replaced.count) == (
        first.import_id,
        ("李明",),
        len(li_ming_before),
    )
    assert replaced.kept == len(before) - len(li_ming_before)
    text = " ".join(second.lines("en"))
    assert (
        f"replaces {len(li_ming_before)} values of import #{first.import_id} (october.csv) for 李明"
        in text
    )
    assert "other agents and indicators" in text
    assert "李明" in " ".join(second.lines("zh")) and "不变" in " ".join(second.lines("zh"))
    old = session.get(DataImport, first.import_id)
    assert old is not None and old.status == "active"  # it still holds the other agents' values


def test_a_summary_of_another_system_does_not_wipe_the_first(
    session: Session, team: Team, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    mapping = tmp_path / "qa_system.toml"
    mapping.write_text(
        'name = "qa_system"\nkind = "summary"\n[columns]\nagent = "Agent"\n'
        'sessions = "Sessions"\ncomplaints = "Complaints"\n',
        encoding="utf-8",
    )
    _import(session, FULL, "shop.csv")
    shop = _table(session, team)
    report = _import(session, QA_SYSTEM, "qa.csv", mapping=str(mapping))
    assert report.status == "imported", report.lines("en")
    after = _table(session, team)
    assert after[("王小红", "paid_amount")] == shop[("王小红", "paid_amount")]
    assert after[("王小红", "conversion_rate")] == shop[("王小红", "conversion_rate")]
    assert after[("王小红", "complaints")][0] == Decimal("4")
    assert after[("王小红", "complaint_share")][0] == Decimal("0.01")  # 4 / 400


def test_undo_restores_exactly_the_values_the_import_replaced(session: Session, team: Team) -> None:
    first = _import(session, FULL, "october.csv")
    before = _table(session, team)
    second = _import(session, LI_MING_CORRECTED, "october-li-ming.csv", actor="member:1")
    assert second.import_id is not None
    undo = undo_import(session, import_id=second.import_id, actor="member:1", team="sample")
    assert undo.ok, undo.lines("en")
    assert _table(session, team) == before
    assert undo.restored == second.replaced[0].count
    assert "back to what they were" in " ".join(undo.lines("en"))
    record = session.get(DataImport, second.import_id)
    assert record is not None and record.status == "undone"
    entry = session.exec(select(AuditLog).where(AuditLog.action == "data_import.undo")).one()
    assert entry.actor == "member:1" and entry.entity_id == str(second.import_id)
    again = undo_import(session, import_id=second.import_id, actor="member:1")
    assert not again.ok and "undone already" in " ".join(again.lines("en"))
    assert first.import_id is not None


def test_undoing_the_first_import_removes_its_values_and_nothing_else(
    session: Session, team: Team, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    mapping = tmp_path / "qa_system.toml"
    mapping.write_text(
        'name = "qa_system"\nkind = "summary"\n[columns]\nagent = "Agent"\n'
        'complaints = "Complaints"\n',
        encoding="utf-8",
    )
    qa = _import(session, "Agent,Complaints\nLi Ming,3\n", "qa.csv", mapping=str(mapping))
    kept = _table(session, team)
    shop = _import(session, FULL, "shop.csv")
    assert shop.import_id is not None and qa.import_id is not None
    undo = undo_import(session, import_id=shop.import_id, actor="cli")
    assert undo.ok
    assert _table(session, team) == kept  # the derived complaint share went with the shop file


def test_undo_keeps_the_values_a_later_import_replaced_since(session: Session, team: Team) -> None:
    first = _import(session, FULL, "october.csv")
    second = _import(session, LI_MING_CORRECTED, "october-li-ming.csv")
    assert first.import_id is not None and second.import_id is not None
    undo = undo_import(session, import_id=first.import_id, actor="cli")
    assert undo.ok and undo.kept == second.replaced[0].count
    after = _table(session, team)
    assert {k[0] for k in after} == {"李明"}
    assert after[("李明", "paid_amount")] == (Decimal("8000"), second.import_id)
    # undoing the correction now goes back past the undone first import: nothing is left
    undo_import(session, import_id=second.import_id, actor="cli")
    assert _table(session, team) == {}


def test_import_list_shows_who_when_which_file_how_many_rows_and_agents(
    session: Session, team: Team
) -> None:
    manager = repo.get_member_by_name(session=session, team=team, name="赵经理")
    _import(session, FULL, "october.csv", actor=repo.actor_of(manager))
    second = _import(session, LI_MING_CORRECTED, "october-li-ming.csv")
    listing = list_imports(session, team="sample")
    assert [i.file_name for i in listing.imports] == ["october-li-ming.csv", "october.csv"]
    newest, oldest = listing.imports
    assert (newest.import_id, newest.rows, newest.agents, newest.imported_by) == (
        second.import_id,
        1,
        1,
        "cli",
    )
    assert (oldest.rows, oldest.agents, oldest.imported_by, oldest.period) == (
        3,
        3,
        "赵经理",
        "2026-10",
    )
    text = "\n".join(listing.lines("en"))
    assert "october.csv" in text and "by 赵经理" in text and "3 rows, 3 agents" in text
    assert "3 行" in "\n".join(listing.lines("zh")) or "3 行数据" in "\n".join(listing.lines("zh"))


def test_undo_refuses_an_import_of_another_team_or_a_locked_period(
    session: Session, team: Team
) -> None:
    report = _import(session, FULL, "october.csv")
    assert report.import_id is not None
    other = undo_import(session, import_id=report.import_id, actor="cli", team="another")
    assert not other.ok and f"no import #{report.import_id}" in " ".join(other.lines("en"))
    period = repo.get_period(session=session, team=team, key="2026-10")
    assert period is not None
    period.status = "locked"
    session.add(period)
    locked = undo_import(session, import_id=report.import_id, actor="cli")
    assert not locked.ok and "can no longer be undone" in " ".join(locked.lines("en"))
