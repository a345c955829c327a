"""The basic tables: schemes, teams and members (their messenger accounts, the teams they
manage, their aliases), periods, imports and indicator values, reviews, customer ratings,
scores, the append-only audit log, conversations, processed events and link codes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Index, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, ORMExecuteState, relationship
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, Relationship, SQLModel

from storage.models.columns import check_in, json_field, utc_field
from storage.types import ExactDecimal, UTCDateTime

LANG_VALUES = ("zh", "en")
ROLE_VALUES = ("agent", "manager", "admin", "qa")
PERIOD_STATUS_VALUES = ("planned", "open", "closed", "locked", "published")
IMPORT_STATUS_VALUES = ("active", "replaced", "undone")
REVIEW_KIND_VALUES = ("self", "manager", "peer")
CONVERSATION_STATUS_VALUES = ("active", "submitted", "cancelled", "expired")
RELEASE_VALUES = ("final", "held", "confirmed")


class Scheme(SQLModel, table=True):
    """A scheme as loaded: the exact TOML text and its sha256, so that a past score can be
    explained again."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, description="the scheme's own id, e.g. 'online_shop'")
    content_hash: str = Field(unique=True, description="sha256 hex of the UTF-8 text")
    text: str = Field(sa_type=Text)
    name_zh: str
    name_en: str
    loaded_at: datetime = utc_field()


