"""A member's accounts in the systems exports come from (aliases), for admins.

Chat:

    /member alias add TEAM NAME SOURCE ALIAS
    /member alias remove TEAM NAME SOURCE ALIAS
    /member alias list TEAM [NAME]

    e.g. /member alias add demo 王小红 taobao 示例旗舰店:小雨

Command line: ``kpibot member alias add|list|remove`` (the same functions). An alias belongs to
one member per team and source; an import with a mapping of that source finds the agent by it
before it looks at names (:mod:`commands.importing.validation`). Every change is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from commands import permissions
from commands.context import Context
from commands.i18n import Translate
from commands.importing.sources import known_sources, source_title
from commands.importing.validation import name_key
from commands.messages import Reply
from commands.plain import one_line
from commands.problems import AdminError, Problem
from storage import repo
from storage.models import Member, MemberAlias, Team

MAX_ALIAS_CHARS = 200
N_ = permissions.N_
USAGE = N_(
    "Usage: /member alias add TEAM NAME SOURCE ALIAS · /member alias remove TEAM NAME SOURCE ALIAS "
    "· /member alias list TEAM [NAME] (SOURCE: {sources})"
)
TAKEN = N_(
    "{alias} is already {other}'s {source} account: remove it there first "
    "(member alias remove {team} {other} {source} {alias})."
)
IS_A_NAME = N_(
    "{alias} is the name of {other}, another member of {team}: an import would take {other}'s rows "
    "for {name}."
)


@dataclass(frozen=True)
class AliasChange:
    """What ``add`` or ``remove`` did: ``changed`` False when it was so already."""

    member: str
    source: str
    alias: str
    changed: bool


def _team_and_member(session: Session, team_name: str, name: str) -> tuple[Team, Member]:
    team = repo.get_team_by_name(session=session, name=team_name)
    if team is None:
        raise AdminError([Problem("There is no team called {team}.", {"team": team_name})])
    member = repo.get_member_by_name(session=session, team=team, name=name)
    if member is None:
        raise AdminError(
            [
                Problem(
                    "There is no member {name} in team {team}.", {"name": name, "team": team.name}
                )
            ]
        )
    return team, member


def _source(source: str) -> str:
    word = source.strip().lower()
    known = known_sources()
    if word not in known:
        raise AdminError(
            [
                Problem(
                    N_("Unknown source {source}: use one of {sources}."),
                    {"source": source, "sources": list(known)},
                )
            ]
        )
    return word


def _clean(alias: str) -> str:
    text = one_line(alias)
    if not text:
        raise AdminError(
            [Problem(N_("Give the account as the export writes it, e.g. 示例旗舰店:小雨."))]
        )
    if len(text) > MAX_ALIAS_CHARS:
        raise AdminError(
            [
                Problem(
                    N_("An alias has at most {limit} characters; this one has {count}."),
                    {"limit": MAX_ALIAS_CHARS, "count": len(text)},
                )
            ]
        )
    return text


def _same(session: Session, team: Team, source: str, alias: str) -> MemberAlias | None:
    """The team's alias of ``source`` that reads as ``alias`` (full-width, spaces and case
    aside)."""
    key = name_key(alias)
    return next(
        (
            a
            for a in repo.list_aliases(session=session, team=team, source=source)
            if name_key(a.alias) == key
        ),
        None,
    )


def add_alias(
    session: Session, *, team: str, name: str, source: str, alias: str, actor: str, now: datetime
) -> AliasChange:
    """Give a member an account in a source; :class:`AdminError` says why not (nothing changes)."""
    team_row, member = _team_and_member(session, team, name)
    word, text = _source(source), _clean(alias)
    found = _same(session, team_row, word, text)
    if found is not None:
        if found.member_id == member.id:
            return AliasChange(member.name, word, found.alias, changed=False)
        other = repo.get_member(session=session, member_id=found.member_id)
        raise AdminError(
            [
                Problem(
                    TAKEN,
                    {
                        "alias": found.alias,
                        "other": other.name if other else "?",
                        "source": word,
                        "team": team_row.name,
                    },
                )
            ]
        )
    namesake = next(
        (
            m
            for m in repo.list_members(session=session, team=team_row, active_only=False)
            if m.id != member.id and name_key(text) in {name_key(m.name), name_key(m.name_en or "")}
        ),
        None,
    )
    if namesake is not None:
        raise AdminError(
            [
                Problem(
                    IS_A_NAME,
                    {
                        "alias": text,
                        "other": namesake.name,
                        "team": team_row.name,
                        "name": member.name,
                    },
                )
            ]
        )
    repo.add_alias(
        session=session,
        member=member,
        source=word,
        alias=text,
        actor=actor,
        reason=f"alias of {member.name}",
        now=now,
    )
    return AliasChange(member.name, word, text, changed=True)


def remove_alias(
    session: Session, *, team: str, name: str, source: str, alias: str, actor: str, now: datetime
) -> AliasChange:
    team_row, member = _team_and_member(session, team, name)
    word, text = _source(source), _clean(alias)
    found = _same(session, team_row, word, text)
    if found is None or found.member_id != member.id:
        raise AdminError(
            [
                Problem(
                    N_("{name} has no {source} account {alias}."),
                    {"name": member.name, "source": word, "alias": text},
                )
            ]
        )
    repo.remove_alias(
        session=session, alias=found, actor=actor, reason=f"alias of {member.name}", now=now
    )
    return AliasChange(member.name, word, found.alias, changed=True)


def alias_lines(session: Session, *, team: str, name: str | None, _: Translate) -> list[str]:
    """``kpibot member alias list`` and ``/member alias list``: each member's accounts by source."""
    team_row = repo.get_team_by_name(session=session, name=team)
    if team_row is None:
        raise AdminError([Problem("There is no team called {team}.", {"team": team})])
    member = None if name is None else _team_and_member(session, team, name)[1]
    aliases = repo.list_aliases(session=session, team=team_row, member=member)
    names = {
        m.id: m.name for m in repo.list_members(session=session, team=team_row, active_only=False)
    }
    if not aliases:
        if member is not None:
            return [_("{name} has no aliases: imports find them by name.", name=member.name)]
        return [
            _("No one in {team} has an alias yet: imports find agents by name.", team=team_row.name)
        ]
    head = (
        _("Accounts of {name}:", name=member.name)
        if member
        else _("Accounts in {team}:", team=team_row.name)
    )
    by_member: dict[int, list[MemberAlias]] = {}
    for row in aliases:
        by_member.setdefault(row.member_id, []).append(row)
    lines = [head]
    for member_id in sorted(by_member, key=lambda i: names.get(i, "")):
        shown = "; ".join(f"{source_title(a.source, _)}: {a.alias}" for a in by_member[member_id])
        lines.append(f"· {names.get(member_id, '?')} — {shown}")
    return lines


