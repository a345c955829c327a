"""Admin in chat, and the checks the command line shares: teams, members, managers, periods.

Chat (admins; ``/period`` also a manager of the team):

    /team add NAME [lang=zh|en] [tz=Asia/Shanghai] [scheme=online_shop]
    /team set NAME [lang=…] [tz=…] [scheme=…]
    /member add TEAM NAME agent|manager|admin|qa [manager=NAME] [slack=U123] [telegram=42] [lang=zh|en]
    /member manager TEAM NAME MANAGER
    /member list TEAM
    /period open [TEAM] [2026-11] [until=2026-12-07]
    /period close [TEAM] [2026-11]

The service functions (:func:`check_member`, :func:`add_members`, :func:`create_team`,
:func:`update_team`, :func:`set_manager`, :func:`open_period`, :func:`close_period`)
are what ``kpibot team …`` / ``kpibot member …`` call too, so chat and CLI check the
same things. Problems are :class:`Problem` (an English msgid and parameters), turned
into text in the asker's language; every change is audited.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session

from commands import permissions
from commands.context import Context, Handler
from commands.i18n import LANGUAGES, Translate
from commands.messages import Reply
from commands.results import LOCKED_STATUSES
from scoring import SchemeError, parse_scheme
from scoring.provision import provision_problems
from storage import repo
from storage.models import ROLE_VALUES, Member, Period, Scheme, Team

SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
TELEGRAM_ID = re.compile(r"^\d{1,20}$")
DEFAULT_REVIEW_DAYS = 7
LEADER_ROLES = ("manager", "admin")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: an English msgid with parameters (``row`` for a file)."""

    message: str
    params: Mapping[str, Any] = field(default_factory=dict)
    row: int | None = None

    def text(self, _: Translate) -> str:
        body = _(self.message, **dict(self.params))
        return (
            _("row {row}: {problem}", row=self.row, problem=body) if self.row is not None else body
        )


class AdminError(Exception):
    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)

    def lines(self, _: Translate) -> list[str]:
        return [p.text(_) for p in self.problems]


# -- members ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberSpec:
    """A member to add, as typed in chat, on the command line or in a CSV row."""

    team: str
    name: str
    role: str = "agent"
    manager: str | None = None
    slack: str | None = None
    telegram: str | None = None
    lang: str | None = None
    name_en: str | None = None
    row: int | None = None


def _p(message: str, row: int | None = None, **params: Any) -> Problem:
    return Problem(message, params, row)


def check_member(
    spec: MemberSpec,
    *,
    session: Session,
    batch: Sequence[MemberSpec] = (),
) -> list[Problem]:
    """Every problem with adding ``spec``; ``batch`` is the rest of an import (all-or-nothing)."""
    row = spec.row
    problems: list[Problem] = []
    name = spec.name.strip()
    if not name:
        problems.append(_p("A member needs a name.", row))
    if spec.role not in ROLE_VALUES:
        problems.append(
            _p("Unknown role {role}: use agent, manager, admin or qa.", row, role=spec.role)
        )
    if spec.lang is not None and spec.lang not in LANGUAGES:
        problems.append(_p("Unknown language {lang}: use zh or en.", row, lang=spec.lang))
    if spec.slack is not None and not SLACK_ID.match(spec.slack):
        problems.append(
            _p("{value} is not a Slack user id (it looks like U012AB3CD).", row, value=spec.slack)
        )
    if spec.telegram is not None and not TELEGRAM_ID.match(spec.telegram):
        problems.append(
            _p("{value} is not a Telegram user id (digits only).", row, value=spec.telegram)
        )
    team = repo.get_team_by_name(session=session, name=spec.team) if spec.team.strip() else None
    if team is None:
        problems.append(_p("There is no team called {team}.", row, team=spec.team))
    elif name and repo.get_member_by_name(session=session, team=team, name=name) is not None:
        problems.append(
            _p("Team {team} already has a member called {name}.", row, team=spec.team, name=name)
        )
    others = [s for s in batch if s is not spec]
    if name and any(
        s.team == spec.team and s.name.strip() == name for s in others if (s.row or 0) < (row or 0)
    ):
        problems.append(_p("{name} appears twice for team {team}.", row, name=name, team=spec.team))
    if spec.slack:
        if repo.get_member_by_slack_id(session=session, slack_user_id=spec.slack) is not None:
            problems.append(
                _p("Slack user {value} is already linked to another member.", row, value=spec.slack)
            )
        elif any(s.slack == spec.slack for s in others if (s.row or 0) < (row or 0)):
            problems.append(_p("Slack user {value} appears twice.", row, value=spec.slack))
    if spec.telegram:
        if (
            repo.get_member_by_telegram_id(session=session, telegram_user_id=spec.telegram)
            is not None
        ):
            problems.append(
                _p(
                    "Telegram user {value} is already linked to another member.",
                    row,
                    value=spec.telegram,
                )
            )
        elif any(s.telegram == spec.telegram for s in others if (s.row or 0) < (row or 0)):
            problems.append(_p("Telegram user {value} appears twice.", row, value=spec.telegram))
    if spec.manager and team is not None:
        problems += _check_manager_name(spec, team, others, session=session)
    return problems


