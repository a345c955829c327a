"""``/review @agent [period]``: a manager rates one of their agents (DOMAIN.md: manager 70 %).

Only the agent's direct manager or an admin may review (``permissions.can_review``).
Before the first question the manager sees the agent's KPI breakdown as published: the
agent's row of the team's stored current results, the one ``/me`` and ``/rank`` show (an
indicator read on the team's value, a team-scope gate, counts the team's mean, as there);
the *performance* dimension is that table's score, shown, not asked. Then the agent's
self-review. Each rated dimension (ability, collaboration, service …) is a 1–5 score; a 1
or a 5 needs a comment. The summary previews the total the agent would get
(``results.what_if``: this review's answers, the others' results as stored).

Without an agent, ``/review`` lists the agents the person may review as buttons
(action ``review:pick``, value ``<member_id>:<period_id>``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from commands import numbers, permissions, results
from commands.context import Command, Context, Handler
from commands.forms import engine
from commands.forms.common import (
    REVIEWABLE_STATUSES,
    SCORE_ANCHORS,
    conversation_period,
    conversation_subject,
    expiry,
    format_value,
    latest_reviewable_period,
    names,
    period_by_key,
    scheme_of,
    score_field,
    team_of,
)
from commands.forms.spec import N_, Answers, Field, FormDefinition, Localized, Msg, Option, Text
from commands.messages import Button, Reply
from commands.peer import peer_line
from scoring.scheme import Indicator, Scheme
from storage import conversations, repo
from storage.models import Conversation, Member, Period, Team

FORM_ID = "review"
TITLE = N_("manager review")
COMMENT_LIMIT = 500
ENDS = (1, 5)


# -- who and when -------------------------------------------------------------------------


def _teams_in_reach(ctx: Context) -> list[Team]:
    """Teams whose agents the actor may look up: all for an admin, else own and managed teams."""
    if permissions.is_admin(ctx.actor):
        return repo.list_teams(session=ctx.session)
    own = team_of(ctx, ctx.actor)
    managed = repo.teams_managed_by(session=ctx.session, member=ctx.actor)
    return [own] + [t for t in managed if t.id != own.id]


def find_subject(ctx: Context, token: str) -> tuple[Member | None, bool]:
    """The member a ``@name``/``team/name``/platform mention means: (member, ambiguous)."""
    text = token.strip().lstrip("@＠")
    mentioned = ctx.incoming.mentions.get(token.strip())
    if mentioned is not None:  # the adapter read a platform mention (Slack's <@U123>)
        return conversations.find_member(
            ctx.incoming.platform, mentioned, session=ctx.session
        ), False
    if "/" in text:
        team_name, _sep, name = text.partition("/")
        team = repo.get_team_by_name(session=ctx.session, name=team_name)
        reach = {t.id for t in _teams_in_reach(ctx)}
        if team is None or team.id not in reach:
            return None, False
        return repo.get_member_by_name(session=ctx.session, team=team, name=name), False
    found = [
        m for t in _teams_in_reach(ctx)
        if (m := repo.get_member_by_name(session=ctx.session, team=t, name=text)) is not None
    ]  # fmt: skip
    if len(found) > 1:
        return None, True
    return (found[0] if found else None), False


def display_name(ctx: Context, member: Member) -> str:
    if ctx.lang == "en" and member.name_en:
        return member.name_en
    return member.name


# -- what the manager sees first ----------------------------------------------------------


def published_row(ctx: Context, member: Member, period: Period) -> results.PeriodResults | None:
    """The team's stored current results cut to ``member``'s row: what ``/me`` and ``/rank`` show
    (``results.current_results``: read when current, else the team scored and stored first, once
    per change of an input, as ``/me`` does). The KPI table is read from it, never scored for the
    agent alone: a team-scope gate checks the team's value (its agents' mean), not the agent's."""
    return results.current_results(
        team_of(ctx, member), period, session=ctx.session, member_ids=[member.id or 0]
    )


