"""Tables of the customer survey's notifications (issue 7).

Repository functions: :mod:`storage.survey`.

* ``survey_digest_optout``: one row per agent who turned the daily digest of customer
  comments off (``/survey digest off``); no row means the digest is on (the default).
* ``survey_rate_hit``: the survey page's rate limit, shared by every replica on the database:
  how many requests one client address (IPv4, or an IPv6 /64) made in one minute-long window.
  Rows older than the previous window are deleted as windows pass (issue 21 item 7).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from storage.models.columns import utc_field


class SurveyDigestOptOut(SQLModel, table=True):
    __tablename__ = "survey_digest_optout"

    member_id: int = Field(primary_key=True, foreign_key="member.id", ondelete="CASCADE")
    at: datetime = utc_field()


class SurveyRateHit(SQLModel, table=True):
    __tablename__ = "survey_rate_hit"

    address: str = Field(primary_key=True, max_length=64)
    window_no: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hits: int = 0


SURVEY_TABLES: tuple[type[SQLModel], ...] = (SurveyDigestOptOut, SurveyRateHit)
