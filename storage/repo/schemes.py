"""Schemes as loaded: stored once per text (by its sha256)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlmodel import Session, select

from storage.models import Period, Scheme, Team
from storage.repo.common import now_or_utc


def scheme_content_hash(text: str) -> str:
    """sha256 hex of the UTF-8 text: the identity of a scheme version."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def get_or_create_scheme(
    *,
    session: Session,
    key: str,
    text: str,
    name_zh: str,
    name_en: str,
    content_hash: str | None = None,
    now: datetime | None = None,
) -> Scheme:
    """The stored scheme with this text's hash, stored now if new (the same text never twice).

    Pass ``content_hash`` from the parsed scheme (``scoring.scheme.Scheme.content_hash``)
    when there is one, so that stored and computed hashes agree; otherwise the sha256 of
    the UTF-8 text is used.
    """
    digest = content_hash or scheme_content_hash(text)
    found = get_scheme_by_hash(session=session, content_hash=digest)
    if found is not None:
        return found
    scheme = Scheme(
        key=key,
        content_hash=digest,
        text=text,
        name_zh=name_zh,
        name_en=name_en,
        loaded_at=now_or_utc(now),
    )
    session.add(scheme)
    session.flush()
    return scheme


def get_scheme(*, session: Session, scheme_id: int) -> Scheme | None:
    return session.get(Scheme, scheme_id)


def get_scheme_by_hash(*, session: Session, content_hash: str) -> Scheme | None:
    return session.exec(select(Scheme).where(Scheme.content_hash == content_hash)).first()


def scheme_for(*, session: Session, team: Team, period: Period | None = None) -> Scheme | None:
    """The scheme that scores ``period`` (its own, else the team's current one)."""
    scheme_id = (period.scheme_id if period is not None else None) or team.scheme_id
    return None if scheme_id is None else session.get(Scheme, scheme_id)
