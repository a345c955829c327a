"""``/peer [name]``: anonymous peer rating between agents of one team (DOMAIN.md: 匿名考核).

An agent rates a teammate on collaboration and service (1–5) while the period's review
window is open. The rater is stored (so a second rating replaces the first and a
replayed submit does nothing) but never shown: the rated person and the manager see
only the average over all raters, and only once at least the scheme's ``min_raters``
(default 3) colleagues have answered; below that it is "not enough ratings".

``/peer`` alone says first when the team's scheme has no peer rating, else lists the
teammates by name as buttons (action ``peer:pick``, value ``<member_id>:<period_id>``); ``/peer
summary`` shows one's own anonymous average;
``/peer raters`` is always refused.
"""

from __future__ import annotations

import hashlib
import hmac

from commands import names, permissions, results
from commands.context import Command, Context, Handler
from commands.forms import engine
from commands.forms.common import (
    SCORE_ANCHORS,
    conversation_period,
    conversation_subject,
    expiry,
    open_review_period,
    scheme_of,
    team_of,
    window_refusal,
)
from commands.forms.spec import N_, Answers, Field, FormDefinition, Localized, Msg
from commands.messages import Button, Reply
from storage import repo
from storage.models import Conversation, Member, Period, Team

FORM_ID = "peer"
TITLE = N_("peer rating")
DEFAULT_MIN_RATERS = 3
QUESTIONS = (
    ("collaboration", N_("How well does {name} work with the team?"), N_("Collaboration")),
    ("service", N_("How well does {name} serve customers?"), N_("Service")),
)


def _name(member: Member) -> Localized:
    return Localized(zh=member.name, en=member.name_en or member.name)


def _shown(ctx: Context, member: Member) -> str:
    return _name(member).pick(ctx.lang)


def fields(ctx: Context, conv: Conversation) -> list[Field]:
    name = _name(conversation_subject(ctx, conv))
    return [
        Field(fid, "score", Msg(prompt, {"name": name}), anchors=SCORE_ANCHORS, short=short,
              help=N_("Anonymous: neither the colleague nor the manager will see who answered."))
        for fid, prompt, short in QUESTIONS
    ]  # fmt: skip


def intro(ctx: Context, conv: Conversation) -> list[Reply]:
    text = ctx._(
        "Peer rating of {name} for {period}. Your answers are anonymous.",
        name=_shown(ctx, conversation_subject(ctx, conv)),
        period=conversation_period(ctx, conv).key,
    )
    return [Reply(text=text, private=True)]


def check(ctx: Context, conv: Conversation) -> str | None:
    return window_refusal(ctx, team_of(ctx, ctx.actor), conversation_period(ctx, conv), TITLE)


def rater_pseudonym(secret: str, period_id: int | None, rater_id: int | None) -> str:
    """How the audit log names a peer rater: the same within one period (a changed rating
    shows as the same rater), unlinkable across periods and to the person without the
    server's secret (HMAC-SHA256, issue 21 item 11)."""
    digest = hmac.new(
        secret.encode(), f"peer-rater:{period_id}:{rater_id}".encode(), hashlib.sha256
    )
    return f"peer:{digest.hexdigest()[:16]}"


def submit(ctx: Context, conv: Conversation, answers: Answers) -> int:
    period = conversation_period(ctx, conv)
    label = rater_pseudonym(ctx.config.secret, period.id, ctx.actor.id)
    review = repo.save_review(
        session=ctx.session,
        period=period,
        subject=conversation_subject(ctx, conv),
        rater=ctx.actor,
        kind="peer",
        answers=dict(answers),
        actor=label,
        rater_label=label,
        reason="peer rating submitted in chat",
        submitted_at=ctx.now,
        idempotency_key=f"conversation:{conv.id}",
        now=ctx.now,
    )
    assert review.id is not None
    return review.id


FORM = FormDefinition(
    form_id=FORM_ID, title=TITLE, fields=fields, submit=submit, intro=intro, check=check,
    done=N_("Thank you, your anonymous peer rating is saved."),
)  # fmt: skip


# -- what others may see: the anonymous average --------------------------------------------


def min_raters(ctx: Context, team: Team, period: Period) -> int:
    scheme = scheme_of(ctx, team, period)
    component = scheme.component("peer") if scheme is not None else None
    return (
        component.min_count
        if component is not None and component.kind == "peer"
        else DEFAULT_MIN_RATERS
    )


def peer_average(ctx: Context, subject: Member, period: Period) -> tuple[float | None, int]:
    """(0–100 average, raters) for ``subject``; the average is None below the minimum of raters."""
    team = team_of(ctx, subject)
    scheme = scheme_of(ctx, team, period)
    if scheme is None:
        return None, 0
    frame = results.gather(team, period, scheme, session=ctx.session, history=False).inputs.peer
    if frame is None:
        return None, 0
    counts = frame["count"].astype(float).to_dict()
    scores = frame["score"].astype(float).to_dict()
    key = str(subject.id)
    count = int(counts.get(key, 0))
    if count < min_raters(ctx, team, period):
        return None, count
    return scores[key], count


def peer_line(ctx: Context, subject: Member, period: Period) -> str:
    """One line for a person allowed to see the subject's result: the average, or not enough
    ratings."""
    average, count = peer_average(ctx, subject, period)
    if average is None:
        return ctx._("Peer rating: not enough ratings.")
    return ctx._(
        "Peer rating: {score} / 100 from {count} colleagues.", score=f"{average:.0f}", count=count
    )


