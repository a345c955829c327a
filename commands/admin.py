"""Admin in chat, and the checks the command line shares: teams, members, managers, periods.

Chat (admins; ``/period`` also a manager of the team):

    /team add NAME [lang=zh|en] [tz=Asia/Shanghai] [scheme=online_shop]
    /team set NAME [lang=…] [tz=…] [scheme=…]
    /member add TEAM NAME agent|manager|admin|qa [manager=NAME] [slack=U123] [telegram=42]
    [lang=zh|en]
    /member manager TEAM NAME MANAGER
    /member list TEAM
    /member alias add|remove TEAM NAME SOURCE ALIAS · /member alias list TEAM [NAME]
    (commands.aliases)
    /period open [TEAM] [2026-11] [until=2026-12-07]
    /period close [TEAM] [2026-11]

The service functions (:func:`check_member`, :func:`add_members`, :func:`create_team`,
:func:`update_team`, :func:`set_manager`, :func:`open_period`, :func:`close_period`)
are what ``kpibot team …`` / ``kpibot member …`` call too, so chat and CLI check the
same things. Problems are :class:`~commands.problems.Problem` (an English msgid and parameters),
turned into text in the asker's language; every change is audited.
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

from commands import permissions, publication
from commands.aliases import alias_command
from commands.context import Command, Context
from commands.i18n import LANGUAGES, Translate, language_name
from commands.importing.mapping import declared_indicators
from commands.linking import messengers_named
from commands.messages import Reply
from commands.people import TeamClock
from commands.problems import AdminError, Problem, role_name
from commands.results import LOCKED_STATUSES
from scoring import SchemeError, parse_scheme
from scoring.provision import provision_problems
from storage import repo
from storage.models import NAMED_BY_NAME, ROLE_VALUES, Member, Period, Scheme, Team

SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
TELEGRAM_ID = re.compile(r"^\d{1,20}$")
DEFAULT_REVIEW_DAYS = 7
LEADER_ROLES = ("manager", "admin")


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
    role_given: str | None = None
    """The role as the file had it (``None``: the cell was empty), for ``import --update``."""


def _p(message: str, row: int | None = None, **params: Any) -> Problem:
    return Problem(message, params, row)


ROLE_WORDS: dict[str, str] = {
    "agent": "agent", "客服": "agent", "坐席": "agent",
    "manager": "manager", "主管": "manager", "经理": "manager",
    "admin": "admin", "管理员": "admin", "人事": "admin",
    "qa": "qa", "质检": "qa", "质检员": "qa",
}  # fmt: skip
"""What people type for a role, in either language (``member list`` prints 客服/主管)."""

CLEAR = "-"
"""Typed for a field of ``member set`` (or a cell of ``member import --update``): clear it."""


def parse_role(text: str) -> str:
    """``客服`` → ``agent``; an unknown word comes back as typed (the check names it)."""
    word = text.strip()
    return ROLE_WORDS.get(word.lower(), ROLE_WORDS.get(word, word))


def check_member(
    spec: MemberSpec,
    *,
    session: Session,
    batch: Sequence[MemberSpec] = (),
) -> list[Problem]:
    """Every problem with adding ``spec``; ``batch`` is the rest of an import (all-or-nothing)."""
    others = [s for s in batch if s is not spec]
    earlier = [s for s in others if (s.row or 0) < (spec.row or 0)]
    problems = _check_fields(spec)
    team = repo.get_team_by_name(session=session, name=spec.team) if spec.team.strip() else None
    problems += _check_place(spec, team, earlier, session=session)
    problems += _check_ids_free(spec, earlier, session=session)
    if spec.manager and team is not None:
        problems += _check_manager_name(spec, team, others, session=session)
    return problems


def _check_fields(spec: MemberSpec) -> list[Problem]:
    """What is wrong with ``spec`` by itself: a missing name, an unknown role, a malformed id."""
    row = spec.row
    problems: list[Problem] = []
    if not spec.name.strip():
        problems.append(_p("A member needs a name.", row))
    if parse_role(spec.role) not in ROLE_VALUES:
        problems.append(_p(UNKNOWN_ROLE, row, role=spec.role))
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
    return problems


def _check_place(
    spec: MemberSpec, team: Team | None, earlier: Sequence[MemberSpec], *, session: Session
) -> list[Problem]:
    """The team exists and has no member of that name yet, in the database or earlier rows."""
    row, name = spec.row, spec.name.strip()
    problems: list[Problem] = []
    if team is None:
        problems.append(_p("There is no team called {team}.", row, team=spec.team))
    elif name and repo.get_member_by_name(session=session, team=team, name=name) is not None:
        problems.append(
            _p("Team {team} already has a member called {name}.", row, team=spec.team, name=name)
        )
    if name and any(s.team == spec.team and s.name.strip() == name for s in earlier):
        problems.append(_p("{name} appears twice for team {team}.", row, name=name, team=spec.team))
    return problems


def _check_ids_free(
    spec: MemberSpec, earlier: Sequence[MemberSpec], *, session: Session
) -> list[Problem]:
    """The Slack and Telegram ids belong to nobody yet, in the database or earlier rows."""
    row = spec.row
    problems: list[Problem] = []
    if spec.slack:
        if repo.get_member_by_slack_id(session=session, slack_user_id=spec.slack) is not None:
            problems.append(
                _p("Slack user {value} is already linked to another member.", row, value=spec.slack)
            )
        elif any(s.slack == spec.slack for s in earlier):
            problems.append(_p("Slack user {value} appears twice.", row, value=spec.slack))
    if spec.telegram:
        owner = repo.get_member_by_telegram_id(session=session, telegram_user_id=spec.telegram)
        if owner is not None:
            problems.append(
                _p(
                    "Telegram user {value} is already linked to another member.",
                    row,
                    value=spec.telegram,
                )
            )
        elif any(s.telegram == spec.telegram for s in earlier):
            problems.append(_p("Telegram user {value} appears twice.", row, value=spec.telegram))
    return problems


UNKNOWN_ROLE = permissions.N_("Unknown role {role}: use agent, manager, admin or qa.")
LEFT = permissions.N_("{name} has left (inactive): choose someone who is still in the team.")


def _check_manager_name(
    spec: MemberSpec, team: Team, others: Sequence[MemberSpec], *, session: Session
) -> list[Problem]:
    assert spec.manager is not None
    wanted = spec.manager.strip()
    if wanted == spec.name.strip():
        return [_p("{name} cannot be their own manager.", spec.row, name=wanted)]
    existing = repo.get_member_by_name(session=session, team=team, name=wanted)
    if existing is not None:
        if not existing.active:
            return [_p(LEFT, spec.row, name=wanted)]
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
    pending_role = parse_role(pending.role) if pending is not None else None
    if pending is None:
        return [
            _p(
                "Team {team} has no manager called {manager}.",
                spec.row,
                team=spec.team,
                manager=wanted,
            )
        ]
    if pending_role not in LEADER_ROLES:
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
    ordered = sorted(specs, key=lambda s: 0 if parse_role(s.role) in LEADER_ROLES else 1)
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
            session=session,
            team=team,
            name=spec.name.strip(),
            role=parse_role(spec.role),
            name_en=spec.name_en,
            manager=manager,
            slack_user_id=spec.slack or None,
            telegram_user_id=spec.telegram or None,
            lang=spec.lang,
            now=now,
        )
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
    """Make ``manager`` the direct superior of ``member`` (audited); problems instead when it
    cannot."""
    if manager is not None:
        if manager.id == member.id:
            return [_p("{name} cannot be their own manager.", name=member.name)]
        if not manager.active:
            return [_p(LEFT, name=manager.name)]
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


@dataclass(frozen=True)
class MemberUpdate:
    """Changes to an existing member; ``None`` leaves a field as it is, :data:`CLEAR` empties it."""

    team: str
    name: str
    role: str | None = None
    manager: str | None = None
    slack: str | None = None
    telegram: str | None = None
    lang: str | None = None
    name_en: str | None = None
    row: int | None = None


N_ = permissions.N_
FIELD_NAMES: dict[str, str] = {
    "role": N_("role"), "manager_id": N_("manager"), "slack_user_id": N_("Slack id"),
    "telegram_user_id": N_("Telegram id"), "lang": N_("language"), "name_en": N_("English name"),
    "active": N_("status"),
}  # fmt: skip


@dataclass(frozen=True)
class MemberPlan:
    """What an update would change: ``changes`` column → new value, ``before`` column → old
    value."""

    member: Member
    changes: Mapping[str, Any]
    before: Mapping[str, Any]
    manager_names: Mapping[int, str] = field(default_factory=dict)

    def lines(self, _: Translate) -> list[str]:
        """``role: 客服 → 主管`` per changed field, in the reader's language."""
        out = []
        for key, after in self.changes.items():
            out.append(
                _(
                    "{field}: {before} → {after}",
                    field=_(FIELD_NAMES[key]),
                    before=self._show(_, key, self.before.get(key)),
                    after=self._show(_, key, after),
                )
            )
        return out

    def _show(self, _: Translate, key: str, value: Any) -> str:
        if value is None:
            return "—"
        if key == "role":
            return role_name(_, str(value))
        if key == "manager_id":
            return self.manager_names.get(int(value), "?")
        if key == "lang":
            return {"zh": _("Chinese"), "en": _("English")}.get(str(value), str(value))
        if key == "active":
            return _("active") if value else _("left")
        return str(value)


