"""Publication with gaps (issue 14 item 1; issue 21 item 12): no result is published as final
while a part its scheme requires (``missing = "block"``) is missing, and nothing is published
silently — not with gaps, not empty.

    check = check_period(session, team, "2026-10")   # before a manual close or publish
    check.nothing(_)      # None, or why there is nothing to publish (no period, nobody scored)
    check.gaps            # the provisional results: who is missing what (gap_lines names them)

The rules, one place each:

* **By hand** (``/runstep publish``, ``kpibot cycle run-step publish``): with gaps nothing
  changes until the admin chooses. ``confirm`` publishes them *provisional* (never ranked,
  rewarded or penalised; the admin's confirmation is stored on each score, ``released_by``, and
  in the audit log); ``hold`` publishes the complete results and holds these. The command
  line asks on a terminal; without one it refuses unless ``--confirm-provisional`` or
  ``--hold-provisional`` is given. Closing by hand (``/period close``, ``/runstep close``)
  with gaps asks for ``confirm`` too: after the close no review can arrive.
* **Scheduled** (the cycle's ``publish`` step): the complete results are published, the
  provisional ones *held*, and every admin is told, in their language, who is missing what
  and how to release them.
* **A held result later.** The period is published, so the review forms are closed and a late
  review cannot change ranks already published (that would take back other people's
  results). A held result stays held — shown as held in ``/me``, ``/rank`` and the export,
  no result message, no consequences — until an admin releases it with
  ``/runstep publish TEAM PERIOD confirm``: it is then published provisional, its owner gets
  the result message (marked provisional) and the consequences that apply to an unranked
  result (a feedback meeting; never a reward, a deduction or an improvement plan).
* **Nothing to publish** (no period, no scheme, nobody scored — an open period without
  reviews): refused by hand, nothing changed; a scheduled publication leaves the period as it
  is and tells the admins.

Each score's ``release`` (``storage.models.Score``): ``final``, ``held`` or ``confirmed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from commands import results
from commands.i18n import Translate, translator
from commands.linking import messengers_named
from commands.people import admins_of, lang_of, manager_of, reachable
from scoring import Scheme
from storage import repo
from storage.models import Period, Team

if TYPE_CHECKING:
    from sqlmodel import Session

    from commands.step_context import StepContext
    from storage.models import Member

Gaps = Literal["hold", "confirm"]
"""What a publication does with provisional results: hold them, or publish them provisional."""


def published_at(session: Session, period: Period) -> datetime | None:
    """When the period was published (its status change in the audit log)."""
    for entry in reversed(repo.audit_trail(session=session, entity="period", entity_id=period.id)):
        if (entry.after or {}).get("status") == "published":
            return entry.at
    return None


@dataclass(frozen=True)
class PeriodCheck:
    team: Team
    period_key: str
    period: Period | None
    outcome: results.PeriodResults | None

    @property
    def gaps(self) -> tuple[results.AgentScore, ...]:
        """Provisional results not yet confirmed (held ones included)."""
        if self.outcome is None:
            return ()
        return tuple(s for s in self.outcome.provisional if s.release != "confirmed")

    def nothing(self, _: Translate) -> str | None:
        """Why there is nothing to publish, or None."""
        team, key = self.team.name, self.period_key
        if self.period is None:
            return _(
                "Team {team} has no period {period}, so there is nothing to publish.",
                team=team,
                period=key,
            )
        if self.outcome is None:
            return _("Team {team} has no scheme yet, so there is nothing to publish.", team=team)
        if not self.outcome.scored:
            return _(
                "Nothing to publish for {team} {period}: nobody has a score yet (no reviews and no "
                "data). Nothing was changed.",
                team=team,
                period=key,
            )
        return None


def check_period(session: Session, team: Team, period_key: str) -> PeriodCheck:
    """The period's results as they would be published; nothing is written."""
    period = repo.get_period(session=session, team=team, key=period_key)
    if period is None:
        return PeriodCheck(team, period_key, None, None)
    outcome = results.period_results(team, period, session=session, store=False)
    return PeriodCheck(team, period_key, period, outcome)


def gap_lines(
    _: Translate, lang: str, scheme: Scheme, gaps: Sequence[results.AgentScore]
) -> list[str]:
    """``· Li Na: Manager review, Performance`` — one line per person, parts in the reader's
    language."""
    return [_("· {name}: {parts}", name=s.name, parts=s.missing_names(scheme, lang)) for s in gaps]


def ask_publish(_: Translate, lang: str, check: PeriodCheck, *, confirm: str, hold: str) -> str:
    """The question a manual publication with gaps asks (nothing has changed yet)."""
    assert check.outcome is not None
    team, key = check.team.name, check.period_key
    lines = [
        _(
            "{n} results of {team} {period} lack a part the scheme requires, so they would be "
            "provisional (not ranked, no reward or deduction):",
            n=len(check.gaps),
            team=team,
            period=key,
        )
    ]
    lines += gap_lines(_, lang, check.outcome.scheme, check.gaps)
    lines.append(
        _(
            "Nothing was published. To publish them marked provisional: {confirm}. To publish the "
            "complete results and hold these: {hold}.",
            confirm=confirm,
            hold=hold,
        )
    )
    return "\n".join(lines)