def kpi_breakdown(ctx: Context, scheme: Scheme, member: Member, period: Period) -> list[str]:
    """The agent's KPI table as published: each indicator's value and points, and the computed
    performance dimension, from the agent's row of the team's results (:func:`published_row`)."""
    _ = ctx._
    if not scheme.indicators:
        return []
    outcome = published_row(ctx, member, period)
    mine = outcome.of(member.id) if outcome is not None else None
    if outcome is None or mine is None:  # not among the team's results: nothing is published
        return [
            _(
                "{name} has no result for {period} yet, so there is no KPI breakdown to show.",
                name=display_name(ctx, member),
                period=period.key,
            )
        ]
    scheme = outcome.scheme  # the scheme that scored the stored row
    got: Mapping[str, Any] = mine.breakdown.get("indicators", {})
    lines = [
        _(
            "KPI breakdown of {name} for {period}:",
            name=display_name(ctx, member),
            period=period.key,
        )
    ]
    for indicator in scheme.indicators:
        item = got.get(indicator.id)
        if item is None:
            continue
        points = _(
            "{points} of {full} points",
            points=numbers.part(item.get("points"), scheme.precision),
            full=numbers.part(item.get("max_points"), scheme.precision),
        )
        lines.append(
            _(
                "· {name}: {value} → {points}",
                name=indicator.name.get(ctx.lang),
                value=format_value(ctx, indicator, item.get("value")),
                points=points,
            )
        )
    performance = next((d for d in scheme.manager_dimensions if d.computed == "kpi"), None)
    if performance is not None:
        lines.append(
            _(
                "{dimension} (computed from the KPIs, not asked): {score} / 100",
                dimension=performance.name.get(ctx.lang),
                score=numbers.part(mine.breakdown.get("kpi"), scheme.precision),
            )
        )
    return lines


def self_review_lines(ctx: Context, scheme: Scheme, member: Member, period: Period) -> list[str]:
    _ = ctx._
    review = repo.get_review(
        session=ctx.session, period=period, subject=member, rater=member, kind="self"
    )
    if review is None or review.submitted_at is None:
        return [
            _(
                "{name} has not submitted a self-review for {period} yet.",
                name=display_name(ctx, member),
                period=period.key,
            )
        ]
    lines = [_("Self-review of {name}:", name=display_name(ctx, member))]
    for dim in scheme.self_dimensions:
        score = review.answers.get(dim.id)
        if isinstance(score, int) and 1 <= score <= 5:
            anchor = _(SCORE_ANCHORS[score - 1])
            lines.append(
                _("· {name}: {value}", name=dim.name.get(ctx.lang), value=f"{score} · {anchor}")
            )
    labels = {"went_well": N_("What went well"), "to_improve": N_("What to improve")}
    for key, label in labels.items():
        if review.comments.get(key):
            lines.append(_("· {name}: {value}", name=_(label), value=review.comments[key]))
    return lines


def intro(ctx: Context, conv: Conversation) -> list[Reply]:
    subject, period = conversation_subject(ctx, conv), conversation_period(ctx, conv)
    scheme = scheme_of(ctx, team_of(ctx, subject), period)
    assert scheme is not None
    head = ctx._(
        "Review of {name} for {period}.", name=display_name(ctx, subject), period=period.key
    )
    lines = [
        head,
        *kpi_breakdown(ctx, scheme, subject, period),
        *self_review_lines(ctx, scheme, subject, period),
    ]
    if scheme.component("peer") is not None:
        lines.append(peer_line(ctx, subject, period))
    return [Reply(text="\n".join(lines), private=True)]


# -- indicators the manager provides (provider = "manager") ----------------------------------
# Asked in the review after the rated dimensions, in the unit a person reads (a share as a
# percentage, a level by its name); stored as the indicator's value with source "manager"
# (issue 14 item 2), so the KPI table and the total use it like an imported value.

INDICATOR_FIELD = "indicator."
PERCENT_UNITS = ("fraction", "percent")
UNIT_WORDS: dict[str, str] = {
    "seconds": N_("seconds"), "minutes": N_("minutes"), "days": N_("days"), "yuan": N_("yuan"),
    "count": N_("times"), "points": N_("points"), "fraction": "%", "percent": "%",
}  # fmt: skip


def manager_indicators(scheme: Scheme | None) -> list[Indicator]:
    """The scheme's indicators the manager fills in during the review, in the scheme's order."""
    return [i for i in scheme.indicators if i.provider == "manager"] if scheme is not None else []


def indicator_field_id(indicator: Indicator) -> str:
    return f"{INDICATOR_FIELD}{indicator.id}"