def _cleared(value: str | None) -> tuple[bool, str | None]:
    """(given, value): ``None`` → not given; ``-`` → given and empty."""
    if value is None:
        return False, None
    value = value.strip()
    return True, (None if value in (CLEAR, "") else value)


def plan_update(
    update: MemberUpdate, *, session: Session, batch: Sequence[MemberUpdate] = ()
) -> tuple[MemberPlan | None, list[Problem]]:
    """What ``update`` would change, or every problem with it (nothing is written)."""
    row = update.row
    team = repo.get_team_by_name(session=session, name=update.team) if update.team.strip() else None
    if team is None:
        return None, [_p("There is no team called {team}.", row, team=update.team)]
    member = repo.get_member_by_name(session=session, team=team, name=update.name)
    if member is None:
        return None, [
            _p("There is no member {name} in team {team}.", row, name=update.name, team=team.name)
        ]
    others = [u for u in batch if u is not update]
    changes, problems = _plan_role(update, member, others, session=session)
    manager_change, manager_names, manager_problems = _plan_manager(
        update, team, member, others, session=session
    )
    changes |= manager_change
    problems += manager_problems
    for key, value_text, pattern, finder in (
        ("slack_user_id", update.slack, SLACK_ID, "slack"),
        ("telegram_user_id", update.telegram, TELEGRAM_ID, "telegram"),
    ):
        given, value = _cleared(value_text)
        if not given or value == getattr(member, key):
            continue
        if value is not None:
            problems += _check_platform_id(
                member, finder, value, pattern, others, session=session, row=row
            )
        changes[key] = value
    given, lang = _cleared(update.lang)
    if given and lang != member.lang:
        if lang is not None and lang not in LANGUAGES:
            problems.append(_p("Unknown language {lang}: use zh or en.", row, lang=lang))
        changes["lang"] = lang
    given, name_en = _cleared(update.name_en)
    if given and name_en != member.name_en:
        changes["name_en"] = name_en
    if problems:
        return None, problems
    before = {k: getattr(member, k) for k in changes}
    return MemberPlan(member, changes, before, manager_names), []