def ask_close(_: Translate, lang: str, check: PeriodCheck, *, confirm: str) -> str:
    """The question a manual close with gaps asks: after it no review can arrive."""
    assert check.outcome is not None
    lines = [
        _(
            "{n} results of {team} {period} still lack a part the scheme requires; after closing, "
            "no review can arrive and they stay provisional (not ranked, no reward or deduction):",
            n=len(check.gaps),
            team=check.team.name,
            period=check.period_key,
        )
    ]
    lines += gap_lines(_, lang, check.outcome.scheme, check.gaps)
    lines.append(_("Nothing was closed. To close anyway: {confirm}.", confirm=confirm))
    return "\n".join(lines)


def held_notice(_: Translate, lang: str, team: Team, period: Period, scheme: Scheme,
                held: Sequence[results.AgentScore]) -> str:  # fmt: skip
    """What the admins are told when a scheduled publication holds results."""
    lines = [
        _(
            "The results of {team} for {period} are published, except {n} held because a part the "
            "scheme requires is missing:",
            team=team.name,
            period=period.key,
            n=len(held),
        )
    ]
    lines += gap_lines(_, lang, scheme, held)
    lines.append(
        _(
            "They get no result message and no consequences. To publish them marked provisional "
            "(not ranked, no reward or deduction), send {command}.",
            command=f"/runstep publish {team.name} {period.key} confirm",
        )
    )
    return "\n".join(lines)


def nothing_notice(_: Translate, team: Team, period_key: str, reason: str) -> str:
    """What the admins are told when a scheduled publication found nothing to publish."""
    return _(
        "The scheduled publication of {team} {period} did not run: {reason} When the results are "
        "there, send {command}.",
        team=team.name,
        period=period_key,
        reason=reason,
        command=f"/runstep publish {team.name} {period_key}",
    )


def release(session: Session, outcome: results.PeriodResults, *, gaps: Gaps, actor: str,
            now: datetime | None = None) -> dict[str, int]:  # fmt: skip
    """Mark each locked score of the publication: complete ``final``; provisional ``held`` or,
    when the admin confirmed (``gaps="confirm"``), ``confirmed`` by ``actor``. Counts what
    changed."""
    counts = {"final": 0, "held": 0, "confirmed": 0}
    rows = {r.member_id: r for r in repo.list_scores(session=session, period=outcome.period)}
    for score in outcome.scored:
        row = rows.get(score.member_id)
        if row is None or row.release in ("final", "confirmed"):
            continue
        if not score.provisional:
            what, by, reason = "final", None, "results published"
        elif gaps == "confirm":
            what, by, reason = "confirmed", actor, "published provisional: confirmed by an admin"
        else:
            what, by, reason = "held", None, "held: a required part is missing"
        if repo.set_release(session=session, score=row, release=what, actor=actor, reason=reason,
                            released_by=by, now=now):  # fmt: skip
            counts[what] += 1
    return counts


def confirmer(_: Translate, session: Session, score: results.AgentScore) -> str:
    """Who confirmed a provisional result, as a person reads it: a name, never an id."""
    by = score.released_by or ""
    if by.startswith("member:") and by[7:].isdigit():
        member = repo.get_member(session=session, member_id=int(by[7:]))
        if member is not None:
            return member.name
    return _("an admin on the command line") if by == "cli" else _("an admin")


def unreachable_members(session: Session, outcome: results.PeriodResults) -> list[Member]:
    """The people a publication writes to (the scored agents, their managers) whom no platform
    reaches: no Slack id, no Telegram id that still answers (``commands.people.reachable``)."""
    seen: dict[int, Member] = {}
    for score in outcome.scored:
        member = repo.get_member(session=session, member_id=score.member_id)
        for person in (member, manager_of(member, session=session) if member is not None else None):
            if person is not None and person.id is not None and person.active:
                seen.setdefault(person.id, person)
    return sorted((m for m in seen.values() if not reachable(m)), key=lambda m: m.name)


def tell_admins_unreachable(ctx: StepContext, outcome: results.PeriodResults) -> None:
    """After a publication: every admin hears who will not get their results (no account on any
    messenger), and the step's counts say how many (``/runstep publish`` shows it)."""
    missing = unreachable_members(ctx.session, outcome)
    if not missing:
        return
    ctx.count("unreachable", len(missing))
    for admin in admins_of(session=ctx.session):
        lang = lang_of(admin, session=ctx.session)
        _ = translator(lang)
        ctx.say(
            admin,
            "publish.unreachable",
            _(
                "{team} {period} is published, but {names} cannot be reached: no {messengers} "
                "account is linked, so their results wait in /inbox. Link them with /member set "
                "{team} NAME slack=… or telegram=….",
                team=ctx.team.name,
                period=ctx.period_key,
                names=_(", ").join(m.name for m in missing),
                messengers=messengers_named(ctx.messengers, lang),
            ),
        )
