"""Service sessions for sampling: each chat or call with the reference a reviewer opens.

Two ways in:

* ``kpibot qa load-sessions --team T --period P --mapping M FILE`` → :func:`load_sessions`:
  reads the file with the import module's own reading, parsing and checks
  (:func:`commands.importing.prepare` refuses a bad file listing every problem), all or
  nothing, and the same file twice changes nothing (SHA-256 per period).
* The KPI import can call :func:`store_sessions` with the rows of a sessions file it is
  importing anyway (``import_id`` then points at its ``data_import`` row).

A session's reference is the mapping's ``session_id`` column (ticket id, chat id, recording
id); a file without it cannot be sampled, since nobody could open the original. When the
scheme's scorecard has a ``link`` template (``https://desk.example.com/t/{ref}``) the link
is stored with the session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlmodel import Session

from commands.i18n import Translate, translator
from commands.importing import (
    ImportRefused,
    Mapping,
    PeriodInfo,
    Problem,
    Roster,
    load_mapping,
    prepare,
    render_problems,
    sha256_of,
)
from commands.importing.parsing import as_text, parser_for
from commands.importing.reading import read_source
from commands.importing.store import roster_of
from commands.importing.validation import resolve_agents
from commands.qa.common import scorecard_of
from storage import qa as store
from storage import repo
from storage.models import Period, Team

WRITABLE = ("planned", "open")
NEEDS_SESSION_ID = (
    "Sampling needs a sessions mapping with a session_id column (ticket, chat or recording id), so "
    "that a reviewer can open the original."
)
EMPTY_SESSION_ID = "Rows {rows} have no session id; every sampled session needs one."
NO_PERIOD = "Team {team} has no period {period}."


class SessionsRefused(Exception):
    """A file that cannot be sampled for a reason of sampling's own (a translated message id)."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


@dataclass(frozen=True)
class LoadReport:
    """``status``: loaded | unchanged | refused; ``lines(_)`` says it in the asker's language."""

    status: str
    file_name: str
    rows: int = 0
    added: int = 0
    problems: tuple[Problem, ...] = ()
    messages: tuple[str, ...] = field(default_factory=tuple)
    earlier_at: datetime | None = None
    earlier_by: str = ""

    def lines(self, _: Translate) -> list[str]:
        if self.status == "refused":
            out = [_("{file} was not loaded; nothing was stored:", file=self.file_name)]
            out += list(self.messages)
            return out + render_problems(list(self.problems), _)
        if self.status == "unchanged":
            return [
                _(
                    "{file} was loaded before ({when}, by {who}); nothing changed.",
                    file=self.file_name,
                    when=self.earlier_at.strftime("%Y-%m-%d %H:%M") if self.earlier_at else "?",
                    who=self.earlier_by,
                )
            ]
        return [_("{file}: {rows} sessions read, {added} new sessions stored for sampling.",
                  file=self.file_name, rows=self.rows, added=self.added)]  # fmt: skip


def session_frame(
    data: bytes, file_name: str, mapping: Mapping, roster: Roster, period: PeriodInfo
) -> pd.DataFrame:
    """The file's sessions as ``member_id, ref, started_at`` (aware, UTC); raises
    :class:`ImportRefused`.

    :func:`commands.importing.prepare` checks the whole file first (unknown agents, bad times,
    times outside the period, duplicate ids …), so every row read here is valid.
    """
    if mapping.kind != "sessions" or mapping.column("session_id") is None:
        raise SessionsRefused(NEEDS_SESSION_ID)
    prepare(data, file_name, mapping, roster, period)
    source = read_source(data, file_name, mapping)
    typed: dict[str, pd.Series] = {}
    for name in ("agent", "time", "session_id"):
        spec = mapping.column(name)
        assert spec is not None
        column = source.frame[name]
        if spec.type in ("text", "id"):  # as the import reads them (validation._parse_column)
            values = as_text(column)
            if spec.take_after:
                values = values.str.rsplit(spec.take_after, n=1).str[-1].str.strip()
            typed[name] = values
        else:
            typed[name] = parser_for(spec, mapping)(column)[0]
    # the import's own rule: an account of the mapping's source first (the whole cell, then
    # the part take_after keeps), then the name; prepare() has refused any agent not found
    agent_spec = mapping.column("agent")
    whole = (
        as_text(source.frame["agent"])
        if roster.aliases and agent_spec is not None and agent_spec.take_after
        else None
    )
    codes, _names, member_of = resolve_agents(
        typed["agent"], roster, whole
    )  # the KPI import's own rule
    members = member_of[codes].tolist()
    raw_refs = typed["session_id"]
    empty = raw_refs.isna() | (raw_refs.astype(str).str.strip() == "")
    if empty.any():
        rows = source.file_rows(empty.to_numpy())
        raise SessionsRefused(EMPTY_SESSION_ID, rows=", ".join(str(r) for r in rows[:20]))
    refs = raw_refs.astype(str).str.strip()
    times = pd.to_datetime(typed["time"])
    if getattr(times.dt, "tz", None) is None:
        times = times.dt.tz_localize(
            ZoneInfo(period.timezone), ambiguous="NaT", nonexistent="shift_forward"
        )
    return pd.DataFrame(
        {"member_id": members, "ref": refs.to_numpy(), "started_at": times.dt.tz_convert(UTC)}
    )