def _plan_role(
    update: MemberUpdate, member: Member, others: Sequence[MemberUpdate], *, session: Session
) -> tuple[dict[str, Any], list[Problem]]:
    """The role change of ``update`` (if any) and its problems."""
    if update.role is None or not update.role.strip():
        return {}, []
    role = parse_role(update.role)
    if role not in ROLE_VALUES:
        return {}, [_p(UNKNOWN_ROLE, update.row, role=update.role)]
    if role == member.role:
        return {}, []
    problems: list[Problem] = []
    if role not in LEADER_ROLES:
        problems = _still_managing(member, others, session=session, row=update.row)
    return {"role": role}, problems


def _plan_manager(
    update: MemberUpdate,
    team: Team,
    member: Member,
    others: Sequence[MemberUpdate],
    *,
    session: Session,
) -> tuple[dict[str, Any], dict[int, str], list[Problem]]:
    """The manager change of ``update``: (change, names of the old and new manager, problems)."""
    given, manager_name = _cleared(update.manager)
    if not given:
        return {}, {}, []
    manager: Member | None = None
    problems: list[Problem] = []
    if manager_name is not None:
        manager = repo.get_member_by_name(session=session, team=team, name=manager_name)
        problems = _manager_problems(update, team, member, manager, manager_name, others)
    new_id = manager.id if manager is not None else None
    if new_id == member.manager_id:
        return {}, {}, problems
    manager_names: dict[int, str] = {}
    for mid in (new_id, member.manager_id):
        boss = repo.get_member(session=session, member_id=mid) if mid else None
        if boss is not None and boss.id is not None:
            manager_names[boss.id] = boss.name
    return {"manager_id": new_id}, manager_names, problems