def _check_manager_name(
    spec: MemberSpec, team: Team, others: Sequence[MemberSpec], *, session: Session
) -> list[Problem]:
    assert spec.manager is not None
    wanted = spec.manager.strip()
    if wanted == spec.name.strip():
        return [_p("{name} cannot be their own manager.", spec.row, name=wanted)]
    existing = repo.get_member_by_name(session=session, team=team, name=wanted)
    if existing is not None:
        if existing.role not in LEADER_ROLES:
            return [
                _p(
                    "{manager} is not a manager (role {role}).",
                    spec.row,
                    manager=wanted,
                    role=existing.role,
                )
            ]
        return []
    pending = next((s for s in others if s.team == spec.team and s.name.strip() == wanted), None)
    if pending is None:
        return [
            _p(
                "Team {team} has no manager called {manager}.",
                spec.row,
                team=spec.team,
                manager=wanted,
            )
        ]
    if pending.role not in LEADER_ROLES:
        return [
            _p(
                "{manager} is not a manager (role {role}).",
                spec.row,
                manager=wanted,
                role=pending.role,
            )
        ]
    return []


def add_members(
    specs: Sequence[MemberSpec], *, session: Session, actor: str, now: datetime
) -> list[Member]:
    """Add every member or none: :class:`AdminError` lists every problem of every row."""
    problems = [p for spec in specs for p in check_member(spec, session=session, batch=specs)]
    if problems:
        raise AdminError(problems)
    ordered = sorted(specs, key=lambda s: 0 if s.role in LEADER_ROLES else 1)
    added: dict[tuple[str, str], Member] = {}
    for spec in ordered:
        team = repo.get_team_by_name(session=session, name=spec.team)
        assert team is not None
        manager = None
        if spec.manager:
            manager = added.get((spec.team, spec.manager.strip())) or repo.get_member_by_name(
                session=session, team=team, name=spec.manager
            )
        member = repo.add_member(
            session=session, team=team, name=spec.name.strip(), role=spec.role, name_en=spec.name_en,
            manager=manager, slack_user_id=spec.slack or None, telegram_user_id=spec.telegram or None,
            lang=spec.lang, now=now,
        )  # fmt: skip
        repo.append_audit(
            session=session, actor=actor, action="member.add", entity="member", entity_id=member.id,
            after=repo.snapshot(member), reason="member added", at=now,
        )  # fmt: skip
        added[(spec.team, spec.name.strip())] = member
    by_key = {(s.team, s.name.strip()): added[(s.team, s.name.strip())] for s in specs}
    return [by_key[(s.team, s.name.strip())] for s in specs]


