"""storage.linking: link codes and the unreachable flag, and storage as the only place that talks
SQL."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from storage import repo
from storage.linking import (
    ALPHABET,
    CODE_LENGTH,
    create_link_code,
    redeem_link_code,
    set_unreachable,
)
from storage.models import LinkCode, Member

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def people(db_session: Session) -> dict[str, Member]:
    team = repo.create_team(session=db_session, name="demo", lang="zh")
    return {
        "zhang": repo.add_member(session=db_session, team=team, name="张伟", role="agent"),
        "li": repo.add_member(
            session=db_session, team=team, name="李娜", role="agent", telegram_user_id=77
        ),
    }


def test_a_new_code_is_readable_and_ends_the_members_earlier_unused_codes(
    db_session: Session, people: dict[str, Member]
) -> None:
    first = create_link_code(session=db_session, member=people["zhang"], now=NOW)
    second = create_link_code(
        session=db_session, member=people["zhang"], now=NOW + timedelta(minutes=5)
    )
    assert len(second.code) == CODE_LENGTH and set(second.code) <= set(ALPHABET)
    assert second.expires_at == NOW + timedelta(minutes=5, hours=72)
    later = NOW + timedelta(minutes=6)
    assert (
        redeem_link_code(
            session=db_session, code_text=first.code, platform="telegram", user_id="900", now=later
        ).reason
        == "expired"
    )
    typed = f"{second.code[:4].lower()}-{second.code[4:]}"
    result = redeem_link_code(
        session=db_session, code_text=typed, platform="telegram", user_id="900", now=later
    )
    assert result.ok and result.member is not None and result.member.telegram_user_id == "900"


def test_a_code_works_once_and_never_takes_an_account_linked_to_someone_else(
    db_session: Session, people: dict[str, Member]
) -> None:
    code = create_link_code(session=db_session, member=people["zhang"], now=NOW).code
    taken = redeem_link_code(
        session=db_session, code_text=code, platform="telegram", user_id="77", now=NOW
    )
    assert (taken.ok, taken.reason) == (False, "taken")
    assert redeem_link_code(
        session=db_session, code_text=code, platform="telegram", user_id="901", now=NOW
    ).ok
    again = redeem_link_code(
        session=db_session, code_text=code, platform="telegram", user_id="902", now=NOW
    )
    assert (again.ok, again.reason) == (False, "used")
    assert (
        redeem_link_code(
            session=db_session, code_text="short", platform="telegram", user_id="903", now=NOW
        ).reason
        == "invalid"
    )
    used = db_session.exec(select(LinkCode).where(LinkCode.code == code)).one()
    assert used.used_at is not None


def test_the_unreachable_flag_says_whether_it_changed(
    db_session: Session, people: dict[str, Member]
) -> None:
    li = people["li"]
    assert set_unreachable(session=db_session, member=li, unreachable=True) is True
    assert set_unreachable(session=db_session, member=li, unreachable=True) is False
    db_session.expire_all()
    assert db_session.get(Member, li.id).unreachable is True  # type: ignore[union-attr]
    assert set_unreachable(session=db_session, member=li, unreachable=False) is True


@pytest.mark.parametrize("path", ["commands/linking.py", "bot/telegram/people.py"])
def test_linking_and_the_telegram_people_leave_sql_to_storage(path: str) -> None:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module in {"sqlmodel", "sqlalchemy", "storage.models"}
        for alias in node.names
    }
    assert imported <= {"Member", "Session"}, f"{path} builds queries itself: {imported}"
    written = [
        target.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Attribute)
        and target.attr in {"unreachable", "used_at", "expires_at"}
    ]
    assert written == [], f"{path} changes rows itself: {written}"