def indicator_field(indicator: Indicator, precision: int) -> Field:
    """One question for a manager-provided indicator, with the values the scheme allows (its
    points at the scheme's ``precision``)."""
    name = names(indicator.name)
    method = indicator.method
    worth: Text = Msg(
        N_("Worth up to {points} points of the KPI table."),
        {"points": numbers.part(indicator.points, precision)},
    )
    if method.choices():
        options = tuple(
            Option(level.id, Msg(N_("{level} ({points} points)"),
                                 {"level": Localized(zh=level.name_zh, en=level.name_en),
                                  "points": numbers.part(level.points, precision)}))
            for level in method.choices()
        )  # fmt: skip
        return Field(
            indicator_field_id(indicator),
            "choice",
            Msg(N_("{indicator}: which level fits this agent this period?"), {"indicator": name}),
            help=worth,
            options=options,
            short=name,
        )
    note = method.note(indicator.points)
    if note is not None:
        worth = Msg(note.text, {k: str(v) for k, v in note.params.items()})
    unit = indicator.unit
    if unit == "points":
        prompt = N_("{indicator}: how many points from 0 to 100 do you give this agent?")
        return Field(
            indicator_field_id(indicator),
            "number",
            Msg(prompt, {"indicator": name}),
            help=worth,
            minimum=0,
            maximum=100,
            short=Msg(N_("{indicator} (of 100 points)"), {"indicator": name}),
        )
    if unit in PERCENT_UNITS:
        prompt = N_("{indicator}: what percentage does this agent reach this period?")
        return Field(
            indicator_field_id(indicator),
            "number",
            Msg(prompt, {"indicator": name}),
            help=worth,
            minimum=0,
            maximum=100,
            unit="%",
            short=name,
        )
    word = UNIT_WORDS.get(unit, unit)
    labelled = Msg(N_("{indicator} ({unit})"), {"indicator": name, "unit": word})
    if unit == "count" or method.counts_events:
        prompt = N_("{indicator}: how many times this period?")
        return Field(
            indicator_field_id(indicator),
            "number",
            Msg(prompt, {"indicator": name}),
            help=worth,
            minimum=0,
            integer=True,
            short=labelled,
        )
    prompt = N_("{indicator}: what is this agent's value this period, in {unit}?")
    return Field(
        indicator_field_id(indicator),
        "number",
        Msg(prompt, {"indicator": name, "unit": word}),
        help=worth,
        minimum=0,
        short=labelled,
    )


def stored_value(indicator: Indicator, answer: Any) -> Decimal | None:
    """A form answer as the indicator's stored value (a percentage as a fraction, a level as its
    number)."""
    if answer is None:
        return None
    levels = indicator.method.choices()
    if levels:
        ids = [level.id for level in levels]
        return Decimal(ids.index(str(answer)) + 1) if str(answer) in ids else None
    value = Decimal(str(answer))
    return value / 100 if indicator.unit == "fraction" else value


def answer_of(indicator: Indicator, value: Decimal | None) -> Any:
    """A stored value back as the form's answer (the inverse of :func:`stored_value`); None if it
    fits no answer."""
    if value is None:
        return None
    method = indicator.method
    levels = method.choices()
    if levels:
        number = int(value) if value == value.to_integral_value() else 0
        return levels[number - 1].id if 1 <= number <= len(levels) else None
    shown = value * 100 if indicator.unit == "fraction" else value
    as_float = float(shown)
    if indicator.unit == "count" or method.counts_events:
        return int(as_float) if as_float.is_integer() and as_float >= 0 else None
    return int(as_float) if as_float.is_integer() else as_float


def current_indicator_answers(
    ctx: Context, scheme: Scheme, member: Member, period: Period
) -> Answers:
    """The current values of the manager's indicators as answers (a re-review shows them)."""
    stored = {
        row.indicator: row.value
        for row in repo.indicator_values(session=ctx.session, period=period, member=member)
    }
    answers: Answers = {}
    for indicator in manager_indicators(scheme):
        if (
            indicator.column in stored
            and (answer := answer_of(indicator, stored[indicator.column])) is not None
        ):
            answers[indicator_field_id(indicator)] = answer
    return answers


def _indicator_answers(answers: Answers) -> dict[str, Any]:
    return {
        k.removeprefix(INDICATOR_FIELD): v
        for k, v in answers.items()
        if k.startswith(INDICATOR_FIELD)
    }


# -- the form --------------------------------------------------------------------------------


def fields(ctx: Context, conv: Conversation) -> list[Field]:
    subject, period = conversation_subject(ctx, conv), conversation_period(ctx, conv)
    scheme = scheme_of(ctx, team_of(ctx, subject), period)
    out: list[Field] = []
    for dim in scheme.manager_dimensions if scheme is not None else ():
        if dim.computed is not None:
            continue
        out.append(score_field(dim, N_("{dimension}: how do you rate this agent?")))
        out.append(Field(
            f"{dim.id}_comment", "text",
            Msg(N_("You gave {dimension} a score at the end of the scale. Please say why."),
                {"dimension": names(dim.name)}),
            help=N_("A score of 1 or 5 needs a short reason the agent can read."),
            max_length=COMMENT_LIMIT, ask_if=(dim.id, ENDS),
            short=Msg(N_("Why ({dimension})"), {"dimension": names(dim.name)}),
        ))  # fmt: skip
    if scheme is not None:
        out += [indicator_field(i, scheme.precision) for i in manager_indicators(scheme)]
    if scheme is None or not scheme.manager_dimensions:
        return out  # only indicators to give: there is no review for a comment to go with
    out.append(
        Field(
            "comment",
            "text",
            N_("Anything else to tell the agent? (optional)"),
            required=False,
            max_length=COMMENT_LIMIT,
            short=N_("Comment"),
        )
    )
    return out