def set_manager(
    member: Member, manager: Member | None, *, session: Session, actor: str, now: datetime
) -> list[Problem]:
    """Make ``manager`` the direct superior of ``member`` (audited); problems instead when it cannot."""
    if manager is not None:
        if manager.id == member.id:
            return [_p("{name} cannot be their own manager.", name=member.name)]
        if manager.role not in LEADER_ROLES:
            return [
                _p(
                    "{manager} is not a manager (role {role}).",
                    manager=manager.name,
                    role=manager.role,
                )
            ]
    before = repo.snapshot(member)
    member.manager_id = manager.id if manager is not None else None
    session.add(member)
    session.flush()
    if manager is not None and manager.role == "manager":
        team = repo.get_team(session=session, team_id=member.team_id)
        assert team is not None
        repo.add_team_manager(session=session, team=team, member=manager)
    repo.append_audit(
        session=session, actor=actor, action="member.manager", entity="member", entity_id=member.id,
        before=before, after=repo.snapshot(member), reason="manager set", at=now,
    )  # fmt: skip
    return []


# -- teams -----------------------------------------------------------------------------------


def check_timezone(value: str) -> Problem | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return _p(
            "Unknown time zone {tz}: use a name such as Asia/Shanghai or Europe/London.", tz=value
        )
    return None


def load_scheme_file(
    key: str, schemes_dir: str | Path, *, session: Session
) -> tuple[Scheme | None, list[Problem]]:
    """A scheme by key (``online_shop`` → ``schemes/online_shop.toml``) or path, stored if new."""
    path = Path(key) if key.endswith(".toml") else Path(schemes_dir) / f"{key}.toml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None, [
            _p("There is no scheme {scheme} (looked for {path}).", scheme=key, path=str(path))
        ]
    try:
        parsed = parse_scheme(text)
        unprovided = provision_problems(parsed)
        if unprovided:
            raise SchemeError(unprovided)
    except SchemeError as exc:
        return None, [
            _p(
                "The scheme {scheme} has {n} problems; run: kpibot scheme check {path}",
                scheme=key,
                n=len(exc.problems),
                path=str(path),
            )
        ]
    row = repo.get_or_create_scheme(
        session=session, key=parsed.id, text=text, name_zh=parsed.name_zh, name_en=parsed.name_en,
        content_hash=parsed.content_hash,
    )  # fmt: skip
    return row, []


def create_team(
    name: str,
    *,
    session: Session,
    actor: str,
    now: datetime,
    lang: str = "zh",
    timezone: str = "Asia/Shanghai",
    scheme: str | None = None,
    schemes_dir: str | Path = "schemes",
) -> Team:
    """A new team; :class:`AdminError` with every problem when it cannot be added."""
    problems: list[Problem] = []
    if not name.strip() or any(c.isspace() for c in name.strip()):
        problems.append(_p("A team name is one word without spaces, for example demo."))
    elif repo.get_team_by_name(session=session, name=name) is not None:
        problems.append(_p("There is already a team called {team}.", team=name))
    if lang not in LANGUAGES:
        problems.append(_p("Unknown language {lang}: use zh or en.", lang=lang))
    tz_problem = check_timezone(timezone)
    if tz_problem:
        problems.append(tz_problem)
    scheme_row = None
    if scheme:
        scheme_row, scheme_problems = load_scheme_file(scheme, schemes_dir, session=session)
        problems += scheme_problems
    if problems:
        raise AdminError(problems)
    team = repo.create_team(
        session=session, name=name.strip(), lang=lang, timezone=timezone, scheme=scheme_row, now=now
    )
    repo.append_audit(
        session=session, actor=actor, action="team.add", entity="team", entity_id=team.id,
        after=repo.snapshot(team), reason="team added", at=now,
    )  # fmt: skip
    return team


def update_team(
    team: Team,
    *,
    session: Session,
    actor: str,
    now: datetime,
    lang: str | None = None,
    timezone: str | None = None,
    scheme: str | None = None,
    schemes_dir: str | Path = "schemes",
) -> Team:
    """Change a team's language, time zone and/or scheme (audited); :class:`AdminError` on problems."""
    problems: list[Problem] = []
    if lang is not None and lang not in LANGUAGES:
        problems.append(_p("Unknown language {lang}: use zh or en.", lang=lang))
    if timezone is not None and (tz_problem := check_timezone(timezone)):
        problems.append(tz_problem)
    scheme_row = None
    if scheme is not None:
        scheme_row, scheme_problems = load_scheme_file(scheme, schemes_dir, session=session)
        problems += scheme_problems
    if problems:
        raise AdminError(problems)
    if lang is not None or timezone is not None:
        before = repo.snapshot(team)
        team.lang = lang or team.lang
        team.timezone = timezone or team.timezone
        session.add(team)
        session.flush()
        repo.append_audit(
            session=session, actor=actor, action="team.settings", entity="team", entity_id=team.id,
            before=before, after=repo.snapshot(team), reason="team settings changed", at=now,
        )  # fmt: skip
    if scheme_row is not None:
        repo.set_team_scheme(
            session=session, team=team, scheme=scheme_row, actor=actor, reason="scheme set", now=now
        )
    return team