def store_sessions(
    session: Session,
    *,
    team: Team,
    period: Period,
    frame: pd.DataFrame,
    import_id: int | None = None,
    load_id: int | None = None,
) -> int:
    """Store sessions for sampling: ``frame`` has ``member_id``, ``ref`` and ``started_at`` (aware,
    or naive = the team's local time), optionally ``url``. A reference the period already has is
    skipped. Returns how many were stored. For the KPI import to call with a sessions file."""
    zone = ZoneInfo(team.timezone)
    card = scorecard_of(team, period, session=session)
    link = card.link if card is not None else ""
    rows: list[dict[str, Any]] = []
    for record in frame.to_dict("records"):
        moment = pd.Timestamp(record["started_at"]).to_pydatetime()
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        ref = str(record["ref"])
        url = record.get("url") or (link.replace("{ref}", ref) if link else None)
        rows.append(
            {
                "member_id": int(record["member_id"]),
                "ref": ref,
                "url": url,
                "started_at": moment.astimezone(UTC),
                "day": moment.astimezone(zone).date(),
            }
        )
    return store.add_sessions(
        session=session, team=team, period=period, rows=rows, import_id=import_id, load_id=load_id
    )


def load_sessions(
    session: Session,
    *,
    team: str,
    period_key: str,
    mapping: str | Mapping,
    data: bytes,
    file_name: str,
    actor: str,
    lang: str | None = None,
    now: datetime | None = None,
) -> LoadReport:
    """Load a sessions file for sampling: every row or none; the same file twice changes nothing.

    ``lang`` is the language of the report's sampling-specific messages."""
    _ = translator(lang)
    team_row = repo.get_team_by_name(session=session, name=team)
    if team_row is None:
        return LoadReport("refused", file_name, problems=(Problem("team_unknown", {"team": team}),))
    try:
        loaded = load_mapping(mapping) if isinstance(mapping, str) else mapping
        period = repo.get_period(session=session, team=team_row, key=period_key)
        if period is None:
            return LoadReport(
                "refused", file_name, messages=(_(NO_PERIOD, team=team, period=period_key),)
            )
        if period.status not in WRITABLE:
            return LoadReport(
                "refused",
                file_name,
                problems=(
                    Problem("period_closed", {"period": period_key, "status": period.status}),
                ),
            )
        digest = sha256_of(data)
        earlier = store.find_load(session=session, period=period, sha256=digest)
        if earlier is not None:
            return LoadReport(
                "unchanged",
                file_name,
                rows=earlier.row_count,
                earlier_at=earlier.loaded_at,
                earlier_by=earlier.loaded_by,
            )
        info = PeriodInfo(period.key, period.starts_on, period.ends_on, team_row.timezone)
        frame = session_frame(
            data, file_name, loaded, roster_of(session, team_row, loaded.source), info
        )
    except ImportRefused as refused:
        return LoadReport("refused", file_name, problems=tuple(refused.problems))
    except SessionsRefused as refused:
        return LoadReport("refused", file_name, messages=(_(refused.message, **refused.params),))
    load = store.add_load(
        session=session,
        team=team_row,
        period=period,
        file_name=file_name,
        sha256=digest,
        mapping_name=loaded.name,
        row_count=len(frame),
        actor=actor,
        now=now or datetime.now(UTC),
    )
    added = store_sessions(session, team=team_row, period=period, frame=frame, load_id=load.id)
    return LoadReport("loaded", file_name, rows=len(frame), added=added)
