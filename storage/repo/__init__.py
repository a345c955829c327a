"""Repository functions for the basic entities.

Every function takes keyword-only arguments, ``session`` among them, and never commits:
the caller's :func:`storage.db.unit_of_work` does. Functions flush when they need ids.

Every function that changes a score, a review, an indicator value, a period's status or
a team's scheme takes ``actor`` (see :func:`actor_of`) and ``reason`` and appends an
audit entry with the row before and after. The audit log itself is append-only.

Clocks are passed in (``now``, aware datetimes); they default to the current UTC time.

The functions live by topic in this package's modules (``storage.repo.teams``,
``storage.repo.members``, …, the audit log in ``storage.repo.audit``) and are imported from
here as ``repo.<function>``: callers write ``from storage import repo``.
"""

from __future__ import annotations

from storage.repo.aliases import add_alias, list_aliases, remove_alias
from storage.repo.audit import actor_of, append_audit, audit_trail, snapshot
from storage.repo.errors import AlreadyExists, IdentityTaken, ScoreLocked, StorageError
from storage.repo.imports import (
    ImportValue,
    find_import,
    get_import,
    import_changes,
    list_imports,
    list_team_imports,
    record_import,
    store_import_values,
    undo_import,
    values_held,
)
from storage.repo.members import (
    add_member,
    add_team_manager,
    get_member,
    get_member_by_external_id,
    get_member_by_name,
    get_member_by_slack_id,
    get_member_by_telegram_id,
    link_platform,
    list_members,
    remove_team_manager,
    team_managers,
    teams_managed_by,
    update_member,
)
from storage.repo.periods import (
    current_period,
    get_or_create_period,
    get_period,
    get_period_by_id,
    list_periods,
    period_bounds,
    period_key,
    set_period_status,
)
from storage.repo.ratings import (
    add_customer_rating,
    get_customer_rating_by_token,
    list_customer_ratings,
)
from storage.repo.reviews import (
    get_review,
    get_review_by_idempotency_key,
    list_reviews,
    save_review,
)
from storage.repo.schemes import (
    get_or_create_scheme,
    get_scheme,
    get_scheme_by_hash,
    scheme_content_hash,
    scheme_for,
)
from storage.repo.scores import get_score, list_scores, lock_scores, save_score, set_release
from storage.repo.teams import (
    create_team,
    delete_team,
    get_team,
    get_team_by_name,
    get_team_by_slack_id,
    get_team_by_telegram_chat,
    list_teams,
    set_team_scheme,
)
from storage.repo.values import (
    IndicatorRow,
    delete_indicator_value,
    get_indicator_value,
    indicator_table,
    indicator_values,
    set_indicator_value,
    set_indicator_values,
)

__all__ = [
    "StorageError",
    "AlreadyExists",
    "IdentityTaken",
    "ScoreLocked",
    "actor_of",
    "snapshot",
    "append_audit",
    "audit_trail",
    "create_team",
    "get_team",
    "get_team_by_name",
    "get_team_by_slack_id",
    "get_team_by_telegram_chat",
    "list_teams",
    "set_team_scheme",
    "delete_team",
    "add_member",
    "get_member",
    "get_member_by_name",
    "get_member_by_external_id",
    "get_member_by_slack_id",
    "get_member_by_telegram_id",
    "list_members",
    "link_platform",
    "add_team_manager",
    "teams_managed_by",
    "remove_team_manager",
    "team_managers",
    "update_member",
    "list_aliases",
    "add_alias",
    "remove_alias",
    "period_bounds",
    "period_key",
    "get_or_create_period",
    "get_period",
    "get_period_by_id",
    "list_periods",
    "current_period",
    "set_period_status",
    "scheme_content_hash",
    "get_or_create_scheme",
    "get_scheme",
    "get_scheme_by_hash",
    "scheme_for",
    "record_import",
    "ImportValue",
    "store_import_values",
    "import_changes",
    "values_held",
    "undo_import",
    "get_import",
    "list_team_imports",
    "find_import",
    "list_imports",
    "get_indicator_value",
    "set_indicator_value",
    "IndicatorRow",
    "set_indicator_values",
    "delete_indicator_value",
    "indicator_values",
    "indicator_table",
    "get_review",
    "get_review_by_idempotency_key",
    "save_review",
    "list_reviews",
    "add_customer_rating",
    "get_customer_rating_by_token",
    "list_customer_ratings",
    "get_score",
    "save_score",
    "list_scores",
    "lock_scores",
    "set_release",
]