# -- periods ---------------------------------------------------------------------------------


def _zone(team: Team) -> ZoneInfo:
    try:
        return ZoneInfo(team.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_today(team: Team, now: datetime) -> date:
    return now.astimezone(_zone(team)).date()


def open_period(
    team: Team,
    key: str | None,
    *,
    session: Session,
    actor: str,
    now: datetime,
    until: date | None = None,
) -> Period:
    """Open the period ``key`` (default: the current month) and its review window from now.

    The window closes at the end of ``until`` in the team's time zone (default: a week after
    the later of the period's last day and today). Audited.
    """
    key = key or repo.period_key(local_today(team, now))
    try:
        starts_on, ends_on = repo.period_bounds(key)
    except ValueError:
        raise AdminError(
            [
                _p(
                    "{period} is not a period: write 2026-11 for a month or 2026-Q4 for a quarter.",
                    period=key,
                )
            ]
        ) from None
    last_day = until or max(ends_on, local_today(team, now)) + timedelta(days=DEFAULT_REVIEW_DAYS)
    if last_day < local_today(team, now):
        raise AdminError(
            [_p("The review deadline {date} has already passed.", date=last_day.isoformat())]
        )
    closes_at = datetime.combine(last_day + timedelta(days=1), time(0, 0), tzinfo=_zone(team))
    period = repo.get_period(session=session, team=team, key=key)
    if period is None:
        period = repo.get_or_create_period(session=session, team=team, key=key, status="planned")
    if period.status in LOCKED_STATUSES:
        raise AdminError(
            [
                _p(
                    "Period {period} is {status}; it cannot be opened again.",
                    period=key,
                    status=period.status,
                )
            ]
        )
    before = repo.snapshot(period)
    period.review_opens_at = min(now, period.review_opens_at or now)
    period.review_closes_at = closes_at
    if period.scheme_id is None:
        period.scheme_id = team.scheme_id
    session.add(period)
    session.flush()
    repo.append_audit(
        session=session, actor=actor, action="period.window", entity="period", entity_id=period.id,
        before=before, after=repo.snapshot(period), reason="review window opened", at=now,
    )  # fmt: skip
    repo.set_period_status(
        session=session, period=period, status="open", actor=actor, reason="period opened", now=now
    )
    return period


def close_period(
    team: Team, key: str | None, *, session: Session, actor: str, now: datetime
) -> Period:
    """Close the period (reviews end now); default: the latest open one. Audited."""
    if key:
        period = repo.get_period(session=session, team=team, key=key)
        if period is None:
            raise AdminError(
                [_p("Team {team} has no period {period}.", team=team.name, period=key)]
            )
    else:
        open_ones = repo.list_periods(session=session, team=team, statuses=["open"])
        if not open_ones:
            raise AdminError([_p("Team {team} has no open period.", team=team.name)])
        period = open_ones[-1]
    if period.status != "open":
        raise AdminError(
            [
                _p(
                    "Period {period} is not open (it is {status}).",
                    period=period.key,
                    status=period.status,
                )
            ]
        )
    before = repo.snapshot(period)
    if period.review_closes_at is None or period.review_closes_at > now:
        period.review_closes_at = now
        session.add(period)
        session.flush()
        repo.append_audit(
            session=session, actor=actor, action="period.window", entity="period", entity_id=period.id,
            before=before, after=repo.snapshot(period), reason="review window closed", at=now,
        )  # fmt: skip
    repo.set_period_status(
        session=session,
        period=period,
        status="closed",
        actor=actor,
        reason="period closed",
        now=now,
    )
    return period


# -- chat ------------------------------------------------------------------------------------


def options(tokens: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Plain words and ``key=value`` options."""
    words: list[str] = []
    opts: dict[str, str] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        if sep and key:
            opts[key.lower()] = value
        else:
            words.append(token)
    return words, opts


def _error(ctx: Context, exc: AdminError) -> list[Reply]:
    return [Reply(text="\n".join(exc.lines(ctx._)), ephemeral=True)]


def _usage(ctx: Context, text: str) -> list[Reply]:
    return [Reply(text=text, ephemeral=True)]


def team_command(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    decision = permissions.can_administer(ctx.actor)
    if not decision:
        return [permissions.refusal(decision, _)]
    words, opts = options(args.split())
    usage = _(
        "Usage: /team add NAME [lang=zh|en] [tz=Asia/Shanghai] [scheme=online_shop] · /team set NAME lang=en tz=Europe/London scheme=online_shop"
    )
    if len(words) != 2 or words[0] not in ("add", "set") or set(opts) - {"lang", "tz", "scheme"}:
        return _usage(ctx, usage)
    action, name = words
    actor = repo.actor_of(ctx.actor)
    try:
        if action == "add":
            team = create_team(
                name, session=ctx.session, actor=actor, now=ctx.now, lang=opts.get("lang", ctx.lang),
                timezone=opts.get("tz", "Asia/Shanghai"), scheme=opts.get("scheme"),
                schemes_dir=ctx.config.schemes_dir,
            )  # fmt: skip
            return [
                Reply(
                    text=_(
                        "Team {team} added (language {lang}, time zone {tz}).",
                        team=team.name,
                        lang=team.lang,
                        tz=team.timezone,
                    )
                )
            ]
        team_row = repo.get_team_by_name(session=ctx.session, name=name)
        if team_row is None:
            return _usage(ctx, _("There is no team called {team}.", team=name))
        if not opts:
            return _usage(ctx, usage)
        update_team(
            team_row, session=ctx.session, actor=actor, now=ctx.now, lang=opts.get("lang"),
            timezone=opts.get("tz"), scheme=opts.get("scheme"), schemes_dir=ctx.config.schemes_dir,
        )  # fmt: skip
    except AdminError as exc:
        return _error(ctx, exc)
    scheme = repo.scheme_for(session=ctx.session, team=team_row)
    return [Reply(text=_("Team {team}: language {lang}, time zone {tz}, scheme {scheme}.", team=team_row.name,
                         lang=team_row.lang, tz=team_row.timezone, scheme=scheme.key if scheme else "—"))]  # fmt: skip


def member_command(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    decision = permissions.can_administer(ctx.actor)
    if not decision:
        return [permissions.refusal(decision, _)]
    words, opts = options(args.split())
    usage = _(
        "Usage: /member add TEAM NAME ROLE [manager=NAME] [slack=U123] [telegram=42] [lang=zh|en] · /member manager TEAM NAME MANAGER · /member list TEAM"
    )
    if not words:
        return _usage(ctx, usage)
    action = words[0]
    if action == "list" and len(words) == 2:
        return member_list(ctx, words[1])
    if action == "manager" and len(words) == 4:
        return member_manager(ctx, *words[1:])
    if action != "add" or len(words) != 4 or set(opts) - {"manager", "slack", "telegram", "lang"}:
        return _usage(ctx, usage)
    spec = MemberSpec(
        team=words[1], name=words[2], role=words[3], manager=opts.get("manager"), slack=opts.get("slack"),
        telegram=opts.get("telegram"), lang=opts.get("lang"),
    )  # fmt: skip
    try:
        member = add_members(
            [spec], session=ctx.session, actor=repo.actor_of(ctx.actor), now=ctx.now
        )[0]
    except AdminError as exc:
        return _error(ctx, exc)
    return [
        Reply(
            text=_(
                "{name} added to team {team} as {role}.",
                name=member.name,
                team=spec.team,
                role=role_name(_, member.role),
            )
        )
    ]


def role_name(_: Translate, role: str) -> str:
    names = {
        "agent": _("agent"),
        "manager": _("manager"),
        "admin": _("admin"),
        "qa": _("quality inspector"),
    }
    return names.get(role, role)


def member_list(ctx: Context, team_name: str) -> list[Reply]:
    _ = ctx._
    team = repo.get_team_by_name(session=ctx.session, name=team_name)
    if team is None:
        return _usage(ctx, _("There is no team called {team}.", team=team_name))
    members = repo.list_members(session=ctx.session, team=team)
    by_id = {m.id: m for m in members}
    lines = [_("Members of {team}:", team=team.name)]
    for m in members:
        boss = by_id.get(m.manager_id) if m.manager_id else None
        line = f"· {m.name} — {role_name(_, m.role)}"
        if boss is not None:
            line += " · " + _("manager {name}", name=boss.name)
        lines.append(line)
    return [Reply(text="\n".join(lines), ephemeral=True)]


def member_manager(ctx: Context, team_name: str, name: str, manager_name: str) -> list[Reply]:
    _ = ctx._
    team = repo.get_team_by_name(session=ctx.session, name=team_name)
    if team is None:
        return _usage(ctx, _("There is no team called {team}.", team=team_name))
    member = repo.get_member_by_name(session=ctx.session, team=team, name=name)
    manager = repo.get_member_by_name(session=ctx.session, team=team, name=manager_name)
    if member is None or manager is None:
        missing = name if member is None else manager_name
        return _usage(
            ctx, _("There is no member {name} in team {team}.", name=missing, team=team_name)
        )
    problems = set_manager(
        member, manager, session=ctx.session, actor=repo.actor_of(ctx.actor), now=ctx.now
    )
    if problems:
        return _usage(ctx, "\n".join(p.text(_) for p in problems))
    return [
        Reply(
            text=_(
                "{manager} is now the manager of {name}.", manager=manager.name, name=member.name
            )
        )
    ]


def period_command(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    words, opts = options(args.split())
    usage = _(
        "Usage: /period open [TEAM] [2026-11] [until=2026-12-07] · /period close [TEAM] [2026-11]"
    )
    if not words or words[0] not in ("open", "close") or set(opts) - {"until"}:
        return _usage(ctx, usage)
    action, rest = words[0], words[1:]
    key = next((w for w in rest if re.match(r"^\d{4}-(\d{2}|Q[1-4])$", w, re.IGNORECASE)), None)
    names = [w for w in rest if w != key]
    if len(names) > 1:
        return _usage(ctx, usage)
    if names:
        team = repo.get_team_by_name(session=ctx.session, name=names[0])
        if team is None:
            return _usage(ctx, _("There is no team called {team}.", team=names[0]))
    else:
        team = repo.get_team(session=ctx.session, team_id=ctx.actor.team_id)
        assert team is not None
    decision = permissions.can_manage_period(ctx.actor, team)
    if not decision:
        return [permissions.refusal(decision, _)]
    until: date | None = None
    if "until" in opts:
        try:
            until = date.fromisoformat(opts["until"])
        except ValueError:
            return _usage(
                ctx, _("{value} is not a date: write it as 2026-12-07.", value=opts["until"])
            )
    actor = repo.actor_of(ctx.actor)
    try:
        if action == "open":
            period = open_period(
                team,
                key.upper() if key else None,
                session=ctx.session,
                actor=actor,
                now=ctx.now,
                until=until,
            )
            assert period.review_closes_at is not None
            deadline = period.review_closes_at.astimezone(_zone(team)) - timedelta(minutes=1)
            return [Reply(text=_("Period {period} of {team} is open. Reviews are due by {when}.", period=period.key,
                                 team=team.name, when=deadline.strftime("%Y-%m-%d %H:%M")))]  # fmt: skip
        period = close_period(
            team, key.upper() if key else None, session=ctx.session, actor=actor, now=ctx.now
        )
    except AdminError as exc:
        return _error(ctx, exc)
    return [
        Reply(
            text=_(
                "Period {period} of {team} is closed; no more reviews.",
                period=period.key,
                team=team.name,
            )
        )
    ]


COMMANDS: dict[str, Handler] = {
    "team": team_command,
    "member": member_command,
    "period": period_command,
}