def _manager_problems(
    update: MemberUpdate,
    team: Team,
    member: Member,
    manager: Member | None,
    manager_name: str,
    others: Sequence[MemberUpdate],
) -> list[Problem]:
    """Why ``manager`` (found by ``manager_name``) cannot manage ``member``, if it cannot."""
    row = update.row
    promoted = next((parse_role(u.role) for u in others if u.role and u.team == update.team
                     and u.name.strip() == manager_name), None)  # fmt: skip
    if manager is None:
        return [
            _p(
                "Team {team} has no manager called {manager}.",
                row,
                team=team.name,
                manager=manager_name,
            )
        ]
    if manager.id == member.id:
        return [_p("{name} cannot be their own manager.", row, name=member.name)]
    if not manager.active:
        return [_p(LEFT, row, name=manager.name)]
    if (promoted or manager.role) not in LEADER_ROLES:
        return [_p("{manager} is not a manager (role {role}).", row, manager=manager.name,
                   role=promoted or manager.role)]  # fmt: skip
    return []


def _check_platform_id(
    member: Member,
    platform: str,
    value: str,
    pattern: re.Pattern[str],
    others: Sequence[MemberUpdate],
    *,
    session: Session,
    row: int | None,
) -> list[Problem]:
    if not pattern.match(value):
        message = (
            "{value} is not a Slack user id (it looks like U012AB3CD)."
            if platform == "slack"
            else "{value} is not a Telegram user id (digits only)."
        )
        return [_p(message, row, value=value)]
    other = (
        repo.get_member_by_slack_id(session=session, slack_user_id=value)
        if platform == "slack"
        else repo.get_member_by_telegram_id(session=session, telegram_user_id=value)
    )
    freed = other is not None and any(
        u.team and u.name.strip() == other.name and _cleared(getattr(u, platform))[0]
        for u in others
    )
    if other is not None and other.id != member.id and not freed:
        return [_p(LINKED_TO, row, platform=platform.capitalize(), value=value, name=other.name,
                   platform_key=platform)]  # fmt: skip
    if any(getattr(u, platform) == value for u in others if (u.row or 0) < (row or 0)):
        return [_p(APPEARS_TWICE, row, platform=platform.capitalize(), value=value)]
    return []


LINKED_TO = permissions.N_(
    "{platform} user {value} is already linked to {name}: unlink it there first (member set … "
    "{platform_key}=-)."
)
STILL_MANAGES = permissions.N_("{name} still manages {agents}: give them another manager first.")
APPEARS_TWICE = permissions.N_("{platform} user {value} appears twice.")


def _still_managing(
    member: Member, others: Sequence[MemberUpdate], *, session: Session, row: int | None
) -> list[Problem]:
    """A manager who stops being one must not leave agents pointing at them."""
    team = repo.get_team(session=session, team_id=member.team_id)
    assert team is not None
    reassigned = {u.name.strip() for u in others if u.manager is not None}
    theirs = [m.name for m in repo.list_members(session=session, team=team)
              if m.manager_id == member.id and m.name not in reassigned]  # fmt: skip
    if not theirs:
        return []
    return [_p(STILL_MANAGES, row,
               name=member.name, agents=theirs)]  # fmt: skip


