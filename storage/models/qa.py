"""Tables of quality sampling (质检, issue 8): service sessions, draws, samples, QA reviews and
disputes.

Repository functions: :mod:`storage.qa`.

* ``service_session``: one chat or call of an agent, with the reference a reviewer opens
  (ticket id, chat link, recording id). Unique per period and reference.
* ``qa_session_load``: a sessions file loaded for sampling (idempotent by SHA-256).
* ``qa_draw``: one random draw with its seed and rule, so it can be reproduced and audited.
* ``qa_sample``: a drawn session; a session is drawn at most once (unique ``session_id``).
* ``qa_review``: one reviewer's answers on one sample. ``kind = regular`` is the sample's
  score (at most one per sample); ``kind = calibration`` rows are extra reviews an admin asks
  for to compare reviewers, and never count in the score.
* ``qa_dispute``: an agent disputing a reviewed sample.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models.columns import check_in, json_field, utc_field

QA_REVIEW_KIND_VALUES = ("regular", "calibration")
QA_REVIEW_STATUS_VALUES = ("assigned", "submitted")
QA_DISPUTE_STATUS_VALUES = ("open", "upheld", "rejected")


class ServiceSession(SQLModel, table=True):
    """One chat or call an agent handled, with the reference that opens the original."""

    __tablename__ = "service_session"
    __table_args__ = (
        UniqueConstraint("period_id", "ref"),
        Index(None, "period_id", "member_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE")
    period_id: int = Field(foreign_key="period.id", ondelete="CASCADE")
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE")
    ref: str = Field(description="ticket id, chat id or recording id as the source system names it")
    url: str | None = Field(
        default=None, description="a link to the original, when the scheme gives one"
    )
    started_at: datetime = utc_field(default=False)
    day: date = Field(description="the local day the session started on (team time zone)")
    import_id: int | None = Field(default=None, foreign_key="data_import.id", ondelete="SET NULL")
    load_id: int | None = Field(default=None, foreign_key="qa_session_load.id", ondelete="SET NULL")
    created_at: datetime = utc_field()


class QaSessionLoad(SQLModel, table=True):
    """A sessions file loaded by ``kpibot qa load-sessions``; the same file twice changes
    nothing."""

    __tablename__ = "qa_session_load"
    __table_args__ = (UniqueConstraint("period_id", "sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE")
    period_id: int = Field(foreign_key="period.id", ondelete="CASCADE")
    file_name: str
    sha256: str
    mapping_name: str
    row_count: int
    loaded_by: str
    loaded_at: datetime = utc_field()


class QaDraw(SQLModel, table=True):
    """One random draw: the seed and the rule reproduce it (with the sessions up to
    ``max_session_id``)."""

    __tablename__ = "qa_draw"

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE")
    period_id: int = Field(foreign_key="period.id", ondelete="CASCADE", index=True)
    seed: str = Field(
        description="the random seed as decimal text (64-bit values overflow some integer columns)"
    )
    rule: dict[str, Any] = json_field()
    max_session_id: int = 0
    candidates: int = 0
    drawn: int = 0
    short: list[Any] = json_field(default=list)
    digest: str = Field(
        default="", description="sha256 of the drawn session ids, to audit a reproduction"
    )
    drawn_by: str
    drawn_at: datetime = utc_field()


class QaSample(SQLModel, table=True):
    """A session drawn for review. ``short``: the agent had fewer sessions than the rule asked
    for."""

    __tablename__ = "qa_sample"

    id: int | None = Field(default=None, primary_key=True)
    draw_id: int = Field(foreign_key="qa_draw.id", ondelete="CASCADE", index=True)
    session_id: int = Field(foreign_key="service_session.id", ondelete="CASCADE", unique=True)
    period_id: int = Field(foreign_key="period.id", ondelete="CASCADE", index=True)
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE", index=True)
    stratum: str = Field(
        description="the day or week the session was drawn for, e.g. 2026-10-03 or 2026-W40"
    )
    short: bool = False
    created_at: datetime = utc_field()


class QaReview(SQLModel, table=True):
    """A reviewer's answers on a sample: ``{check_id: "pass" | "fail" | "na"}`` and a comment."""

    __tablename__ = "qa_review"
    __table_args__ = (
        UniqueConstraint("sample_id", "reviewer_id"),
        CheckConstraint(check_in("kind", QA_REVIEW_KIND_VALUES), name="kind"),
        CheckConstraint(check_in("status", QA_REVIEW_STATUS_VALUES), name="status"),
        Index(None, "reviewer_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    sample_id: int = Field(foreign_key="qa_sample.id", ondelete="CASCADE", index=True)
    reviewer_id: int = Field(foreign_key="member.id", ondelete="CASCADE")
    kind: str = "regular"
    regular_key: int | None = Field(
        default=None,
        unique=True,
        description=(
            "the sample id for a regular review (NULL for calibration):"
            " one regular review per sample"
        ),
    )
    status: str = "assigned"
    answers: dict[str, Any] = json_field()
    comment: str | None = Field(default=None, sa_type=Text)
    score: float | None = None
    assigned_by: str = "system"
    assigned_at: datetime = utc_field()
    submitted_at: datetime | None = utc_field(nullable=True, default=False)
    notified_at: datetime | None = utc_field(nullable=True, default=False)


class QaDispute(SQLModel, table=True):
    """An agent disputes a reviewed sample; a manager or admin decides."""

    __tablename__ = "qa_dispute"
    __table_args__ = (
        UniqueConstraint("review_id"),
        CheckConstraint(check_in("status", QA_DISPUTE_STATUS_VALUES), name="status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="qa_review.id", ondelete="CASCADE")
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE", index=True)
    reason: str = Field(sa_type=Text)
    status: str = "open"
    appeal_id: int | None = Field(
        default=None, description="the monthly-cycle appeal it became, if any"
    )
    created_at: datetime = utc_field()
    decided_at: datetime | None = utc_field(nullable=True, default=False)


QA_TABLES: tuple[type[SQLModel], ...] = (
    ServiceSession,
    QaSessionLoad,
    QaDraw,
    QaSample,
    QaReview,
    QaDispute,
)