# -- the command -----------------------------------------------------------------------------


def _start(ctx: Context, subject: Member) -> list[Reply]:
    _ = ctx._
    permissions.require(permissions.can_peer_rate(ctx.actor, subject))
    team = team_of(ctx, ctx.actor)
    period = open_review_period(ctx, team)
    if period is None:
        return [Reply(text=_("No peer rating is open now."), ephemeral=True)]
    refusal = no_peer_rating(ctx, team, period) or window_refusal(ctx, team, period, TITLE)
    if refusal:
        return [Reply(text=refusal, ephemeral=True)]
    earlier = repo.get_review(
        session=ctx.session, period=period, subject=subject, rater=ctx.actor, kind="peer"
    )
    return engine.start(
        ctx, FORM_ID, period_id=period.id, subject_id=subject.id, expires_at=expiry(ctx, period),
        answers=dict(earlier.answers) if earlier is not None else None,
    )  # fmt: skip


def no_peer_rating(ctx: Context, team: Team, period: Period) -> str | None:
    """What an agent is told first, before any colleague is offered, when the team's scheme for
    ``period`` has no peer rating; None when it has one."""
    scheme = scheme_of(ctx, team, period)
    component = scheme.component("peer") if scheme is not None else None
    if component is None or component.kind != "peer":
        return ctx._("Your team's scheme has no peer rating.")
    return None


def _teammate(ctx: Context, name: str) -> Member | None:
    member = repo.get_member_by_name(
        session=ctx.session, team=team_of(ctx, ctx.actor), name=name.lstrip("@＠")
    )
    return member if member is not None and member.active else None


def peer(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    parts = args.split()
    if parts and parts[0].lower() in ("summary", "汇总"):
        return summary(ctx)
    if parts and parts[0].lower() in ("raters", "who", "谁"):
        permissions.require(permissions.can_see_peer_raters(ctx.actor))
    if not parts:
        return choose(ctx)
    subject = _teammate(ctx, parts[0])
    if subject is None:
        return [
            Reply(
                text=_("There is no colleague {name} in your team.", name=parts[0].lstrip("@")),
                ephemeral=True,
            )
        ]
    return _start(ctx, subject)


def choose(ctx: Context) -> list[Reply]:
    """Teammates to rate, by name (:func:`commands.names.person_order`; the router lets only agents
    run
    ``/peer``; each button is checked again); first, whether the scheme has a peer rating at all."""
    _ = ctx._
    team = team_of(ctx, ctx.actor)
    period = open_review_period(ctx, team)
    if period is None:
        return [Reply(text=_("No peer rating is open now."), ephemeral=True)]
    refusal = no_peer_rating(ctx, team, period)
    if refusal:
        return [Reply(text=refusal, ephemeral=True)]
    mine = {r.subject_id for r in repo.list_reviews(session=ctx.session, period=period, kind="peer")
            if r.rater_id == ctx.actor.id}  # fmt: skip
    colleagues = sorted(
        (m for m in repo.list_members(session=ctx.session, team=team, roles=["agent"])
         if m.id != ctx.actor.id and permissions.can_peer_rate(ctx.actor, m)),
        key=names.person_order,
    )  # fmt: skip
    buttons = tuple(
        Button(
            label=_shown(ctx, m) + (" ✓" if m.id in mine else ""),
            action="peer:pick",
            value=f"{m.id}:{period.id}",
        )
        for m in colleagues
    )
    if not buttons:
        return [Reply(text=_("There is no colleague for you to rate."), ephemeral=True)]
    return [
        Reply(
            text=_("Whom do you want to rate? Your answers are anonymous. (✓ = already rated)"),
            buttons=buttons,
            private=True,
            relist="/peer",
        )
    ]


def pick(ctx: Context, value: str) -> list[Reply]:
    member_text, _sep, _period_text = value.partition(":")
    subject = (
        repo.get_member(session=ctx.session, member_id=int(member_text))
        if member_text.isdigit()
        else None
    )
    if subject is None:
        return [
            Reply(
                text=ctx._("That button no longer works. Send /help to see what you can do."),
                ephemeral=True,
            )
        ]
    return _start(ctx, subject)


def summary(ctx: Context) -> list[Reply]:
    """An agent's own anonymous peer average (managers see it in ``/review`` and ``/me``)."""
    _ = ctx._
    team = team_of(ctx, ctx.actor)
    period = open_review_period(ctx, team) or results.latest_scored_period(
        team, session=ctx.session, today=ctx.now.date()
    )
    if period is None:
        return [Reply(text=_("There is no period to review yet."), ephemeral=True)]
    head = _("{name}, {period}:", name=_shown(ctx, ctx.actor), period=period.key)
    return [Reply(text=f"{head} {peer_line(ctx, ctx.actor, period)}", private=True)]


COMMANDS: tuple[Command, ...] = (
    Command(
        "peer",
        peer,
        permissions.AGENTS,
        what=N_("rate a teammate anonymously"),
        example="/peer",
        refusal=N_("The command /peer is not available to you: only agents rate their peers."),
        menu=N_("Rate a teammate anonymously"),
        menu_rank=6,
    ),
)
ACTIONS: dict[str, Handler] = {"peer": pick}
ACTION_IDS: dict[str, tuple[str, ...]] = {"peer:pick": ("member.peer", "period")}