def update_members(
    updates: Sequence[MemberUpdate],
    *,
    session: Session,
    actor: str,
    now: datetime,
    dry_run: bool = False,
) -> list[MemberPlan]:
    """Plan every update, then apply them all (unless ``dry_run``); :class:`AdminError` lists every
    problem of every row and changes nothing."""
    plans: list[MemberPlan] = []
    problems: list[Problem] = []
    for update in updates:
        plan, found = plan_update(update, session=session, batch=updates)
        problems += found
        if plan is not None:
            plans.append(plan)
    if problems:
        raise AdminError(problems)
    if dry_run:
        return plans
    # free platform ids first so two members can swap or hand over an account in one import
    wanted = {
        (k, p.changes[k])
        for p in plans
        for k in ("slack_user_id", "telegram_user_id")
        if p.changes.get(k)
    }
    for plan in plans:
        freed = {k: None for k in ("slack_user_id", "telegram_user_id")
                 if k in plan.changes and (k, getattr(plan.member, k)) in wanted}  # fmt: skip
        if freed:
            repo.update_member(session=session, member=plan.member, changes=freed, actor=actor,
                               reason="member updated", now=now)  # fmt: skip
    for plan in plans:
        if plan.changes:
            repo.update_member(
                session=session,
                member=plan.member,
                changes=dict(plan.changes),
                actor=actor,
                reason="member updated",
                now=now,
            )
    return plans


