"""Repository functions for the survey's notification settings (:mod:`storage.survey_models`).

The daily digest of customer comments is on for every agent unless they turned it off;
turning it off is one ``survey_digest_optout`` row.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from storage.survey_models import SurveyDigestOptOut


def digest_enabled(*, session: Session, member_id: int) -> bool:
    """Whether this agent gets the daily digest of customer comments (default: yes)."""
    return session.get(SurveyDigestOptOut, member_id) is None


def set_digest(
    *, session: Session, member_id: int, enabled: bool, now: datetime | None = None
) -> bool:
    """Turn the agent's daily digest on or off; ``True`` when that changed something."""
    row = session.get(SurveyDigestOptOut, member_id)
    if enabled:
        if row is None:
            return False
        session.delete(row)
        session.flush()
        return True
    if row is not None:
        return False
    session.add(SurveyDigestOptOut(member_id=member_id, at=now or datetime.now(UTC)))
    session.flush()
    return True


def digest_opted_out(*, session: Session, member_ids: Iterable[int] | None = None) -> set[int]:
    """The ids (among ``member_ids``, else everyone) of agents who turned the digest off."""
    query = select(SurveyDigestOptOut.member_id)
    if member_ids is not None:
        ids = list(member_ids)
        if not ids:
            return set()
        query = query.where(col(SurveyDigestOptOut.member_id).in_(ids))
    return set(session.exec(query))