class Team(SQLModel, table=True):
    __table_args__ = (CheckConstraint(check_in("lang", LANG_VALUES), name="lang"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    lang: str = "zh"
    timezone: str = "Asia/Shanghai"
    scheme_id: int | None = Field(default=None, foreign_key="scheme.id", ondelete="SET NULL")
    slack_team_id: str | None = Field(default=None, index=True)
    telegram_chat_id: str | None = Field(default=None, index=True)
    paused: bool = False
    created_at: datetime = utc_field()


class Member(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("team_id", "name"),
        CheckConstraint(check_in("role", ROLE_VALUES), name="role"),
        CheckConstraint(f"lang IS NULL OR {check_in('lang', LANG_VALUES)}", name="lang"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE", index=True)
    name: str = Field(description="display name, e.g. 王小红")
    name_en: str | None = Field(
        default=None, description="English display name, e.g. Wang Xiaohong"
    )
    role: str = "agent"
    manager_id: int | None = Field(
        default=None, foreign_key="member.id", ondelete="SET NULL", index=True
    )
    lang: str | None = None
    active: bool = True
    unreachable: bool = False
    created_at: datetime = utc_field()
    identities: Mapped[list[MemberIdentity]] = Relationship(
        sa_relationship=relationship(cascade="all, delete-orphan", lazy="selectin")
    )
    """Who the member is on each messenger (:class:`MemberIdentity`), loaded with the member."""

    def __init__(self, **data: Any) -> None:
        ids = {p: data.pop(f"{p}_user_id") for p in LEGACY_ID_PLATFORMS if f"{p}_user_id" in data}
        super().__init__(**data)
        if self.identities is None:  # a new member: SQLModel leaves the list unset
            self.identities = []
        for platform, external_id in ids.items():
            self.set_external_id(platform, external_id)

    def external_id(self, platform: str) -> str | None:
        """The member's id on ``platform`` (``None``: not linked there)."""
        return next((i.external_id for i in self.identities if i.platform == platform), None)

    def set_external_id(self, platform: str, external_id: str | int | None) -> None:
        """Link the member to ``external_id`` on ``platform`` (replacing the one they had), or
        unlink them with ``None``; written with the member. Uniqueness is the caller's to check
        first (:func:`storage.repo.link_platform`); the table refuses a duplicate anyway."""
        value = None if external_id is None else str(external_id).strip() or None
        for identity in list(self.identities):
            if identity.platform == platform:
                if value is None:
                    self.identities.remove(identity)
                else:
                    identity.external_id = value
                return
        if value is not None:
            self.identities.append(MemberIdentity(platform=platform, external_id=value))  # type: ignore[call-arg]  # member_id: set on flush

    def linked_ids(self) -> dict[str, str]:
        """Every platform the member is linked on, and their id there."""
        return {i.platform: i.external_id for i in self.identities}

    @property
    def slack_user_id(self) -> str | None:
        return self.external_id("slack")

    @slack_user_id.setter
    def slack_user_id(self, value: str | None) -> None:
        self.set_external_id("slack", value)

    @property
    def telegram_user_id(self) -> str | None:
        return self.external_id("telegram")

    @telegram_user_id.setter
    def telegram_user_id(self, value: str | int | None) -> None:
        self.set_external_id("telegram", value)


NAMED_BY_NAME = frozenset({"console", "test"})
"""The terminal chat and tests: the only platforms whose user id is a name or a member id;
never a messenger's name (``bot.messengers.check``)."""

LEGACY_ID_PLATFORMS = ("slack", "telegram")
"""Platforms whose id reads as ``member.<platform>_user_id`` too (they had a column each once;
migration 0011_seam19 moved them into ``member_identity``)."""


class MemberIdentity(SQLModel, table=True):
    """A member's account on one messenger: unique per platform, one per member and platform.

    Every messenger resolves people by this table alone (``storage.conversations.find_member``);
    the outbox sends to the id kept here."""

    __tablename__ = "member_identity"
    __table_args__ = (
        UniqueConstraint("platform", "external_id"),
        UniqueConstraint("member_id", "platform"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE", index=True)
    platform: str = Field(description="the messenger (bot.messengers): slack, telegram, …")
    external_id: str = Field(description="the person's id there: U012AB3CD, 123456789, ou_…")


class TeamManager(SQLModel, table=True):
    """A manager can manage several teams (besides their own ``member.team_id``)."""

    __tablename__ = "team_manager"

    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE", primary_key=True)
    member_id: int = Field(
        foreign_key="member.id", ondelete="CASCADE", primary_key=True, index=True
    )


class Period(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("team_id", "key"),
        CheckConstraint(check_in("status", PERIOD_STATUS_VALUES), name="status"),
        CheckConstraint("starts_on <= ends_on", name="dates"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE", index=True)
    key: str = Field(description="'2026-10' for a month, '2026-Q4' for a quarter")
    starts_on: date
    ends_on: date
    status: str = "open"
    review_opens_at: datetime | None = utc_field(nullable=True, default=False)
    review_closes_at: datetime | None = utc_field(nullable=True, default=False)
    scheme_id: int | None = Field(default=None, foreign_key="scheme.id", ondelete="SET NULL")


class DataImport(SQLModel, table=True):
    __tablename__ = "data_import"
    __table_args__ = (CheckConstraint(check_in("status", IMPORT_STATUS_VALUES), name="status"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE", index=True)
    period_id: int = Field(foreign_key="period.id", ondelete="CASCADE", index=True)
    file_name: str
    sha256: str = Field(index=True)
    row_count: int = 0
    agent_count: int = Field(default=0, description="how many agents the file gave values for")
    kind: str = Field(default="kpi", description="what was imported, e.g. 'kpi'")
    mapping_name: str | None = None
    mapping_text: str | None = Field(default=None, sa_type=Text)
    encoding: str | None = None
    imported_by: str = Field(description="actor label, e.g. 'member:3' or 'cli'")
    imported_at: datetime = utc_field()
    status: str = "active"
    replaced_by_id: int | None = Field(
        default=None, foreign_key="data_import.id", ondelete="SET NULL"
    )


class ImportChange(SQLModel, table=True):
    """One value an import set, with what it held before (``kpibot import undo`` puts it back).

    ``had_before`` False: there was no value, so undoing the import removes it.
    """

    __tablename__ = "import_change"
    __table_args__ = (UniqueConstraint("import_id", "member_id", "indicator"),)

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = Field(foreign_key="data_import.id", ondelete="CASCADE", index=True)
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE")
    indicator: str
    had_before: bool = False
    old_value: Decimal | None = Field(default=None, sa_type=ExactDecimal, nullable=True)
    old_source: str | None = None
    old_import_id: int | None = Field(
        default=None, foreign_key="data_import.id", ondelete="SET NULL"
    )


class MemberAlias(SQLModel, table=True):
    """A member's account in one source system (旺旺 sub-account, JD UID, Avaya login, e-mail…)."""

    __tablename__ = "member_alias"
    __table_args__ = (UniqueConstraint("team_id", "source", "alias"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE", index=True)
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE", index=True)
    source: str = Field(description="the system, e.g. 'taobao', 'jd', 'avaya', 'zendesk'")
    alias: str = Field(description="the account as the export writes it, e.g. '店铺:小雨'")
    created_at: datetime = utc_field()


class IndicatorValue(SQLModel, table=True):
    """One raw indicator value of one agent in one period, with where it came from."""

    __tablename__ = "indicator_value"
    __table_args__ = (UniqueConstraint("period_id", "member_id", "indicator"),)

    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="period.id", ondelete="CASCADE")
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE", index=True)
    indicator: str
    value: Decimal | None = Field(
        default=None,
        sa_type=ExactDecimal,
        nullable=True,
        description="None: explicitly missing (never read as 0)",
    )
    source: str = Field(description="'import', 'manual', 'demo', 'survey', …")
    import_id: int | None = Field(
        default=None, foreign_key="data_import.id", ondelete="SET NULL", index=True
    )
    updated_at: datetime = utc_field()


class Review(SQLModel, table=True):
    """Answers 1–5 per dimension id (from the scheme), keyed by dimension id."""

    __table_args__ = (
        UniqueConstraint("period_id", "subject_id", "rater_id", "kind"),
        CheckConstraint(check_in("kind", REVIEW_KIND_VALUES), name="kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="period.id", ondelete="CASCADE")
    subject_id: int = Field(foreign_key="member.id", ondelete="CASCADE", index=True)
    rater_id: int = Field(foreign_key="member.id", ondelete="CASCADE", index=True)
    kind: str
    answers: dict[str, Any] = json_field()
    comments: dict[str, Any] = json_field()
    submitted_at: datetime | None = utc_field(nullable=True, default=False)
    idempotency_key: str | None = Field(default=None, unique=True)


class CustomerRating(SQLModel, table=True):
    __tablename__ = "customer_rating"
    __table_args__ = (
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars"),
        Index(None, "member_id", "period_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE", index=True)
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE")
    period_id: int | None = Field(
        default=None, foreign_key="period.id", ondelete="CASCADE", index=True
    )
    token_id: str = Field(
        unique=True, description="the survey link's token id: one rating per link"
    )
    stars: int
    comment: str | None = Field(default=None, sa_type=Text)
    resolved: bool | None = None
    ref: str | None = Field(default=None, description="order or ticket reference")
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()


class Score(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("period_id", "member_id"),
        CheckConstraint(
            f"release IS NULL OR {check_in('release', RELEASE_VALUES)}", name="release"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="period.id", ondelete="CASCADE")
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE", index=True)
    scheme_hash: str
    total: Decimal = Field(sa_type=ExactDecimal)
    rank: int | None = None
    breakdown: dict[str, Any] = json_field()
    flags: list[Any] = json_field(default=list)
    computed_at: datetime = utc_field()
    locked: bool = False
    release: str | None = None
    """How the score was published: NULL (not yet), ``final`` (complete), ``held`` (a required
    part is missing: kept back until an admin confirms), ``confirmed`` (published provisional,
    by ``released_by``'s confirmation). See ``commands.publication``."""
    released_by: str | None = None


class AuditLog(SQLModel, table=True):
    """Append-only: who changed what, when and why. Updates and deletes raise."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_field(index=True)
    actor: str = Field(index=True)
    action: str
    entity: str
    entity_id: str | None = None
    before: dict[str, Any] | None = json_field(nullable=True, default=lambda: None)
    after: dict[str, Any] | None = json_field(nullable=True, default=lambda: None)
    reason: str | None = Field(default=None, sa_type=Text)


class Conversation(SQLModel, table=True):
    """A conversational form's progress (the conversations engineer owns the logic)."""

    __table_args__ = (
        CheckConstraint(check_in("status", CONVERSATION_STATUS_VALUES), name="status"),
        Index(None, "member_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE")
    form_id: str
    period_id: int | None = Field(default=None, foreign_key="period.id", ondelete="CASCADE")
    subject_id: int | None = Field(default=None, foreign_key="member.id", ondelete="CASCADE")
    step: int = 0
    answers: dict[str, Any] = json_field()
    status: str = "active"
    platform: str | None = None
    message_ref: str | None = None
    started_at: datetime = utc_field()
    updated_at: datetime = utc_field()
    expires_at: datetime | None = utc_field(nullable=True, default=False, index=True)
    result_id: int | None = None


class ProcessedEvent(SQLModel, table=True):
    """A platform delivery already handled; inserting a duplicate raises IntegrityError."""

    __tablename__ = "processed_event"
    __table_args__ = (UniqueConstraint("platform", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    event_id: str
    at: datetime = utc_field(index=True)
    replies: list[dict[str, Any]] | None = json_field(nullable=True, default=lambda: None)
    """What the request was answered (``commands.outbox.reply_to_json``), written with its
    work: a request recovered from the inbox after a crash between the commit and the reply
    gets these, not silence (issue 21). ``None``: too big to keep, or not recorded."""


class LinkCode(SQLModel, table=True):
    """A one-time code that links a Telegram account to a member."""

    __tablename__ = "link_code"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True)
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE", index=True)
    created_at: datetime = utc_field()
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = utc_field(nullable=True, default=False)


class AuditLogIsAppendOnly(RuntimeError):
    """Someone tried to change or delete an audit entry."""


def _refuse_change(_mapper: Any, _connection: Any, target: AuditLog) -> None:
    raise AuditLogIsAppendOnly(f"audit_log is append-only (entry {target.id} cannot change)")


event.listen(AuditLog, "before_update", _refuse_change)
event.listen(AuditLog, "before_delete", _refuse_change)


@event.listens_for(OrmSession, "do_orm_execute")
def _refuse_bulk_change(state: ORMExecuteState) -> None:
    if state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) == AuditLog.__tablename__:
            raise AuditLogIsAppendOnly("audit_log is append-only (bulk UPDATE/DELETE refused)")


CORE_TABLES: tuple[type[SQLModel], ...] = (
    Scheme,
    Team,
    Member,
    MemberIdentity,
    TeamManager,
    Period,
    DataImport,
    ImportChange,
    MemberAlias,
    IndicatorValue,
    Review,
    CustomerRating,
    Score,
    AuditLog,
    Conversation,
    ProcessedEvent,
    LinkCode,
)
