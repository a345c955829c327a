"""The tables: SQLModel classes, one per table, table names in the singular.

Conventions every table keeps:

* Times are :class:`~storage.types.UTCDateTime`: give aware datetimes, get aware UTC back.
* Numbers that must stay exact (indicator values, totals, money in yuan) are
  :class:`~storage.types.ExactDecimal` — never a float. On SQLite they are stored as
  text, so compare them in Python, not in SQL.
* Platform ids (Slack user/team ids, Telegram user/chat ids) are strings, as
  :class:`commands.messages.Incoming` carries them.
* Small enumerations (role, status, kind, lang) are strings guarded by CHECK constraints;
  the allowed values are the ``*_VALUES`` tuples of each table's module.
* ``actor`` (audit log, imports) is a short label: ``member:<id>`` for a person
  (see :func:`storage.repo.actor_of`), or ``cli``, ``system``, ``demo``, ``scheduler``.

Every table lives in this package: the basic ones in :mod:`storage.models.core` (imported
from here: ``from storage.models import Member``), each feature's in a module of its own
(``storage.models.consequences``, ``.cycle``, ``.qa``, ``.survey``, ``.chat_files``,
``.inbox``, ``.results``: import them from there), the shared column helpers in the leaf
:mod:`storage.models.columns`. :data:`TABLES` lists every table; a test holds every table of
the metadata to it, so Alembic (``storage.migrations``) sees them all. A new table goes into
this package, into :data:`TABLES` and into an Alembic revision of its own; a foreign key to
``team``/``member``/``period`` should say ``ondelete="CASCADE"`` so that
``kpibot demo --reset`` can remove the demo team.
"""

from __future__ import annotations

from sqlmodel import SQLModel

from storage.models.chat_files import PendingFile
from storage.models.columns import metadata, utcnow
from storage.models.consequences import CONSEQUENCE_TABLES
from storage.models.core import (
    CONVERSATION_STATUS_VALUES,
    CORE_TABLES,
    IMPORT_STATUS_VALUES,
    LANG_VALUES,
    LEGACY_ID_PLATFORMS,
    NAMED_BY_NAME,
    PERIOD_STATUS_VALUES,
    RELEASE_VALUES,
    REVIEW_KIND_VALUES,
    ROLE_VALUES,
    AuditLog,
    AuditLogIsAppendOnly,
    Conversation,
    CustomerRating,
    DataImport,
    ImportChange,
    IndicatorValue,
    LinkCode,
    Member,
    MemberAlias,
    MemberIdentity,
    Period,
    ProcessedEvent,
    Review,
    Scheme,
    Score,
    Team,
    TeamManager,
)
from storage.models.cycle import CYCLE_TABLES
from storage.models.inbox import InboxEvent
from storage.models.qa import QA_TABLES
from storage.models.results import RESULT_TABLES
from storage.models.survey import SURVEY_TABLES

TABLES: tuple[type[SQLModel], ...] = (
    *CORE_TABLES,
    *CONSEQUENCE_TABLES,
    *CYCLE_TABLES,
    *QA_TABLES,
    *SURVEY_TABLES,
    *RESULT_TABLES,
    PendingFile,
    InboxEvent,
)
"""Every table kpibot has (``tests/storage/test_migrations.py`` holds the metadata to it)."""

__all__ = [
    "TABLES",
    "metadata",
    "utcnow",
    "LANG_VALUES",
    "ROLE_VALUES",
    "PERIOD_STATUS_VALUES",
    "IMPORT_STATUS_VALUES",
    "REVIEW_KIND_VALUES",
    "CONVERSATION_STATUS_VALUES",
    "RELEASE_VALUES",
    "Scheme",
    "Team",
    "Member",
    "NAMED_BY_NAME",
    "LEGACY_ID_PLATFORMS",
    "MemberIdentity",
    "TeamManager",
    "Period",
    "DataImport",
    "ImportChange",
    "MemberAlias",
    "IndicatorValue",
    "Review",
    "CustomerRating",
    "Score",
    "AuditLog",
    "Conversation",
    "ProcessedEvent",
    "LinkCode",
    "AuditLogIsAppendOnly",
]
