"""Migration 0011_seam19 (issue 19): the Slack and Telegram columns of ``member`` become rows of
``member_identity`` on a filled database, SQLite and PostgreSQL, and nothing else changes: no
row of any table is lost (on SQLite ``member`` is copied, and a careless copy would delete
every review and score by cascade), every id is where it was, and downgrading gives the
columns back."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage import conversations, repo
from storage.db import downgrade, make_engine, upgrade

BEFORE = "0010_door21"
AFTER = "0011_seam19"  # this migration alone: later ones may add tables
MEMBERS = [  # id, name, role, manager, slack, telegram
    (1, "王经理", "manager", None, "U0WANG", None),
    (2, "李娜", "agent", 1, "U0LINA", "770001"),
    (3, "张伟", "agent", 1, None, "770002"),
    (4, "刘洋", "agent", 1, None, None),
    (5, "陈静", "agent", 1, "U0CHEN", None),
]


def _fill(engine: Engine) -> None:
    """A team at revision 0010 with members on Slack, Telegram, both and neither, and rows in
    the tables that refer to members (reviews, a score, the team's managers, the audit log)."""
    from storage.models import AuditLog, Period, Review, Scheme, Score, Team, TeamManager

    with Session(engine) as s:
        s.add(Scheme(id=1, key="s", content_hash="h", text="x", name_zh="方案", name_en="s"))
        s.flush()
        s.add(Team(id=1, name="demo", lang="zh", scheme_id=1))
        s.flush()
        s.commit()
    with engine.begin() as c:
        for id_, name, role, manager, slack, telegram in MEMBERS:
            c.execute(
                text(
                    "INSERT INTO member (id, team_id, name, role, manager_id, slack_user_id, "
                    "telegram_user_id, active, unreachable, created_at) VALUES "
                    "(:id, 1, :name, :role, :manager, :slack, :tg, :active, :unreachable, :at)"
                ),
                {"id": id_, "name": name, "role": role, "manager": manager, "slack": slack,
                 "tg": telegram, "active": id_ != 5, "unreachable": id_ == 3,
                 "at": datetime(2026, 10, id_, tzinfo=UTC)},
            )  # fmt: skip
    with Session(engine) as s:
        s.add(TeamManager(team_id=1, member_id=1))
        s.add(Period(id=1, team_id=1, key="2026-10", starts_on=date(2026, 10, 1),
                     ends_on=date(2026, 10, 31), status="open"))  # fmt: skip
        s.flush()
        for subject in (2, 3, 4, 5):
            s.add(Review(period_id=1, subject_id=subject, rater_id=subject, kind="self",
                         answers={"c": subject}))  # fmt: skip
            s.add(Review(period_id=1, subject_id=subject, rater_id=1, kind="manager",
                         answers={"c": 5}))  # fmt: skip
        s.add(Score(period_id=1, member_id=2, scheme_hash="h", total=Decimal("88.50"), rank=1))
        s.add(AuditLog(actor="member:1", action="member.add", entity="member", entity_id="2",
                       after={"slack_user_id": "U0LINA"}))  # fmt: skip
        s.commit()


def _counts(engine: Engine) -> dict[str, int]:
    names = sorted(set(inspect(engine).get_table_names()) - {"alembic_version", "member_identity"})
    with engine.connect() as c:
        return {n: c.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names}


def _columns(engine: Engine) -> list[tuple[int, str, str | None, str | None, int | None, bool]]:
    with engine.connect() as c:
        rows = c.execute(
            text("SELECT id, name, slack_user_id, telegram_user_id, manager_id, active "
                 "FROM member ORDER BY id")
        ).all()  # fmt: skip
    return [(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]


@pytest.mark.timeout(120)
def test_platform_ids_move_into_member_identity_with_nothing_lost(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, BEFORE)
        _fill(engine)
        counts, columns = _counts(engine), _columns(engine)
        assert counts["review"] == 8 and counts["score"] == 1 and counts["member"] == 5

        upgrade(engine, AFTER)

        assert _counts(engine) == counts, "no row of any table lost or added"
        assert {"slack_user_id", "telegram_user_id"}.isdisjoint(
            c["name"] for c in inspect(engine).get_columns("member")
        )
        with engine.connect() as c:
            identities = c.execute(
                text("SELECT member_id, platform, external_id FROM member_identity "
                     "ORDER BY member_id, platform")
            ).all()  # fmt: skip
        assert [tuple(r) for r in identities] == [
            (1, "slack", "U0WANG"), (2, "slack", "U0LINA"), (2, "telegram", "770001"),
            (3, "telegram", "770002"), (5, "slack", "U0CHEN"),
        ]  # fmt: skip
        with Session(engine) as s:
            lina = conversations.find_member("slack", "U0LINA", session=s)
            assert lina is not None and (lina.id, lina.telegram_user_id) == (2, "770001")
            zhang = repo.get_member_by_telegram_id(session=s, telegram_user_id=770002)
            assert zhang is not None and zhang.name == "张伟" and zhang.unreachable
            assert conversations.find_member("slack", "U0NOBODY", session=s) is None
            liu = repo.get_member(session=s, member_id=4)
            assert liu is not None and liu.linked_ids() == {} and liu.manager_id == 1

        downgrade(engine, BEFORE)

        assert _counts(engine) == counts
        assert _columns(engine) == columns, "the columns come back as they were"
    finally:
        engine.dispose()


def test_the_table_refuses_one_account_for_two_members(db_engine: Engine) -> None:
    from sqlalchemy.exc import IntegrityError

    from storage.models import Member, MemberIdentity, Team

    with Session(db_engine) as s:
        s.add(Team(id=1, name="demo", lang="zh"))
        s.flush()
        s.add_all([Member(id=1, team_id=1, name="a", slack_user_id="U1"),
                   Member(id=2, team_id=1, name="b")])  # fmt: skip
        s.commit()
        s.add(MemberIdentity(member_id=2, platform="slack", external_id="U1"))
        with pytest.raises(IntegrityError):
            s.commit()
        s.rollback()
        s.add(MemberIdentity(member_id=2, platform="feishu", external_id="U1"))
        s.commit()  # the same id on another platform is someone else's
        b = s.get(Member, 2)
        assert b is not None and b.linked_ids() == {"feishu": "U1"}