def _split(answers: Answers) -> tuple[dict[str, int], dict[str, str]]:
    """The review's own answers: dimension scores and comments (the indicators are stored apart)."""
    own = {k: v for k, v in answers.items() if not k.startswith(INDICATOR_FIELD)}
    scores = {k: v for k, v in own.items() if isinstance(v, int) and not isinstance(v, bool)}
    comments = {k.removesuffix("_comment"): v for k, v in own.items() if isinstance(v, str) and v}
    return scores, comments


def _joined(scores: Mapping[str, Any], comments: Mapping[str, Any]) -> Answers:
    """The stored review back as form answers (the inverse of :func:`_split`)."""
    answers: Answers = dict(scores)
    for key, text in comments.items():
        answers[key if key == "comment" else f"{key}_comment"] = text
    return answers


def preview(ctx: Context, conv: Conversation, answers: Answers) -> list[str]:
    """The total the agent would get with these answers (``results.what_if``: the shared scoring
    module)."""
    subject, period = conversation_subject(ctx, conv), conversation_period(ctx, conv)
    scores, _comments = _split(answers)
    overrides: dict[str, float | None] = {f"manager.{k}": float(v) for k, v in scores.items()}
    scheme = scheme_of(ctx, team_of(ctx, subject), period)
    given = _indicator_answers(answers)
    for indicator in manager_indicators(scheme):
        if indicator.id in given:
            value = stored_value(indicator, given[indicator.id])
            overrides[indicator.id] = None if value is None else float(value)
    outcome = results.what_if(
        team_of(ctx, subject), period, subject, overrides, session=ctx.session
    )
    if outcome is None or outcome.after.total is None:
        return [ctx._("Resulting total: not enough data yet.")]
    return [ctx._("Resulting total for {name}: {total} / 100 (preview, not yet stored).",
                  name=display_name(ctx, subject),
                  total=numbers.total(outcome.after.total, outcome.scheme.precision))]  # fmt: skip


def check(ctx: Context, conv: Conversation) -> str | None:
    period = conversation_period(ctx, conv)
    if period.status not in REVIEWABLE_STATUSES:
        return ctx._("Reviews for {period} are closed.", period=period.key)
    decision = permissions.can_review(ctx.actor, conversation_subject(ctx, conv))
    return None if decision else decision.explain(ctx._)


def submit(ctx: Context, conv: Conversation, answers: Answers) -> int:
    """Store the review, and each manager-provided indicator as its value (source ``manager``,
    audited)."""
    scores, comments = _split(answers)
    period, subject = conversation_period(ctx, conv), conversation_subject(ctx, conv)
    scheme = scheme_of(ctx, team_of(ctx, subject), period)
    actor = repo.actor_of(ctx.actor)
    result_id: int | None = None
    given = _indicator_answers(answers)
    for indicator in manager_indicators(scheme):
        if (
            indicator.id not in given
            or (value := stored_value(indicator, given[indicator.id])) is None
        ):
            continue
        row = repo.set_indicator_value(
            session=ctx.session,
            period=period,
            member=subject,
            indicator=indicator.column,
            value=value,
            source="manager",
            actor=actor,
            reason="asked in the manager review",
            now=ctx.now,
        )
        ctx.session.flush()
        result_id = row.id
    if scheme is not None and scheme.manager_dimensions:
        review = repo.save_review(
            session=ctx.session, period=period, subject=subject, rater=ctx.actor,
            kind="manager", answers=scores, comments=comments, actor=actor,
            reason="manager review submitted in chat", submitted_at=ctx.now,
            idempotency_key=f"conversation:{conv.id}", now=ctx.now,
        )  # fmt: skip
        result_id = review.id
    assert result_id is not None
    return result_id


FORM = FormDefinition(
    form_id=FORM_ID,
    title=TITLE,
    fields=fields,
    submit=submit,
    intro=intro,
    preview=preview,
    check=check,
    done=N_(
        "Thank you, the review is submitted. You can change it with /review until the review "
        "window closes."
    ),
)


# -- the command -----------------------------------------------------------------------------