def change_text(change: AliasChange, _: Translate, *, added: bool) -> str:
    if not change.changed:
        return _(
            "{name} already has the {source} account {alias}; nothing changed.",
            name=change.member,
            source=change.source,
            alias=change.alias,
        )
    if added:
        return _(
            "{alias} is now {name}'s {source} account: imports of {source} files find {name} by "
            "it.",
            alias=change.alias,
            name=change.member,
            source=change.source,
        )
    return _(
        "{alias} is no longer {name}'s {source} account.",
        alias=change.alias,
        name=change.member,
        source=change.source,
    )


def alias_command(ctx: Context, words: Sequence[str]) -> list[Reply]:
    """``/member alias …`` (the caller checked that the actor administers)."""
    _ = ctx._
    usage = [Reply(text=_(USAGE, sources=list(known_sources())), ephemeral=True)]
    action = words[0] if words else ""
    try:
        if action == "list" and len(words) in (2, 3):
            lines = alias_lines(
                ctx.session, team=words[1], name=words[2] if len(words) == 3 else None, _=_
            )
            return [Reply(text="\n".join(lines), ephemeral=True)]
        if action in ("add", "remove") and len(words) >= 5:
            team, name, source = words[1:4]
            alias = " ".join(words[4:])
            do = add_alias if action == "add" else remove_alias
            change = do(
                ctx.session,
                team=team,
                name=name,
                source=source,
                alias=alias,
                actor=repo.actor_of(ctx.actor),
                now=ctx.now,
            )
            return [
                Reply(
                    text=change_text(change, _, added=action == "add"), ephemeral=not change.changed
                )
            ]
    except AdminError as exc:
        return [Reply(text="\n".join(exc.lines(_)), ephemeral=True)]
    return usage
