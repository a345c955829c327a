"""Tables of the customer survey's notifications (issue 7).

Imported at the end of :mod:`storage.models` so that metadata (and the drift test) sees them.
Repository functions: :mod:`storage.survey`.

* ``survey_digest_optout``: one row per agent who turned the daily digest of customer
  comments off (``/survey digest off``); no row means the digest is on (the default).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.models import _utc


class SurveyDigestOptOut(SQLModel, table=True):
    __tablename__ = "survey_digest_optout"

    member_id: int = Field(primary_key=True, foreign_key="member.id", ondelete="CASCADE")
    at: datetime = _utc()


SURVEY_TABLES: tuple[type[SQLModel], ...] = (SurveyDigestOptOut,)
