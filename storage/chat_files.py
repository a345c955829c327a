"""Files sent to kpibot in chat that wait for what they are (team, period, mapping).

An admin who sends an export without saying which team, period and mapping it is for is
asked; the file waits here (its bytes, at most ``commands.importing.chat.CHAT_FILE_MAX_BYTES``)
for the answer, one file per member, for an hour. It is deleted once imported, replaced by
the next file, and expired ones go when anyone sends a file.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from storage.models.chat_files import PendingFile


def keep(
    *,
    session: Session,
    member_id: int,
    platform: str,
    file_name: str,
    data: bytes,
    chosen: dict[str, str],
    now: datetime,
    expires_at: datetime,
) -> PendingFile:
    """Keep ``data`` for the member (their earlier waiting file, if any, is replaced)."""
    session.execute(
        delete(PendingFile).where(
            (col(PendingFile.member_id) == member_id) | (col(PendingFile.expires_at) < now)
        )
    )
    row = PendingFile(
        member_id=member_id,
        platform=platform,
        file_name=file_name,
        data=data,
        chosen=chosen,
        received_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row


def waiting(*, session: Session, member_id: int, now: datetime) -> PendingFile | None:
    """The member's file still waiting (not expired), if any."""
    return session.exec(
        select(PendingFile).where(
            PendingFile.member_id == member_id, col(PendingFile.expires_at) >= now
        )
    ).first()


def forget(*, session: Session, row: PendingFile) -> None:
    session.delete(row)
    session.flush()