def set_active(
    member: Member, active: bool, *, session: Session, actor: str, now: datetime
) -> list[Member]:
    """Deactivate someone who left (or bring them back); history stays as it was.

    A member who left is in no new period, decides nothing and manages nobody: the agents
    whose direct manager they were fall back to the team's managers (returned, so the admin
    can give them a new one)."""
    released: list[Member] = []
    if not active:
        team = repo.get_team(session=session, team_id=member.team_id)
        assert team is not None
        released = [
            m for m in repo.list_members(session=session, team=team) if m.manager_id == member.id
        ]
        for agent in released:
            repo.update_member(
                session=session,
                member=agent,
                changes={"manager_id": None},
                actor=actor,
                reason=f"manager {member.name} left",
                now=now,
            )
    if member.active != active:
        repo.update_member(
            session=session,
            member=member,
            changes={"active": active},
            actor=actor,
            reason="member left" if not active else "member back",
            now=now,
        )
    return released


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
        unprovided = provision_problems(parsed, declared_indicators())
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
    """Change a team's language, time zone and/or scheme (audited); :class:`AdminError` on
    problems."""
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
    key = key or repo.period_key(TeamClock.of(team).date(now))
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
    last_day = until or max(ends_on, TeamClock.of(team).date(now)) + timedelta(
        days=DEFAULT_REVIEW_DAYS
    )
    if last_day < TeamClock.of(team).date(now):
        raise AdminError(
            [_p("The review deadline {date} has already passed.", date=last_day.isoformat())]
        )
    closes_at = TeamClock.of(team).at(last_day + timedelta(days=1), time(0, 0))
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
            session=session,
            actor=actor,
            action="period.window",
            entity="period",
            entity_id=period.id,
            before=before,
            after=repo.snapshot(period),
            reason="review window closed",
            at=now,
        )
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
    permissions.require(permissions.can_administer(ctx.actor))
    words, opts = options(args.split())
    usage = _(
        "Usage: /team add NAME [lang=zh|en] [tz=Asia/Shanghai] [scheme=online_shop] · /team set "
        "NAME lang=en tz=Europe/London scheme=online_shop"
    )
    if len(words) != 2 or words[0] not in ("add", "set") or set(opts) - {"lang", "tz", "scheme"}:
        return _usage(ctx, usage)
    action, name = words
    actor = repo.actor_of(ctx.actor)
    try:
        if action == "add":
            team = create_team(
                name,
                session=ctx.session,
                actor=actor,
                now=ctx.now,
                lang=opts.get("lang", ctx.lang),
                timezone=opts.get("tz", "Asia/Shanghai"),
                scheme=opts.get("scheme"),
                schemes_dir=ctx.config.schemes_dir,
            )
            return [
                Reply(
                    text=_(
                        "Team {team} added (language {lang}, time zone {tz}).",
                        team=team.name,
                        lang=language_name(_, team.lang),
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
    return [
        Reply(
            text=_(
                "Team {team}: language {lang}, time zone {tz}, scheme {scheme}.",
                team=team_row.name,
                lang=language_name(_, team_row.lang),
                tz=team_row.timezone,
                scheme=scheme.key if scheme else "—",
            )
        )
    ]


def member_command(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    permissions.require(permissions.can_administer(ctx.actor))
    if args.split()[:1] == ["alias"]:
        return alias_command(ctx, args.split()[1:])
    words, opts = options(args.split())
    usage = _(
        "Usage: /member add TEAM NAME ROLE [manager=NAME] [slack=U123] [telegram=42] [lang=zh|en] "
        "· /member set TEAM NAME [role=…] [manager=NAME|-] [slack=U123|-] [telegram=42|-] "
        "[lang=zh|en|-] · /member remove TEAM NAME (someone who left) · /member restore TEAM NAME "
        "· /member manager TEAM NAME MANAGER · /member list TEAM · /member alias add|list|remove "
        "(accounts in exports)"
    )
    if not words:
        return _usage(ctx, usage)
    action = words[0]
    if action == "list" and len(words) == 2:
        return member_list(ctx, words[1])
    if action == "manager" and len(words) == 4:
        return member_manager(ctx, *words[1:])
    if action == "set" and len(words) == 3 and opts and not set(opts) - SET_KEYS:
        return member_set(ctx, words[1], words[2], opts)
    if action in ("remove", "restore") and len(words) == 3 and not opts:
        return member_active(ctx, words[1], words[2], active=action == "restore")
    if action != "add" or len(words) != 4 or set(opts) - {"manager", "slack", "telegram", "lang"}:
        return _usage(ctx, usage)
    spec = MemberSpec(
        team=words[1],
        name=words[2],
        role=words[3],
        manager=opts.get("manager"),
        slack=opts.get("slack"),
        telegram=opts.get("telegram"),
        lang=opts.get("lang"),
    )
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


SET_KEYS = {"role", "manager", "slack", "telegram", "lang", "name_en"}


def member_set(ctx: Context, team_name: str, name: str, opts: Mapping[str, str]) -> list[Reply]:
    _ = ctx._
    update = MemberUpdate(
        team=team_name,
        name=name,
        role=opts.get("role"),
        manager=opts.get("manager"),
        slack=opts.get("slack"),
        telegram=opts.get("telegram"),
        lang=opts.get("lang"),
        name_en=opts.get("name_en"),
    )
    try:
        plan = update_members(
            [update], session=ctx.session, actor=repo.actor_of(ctx.actor), now=ctx.now
        )[0]
    except AdminError as exc:
        return _error(ctx, exc)
    if not plan.changes:
        return [
            Reply(
                text=_(
                    "Nothing to change: {name} already has these settings.", name=plan.member.name
                ),
                ephemeral=True,
            )
        ]
    lines = [_("{name} updated:", name=plan.member.name)] + ["· " + line for line in plan.lines(_)]
    return [Reply(text="\n".join(lines))]


def member_active(ctx: Context, team_name: str, name: str, *, active: bool) -> list[Reply]:
    _ = ctx._
    team = repo.get_team_by_name(session=ctx.session, name=team_name)
    if team is None:
        return _usage(ctx, _("There is no team called {team}.", team=team_name))
    member = repo.get_member_by_name(session=ctx.session, team=team, name=name)
    if member is None:
        return _usage(
            ctx, _("There is no member {name} in team {team}.", name=name, team=team.name)
        )
    if member.id == ctx.actor.id and not active:
        return _usage(ctx, _("You cannot deactivate yourself; ask another admin."))
    if member.active == active:
        if active:
            return _usage(ctx, _("{name} is already active.", name=member.name))
        return _usage(ctx, _("{name} is already marked as left.", name=member.name))
    released = set_active(
        member, active, session=ctx.session, actor=repo.actor_of(ctx.actor), now=ctx.now
    )
    return [Reply(text=active_text(_, member, released, team.name))]


def active_text(_: Translate, member: Member, released: Sequence[Member], team: str) -> str:
    """What an admin is told after ``member remove`` / ``restore`` (chat and CLI)."""
    if member.active:
        return _(
            "{name} is active again: in the next periods, reminders and results as before.",
            name=member.name,
        )
    text = _(
        "{name} is marked as left: their past results stay, they are in no new period, get no "
        "messages and decide nothing.",
        name=member.name,
    )
    if released:
        text += "\n" + _(
            "{agents} had {name} as their manager and now fall back to the team's managers; give "
            "them a new one: /member set {team} NAME manager=…",
            agents=[m.name for m in released],
            name=member.name,
            team=team,
        )
    return text


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
        if not set(m.linked_ids()) - NAMED_BY_NAME:  # no messenger (the terminal chat is none)
            line += " · " + _(
                "no {messengers} id: gets no messages",
                messengers=messengers_named(ctx.config.messengers, ctx.lang),
            )
        lines.append(line)
    left = [
        m.name
        for m in repo.list_members(session=ctx.session, team=team, active_only=False)
        if not m.active
    ]
    if left:
        lines.append(_("Left (history kept): {names}", names=left))
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
        "Usage: /period open [TEAM] [2026-11] [until=2026-12-07] · /period close [TEAM] [2026-11] "
        "[confirm]"
    )
    if not words or words[0] not in ("open", "close") or set(opts) - {"until"}:
        return _usage(ctx, usage)
    action, rest = words[0], words[1:]
    confirmed = action == "close" and bool(rest) and rest[-1].lower() == "confirm"
    rest = rest[:-1] if confirmed else rest
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
    permissions.require(permissions.can_manage_period(ctx.actor, team))
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
            return [
                Reply(
                    text=_(
                        "Period {period} of {team} is open. Reviews are due by {when}.",
                        period=period.key,
                        team=team.name,
                        when=TeamClock.of(team).deadline(period.review_closes_at),
                    )
                )
            ]
        waiting = None if confirmed else _close_waits(ctx, team, key.upper() if key else None)
        if waiting is not None:
            return [waiting]
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


def _close_waits(ctx: Context, team: Team, key: str | None) -> Reply | None:
    """Closing an open period whose results lack a required part: who is missing what, and
    the ``confirm`` that closes anyway (after the close no review can arrive)."""
    if key is None:
        open_ones = repo.list_periods(session=ctx.session, team=team, statuses=["open"])
        key = open_ones[-1].key if open_ones else None
    if key is None:
        return None
    check = publication.check_period(ctx.session, team, key)
    if check.period is None or check.period.status != "open" or not check.gaps:
        return None
    text = publication.ask_close(
        ctx._, ctx.lang, check, confirm=f"/period close {team.name} {key} confirm"
    )
    return Reply(text=text, private=True)


COMMANDS: tuple[Command, ...] = (
    Command(
        "period",
        period_command,
        permissions.LEADERS,
        what=N_("open or close a team's period"),
        example="/period open demo 2026-11",
        refusal=N_(
            "The command /period is not available to you: only managers and admins open and close "
            "periods."
        ),
    ),
    Command(
        "team",
        team_command,
        permissions.ADMINS,
        what=N_("add a team; set its scheme, language, time zone"),
        example="/team set demo lang=en tz=Asia/Shanghai scheme=online_shop",
        refusal=N_("The command /team is not available to you: only an admin changes teams."),
    ),
    Command(
        "member",
        member_command,
        permissions.ADMINS,
        what=N_("add members, change them, mark someone who left"),
        example="/member set demo 王小红 role=manager slack=U123",
        refusal=N_("The command /member is not available to you: only an admin changes members."),
    ),
)
