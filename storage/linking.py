"""Link codes (a messenger account linked by a one-time code) and a member's ``unreachable`` flag.

    code = create_link_code(session=s, member=m, now=now)  # earlier unused codes stop working
    result = redeem_link_code(
        session=s, code_text="k7q2-mz4p", platform="telegram", user_id="42", now=now
    )
    result.ok, result.reason, result.member  # reason: invalid | used | expired | taken
    changed = set_unreachable(session=s, member=m, unreachable=True)  # False: it already was

A code works once, until it expires; redeeming it links the account (audited, through
:func:`storage.repo.link_platform`) and marks the code used, in the caller's unit of work.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import select

from storage import repo
from storage.models import LinkCode, Member, MemberIdentity

if TYPE_CHECKING:
    from sqlmodel import Session

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""No 0/O, 1/I: a code is read aloud or copied by hand."""
CODE_LENGTH = 8
DEFAULT_HOURS = 72


@dataclass(frozen=True)
class LinkResult:
    ok: bool
    reason: str = ""
    """``invalid`` | ``used`` | ``expired`` | ``taken`` when not ok."""
    member: Member | None = None


def normalize_code(text: str) -> str:
    """What a person typed (``k7q2-mz4p``) → the stored form (``K7Q2MZ4P``)."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def create_link_code(
    *, session: Session, member: Member, now: datetime, hours: float = DEFAULT_HOURS
) -> LinkCode:
    """A fresh one-time code for ``member``; earlier unused codes of the member stop working."""
    assert member.id is not None
    unused = select(LinkCode).where(LinkCode.member_id == member.id, LinkCode.used_at == None)  # noqa: E711
    for old in session.exec(unused):
        old.expires_at = min(old.expires_at, now)
        session.add(old)
    code = LinkCode(
        code=new_code(),
        member_id=member.id,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(code)
    session.flush()
    return code


def redeem_link_code(
    *, session: Session, code_text: str, platform: str, user_id: str, now: datetime
) -> LinkResult:
    """Use a code: link the account ``user_id`` on ``platform`` (the messenger the code was
    sent on: ``telegram``, ``feishu``, …) to the code's member (audited), once."""
    code = normalize_code(code_text)
    if len(code) != CODE_LENGTH:
        return LinkResult(False, "invalid")
    row = session.exec(select(LinkCode).where(LinkCode.code == code).with_for_update()).first()
    if row is None:
        return LinkResult(False, "invalid")
    if row.used_at is not None:
        return LinkResult(False, "used")
    if row.expires_at <= now:
        return LinkResult(False, "expired")
    member = session.get(Member, row.member_id)
    if member is None or not member.active:
        return LinkResult(False, "invalid")
    try:
        repo.link_platform(
            session=session,
            member=member,
            platform=platform,
            user_id=user_id,
            actor=f"{platform}:{user_id}",
            reason="one-time link code",
            now=now,
        )
    except repo.IdentityTaken:
        return LinkResult(False, "taken")
    except ValueError:  # the terminal chat or a test: nobody there is linked by a code
        return LinkResult(False, "invalid")
    row.used_at = now
    session.add(row)
    session.flush()
    return LinkResult(True, member=member)


def set_unreachable(*, session: Session, member: Member, unreachable: bool) -> bool:
    """Mark whether kpibot can reach ``member`` (they blocked or unblocked the bot);
    ``True`` when that changed the flag, so a caller tells a manager only once."""
    if member.unreachable == unreachable:
        return False
    member.unreachable = unreachable
    session.add(member)
    session.flush()
    return True


def linked_leaders(*, session: Session, platform: str = "telegram") -> list[Member]:
    """Active managers and admins linked to ``platform`` (their own command menus)."""
    from sqlmodel import col

    query = (
        select(Member)
        .join(MemberIdentity, col(MemberIdentity.member_id) == col(Member.id))
        .where(
            col(Member.role).in_(["manager", "admin"]),
            col(Member.active).is_(True),
            MemberIdentity.platform == platform,
        )
    )
    return list(session.exec(query.order_by(col(Member.id))))