def _start(ctx: Context, subject: Member, period_key: str) -> list[Reply]:
    _ = ctx._
    permissions.require(permissions.can_review(ctx.actor, subject))
    team = team_of(ctx, subject)
    period = (
        period_by_key(ctx, team, period_key) if period_key else latest_reviewable_period(ctx, team)
    )
    if period is None:
        if period_key:
            return [
                Reply(text=_("There is no period {period}.", period=period_key), ephemeral=True)
            ]
        return [Reply(text=_("There is no period to review yet."), ephemeral=True)]
    if period.status not in REVIEWABLE_STATUSES:
        return [
            Reply(text=_("Reviews for {period} are closed.", period=period.key), ephemeral=True)
        ]
    scheme = scheme_of(ctx, team, period)
    if scheme is None:
        return [
            Reply(
                text=_("Your team has no scheme yet, so there is nothing to review. Ask an admin."),
                ephemeral=True,
            )
        ]
    if not scheme.manager_dimensions and not manager_indicators(scheme):
        return [
            Reply(
                text=_("The scheme of team {team} has no manager review.", team=team.name),
                ephemeral=True,
            )
        ]
    earlier = repo.get_review(
        session=ctx.session, period=period, subject=subject, rater=ctx.actor, kind="manager"
    )
    answers = _joined(earlier.answers, earlier.comments) if earlier is not None else {}
    answers |= current_indicator_answers(ctx, scheme, subject, period)
    return engine.start(
        ctx, FORM_ID, period_id=period.id, subject_id=subject.id, expires_at=expiry(ctx, period),
        answers=answers or None,
    )  # fmt: skip


def review(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    parts = args.split()
    if not parts:
        return choose(ctx)
    subject, ambiguous = find_subject(ctx, parts[0])
    if ambiguous:
        return [
            Reply(
                text=_(
                    "Several members are called {name}; write team/name.", name=parts[0].lstrip("@")
                ),
                ephemeral=True,
            )
        ]
    if subject is None:
        return [
            Reply(
                text=_("There is no member {name} in your teams.", name=parts[0].lstrip("@")),
                ephemeral=True,
            )
        ]
    return _start(ctx, subject, parts[1] if len(parts) > 1 else "")


def choose(ctx: Context) -> list[Reply]:
    """The agents this person may review, as buttons, with who is already reviewed marked."""
    _ = ctx._
    buttons: list[Button] = []
    teams = _teams_in_reach(ctx)
    managed = [t.id for t in teams if t.id is not None]  # read once, not once per agent
    for team in teams:
        period = latest_reviewable_period(ctx, team)
        if period is None:
            continue
        done = {
            r.subject_id
            for r in repo.list_reviews(session=ctx.session, period=period, kind="manager")
        }
        for agent in repo.list_members(session=ctx.session, team=team, roles=["agent"]):
            if not agent.active or not permissions.can_review(ctx.actor, agent, managed=managed):
                continue
            mark = " ✓" if agent.id in done else ""
            buttons.append(
                Button(
                    label=f"{display_name(ctx, agent)} ({period.key}){mark}",
                    action="review:pick",
                    value=f"{agent.id}:{period.id}",
                )
            )
    if not buttons:
        return [Reply(text=_("There is nobody for you to review now."), ephemeral=True)]
    return [
        Reply(
            text=_("Whom do you want to review? (✓ = already reviewed)"),
            buttons=tuple(buttons),
            private=True,
            relist="/review",
        )
    ]


def pick(ctx: Context, value: str) -> list[Reply]:
    member_text, _sep, period_text = value.partition(":")
    subject = (
        repo.get_member(session=ctx.session, member_id=int(member_text))
        if member_text.isdigit()
        else None
    )
    period = (repo.get_period_by_id(session=ctx.session, period_id=int(period_text))
              if period_text.isdigit() else None)  # fmt: skip
    if subject is None or period is None or period.team_id != subject.team_id:
        return [
            Reply(
                text=ctx._("That button no longer works. Send /help to see what you can do."),
                ephemeral=True,
            )
        ]
    return _start(ctx, subject, period.key)


COMMANDS: tuple[Command, ...] = (
    Command(
        "review",
        review,
        permissions.LEADERS,
        what=N_("review an agent of your team"),
        example="/review @Carol 2026-10",
        refusal=N_(
            "The command /review is not available to you: only managers and admins review agents. "
            "Use /selfreview for your own review."
        ),
        menu=N_("Review an agent (managers)"),
        menu_rank=4,
    ),
)
ACTIONS: dict[str, Handler] = {"review": pick}
ACTION_IDS: dict[str, tuple[str, ...]] = {"review:pick": ("member.review", "period")}
