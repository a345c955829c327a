"""``/qa``: quality sampling (质检) in chat — review samples, see your results, draw, calibrate.

    /qa                          reviewer: your next sample; agent: your QA results
    /qa next                     reviewer: your next sample
    /qa results [PERIOD]         agent: your reviewed samples, scores, failed checks, comments
    /qa dispute N REASON         agent: dispute QA result N (becomes an appeal of the qa component)
    /qa draw [TEAM] [PERIOD] [seed=N]   manager/admin: draw the period's samples (seed recorded)
    /qa calibrate SAMPLE NAME …  admin: send one sample to several reviewers
    /qa agreement SAMPLE         admin: their agreement and the spread of their totals

The scorecard is part of the scheme's qa component (parsed by ``scoring.scheme_parser``,
every problem reported at once naming the check and the field)::

    [[components]]
    kind = "qa"
    weight = 20
    min_samples = 3                     # fewer scored samples: below_min (exclude | default)
    blind = false                       # true: reviewers never see whose conversation it is
    reviewers = ["qa", "manager"]       # roles with a review queue (qa, manager, admin)
    sample = { per = "week", count = 2 }  # or share = 0.05; per = day | week | period
    link = "https://desk.example.com/t/{ref}"   # optional: opens the original session

    [[components.checks]]
    id = "identity_check"
    name = { zh = "按规定核实客户身份", en = "Verified the caller's identity" }
    points = 20                         # or weight = 20 (relative, the same thing)
    critical = true                     # failing it fails the whole sample (0)
    na = true                           # may be answered N/A (left out of the total); default true

A sample scores ``100 × points passed ÷ points of the checks that apply`` (``scoring.qa``);
the period's regular reviews give the qa component its mean and count
(:func:`qa_inputs`, used by ``commands.results.gather``). Calibration reviews never count.

Who reviews is decided in :mod:`commands.permissions` (``can_qa_review``): the scheme's
``reviewers`` roles (default qa and manager), a qa member for their own team, a manager for
the teams they manage, never one's own conversation. Parts: :mod:`.sampling` (the draw),
:mod:`.sessions` (loading sessions, ``store_sessions`` for the KPI import), :mod:`.review`
(the form and the queue), :mod:`.calibration`, :mod:`.results` (agent view, disputes,
``qa_inputs`` for the score).
"""

from __future__ import annotations

from commands import permissions
from commands.context import Command, Context, Handler
from commands.messages import Reply
from commands.permissions import N_
from commands.qa.calibration import agreement_report, calibrate
from commands.qa.results import dispute, draw, my_results, on_dispute_button, qa_inputs
from commands.qa.review import FORM, next_sample
from commands.qa.sessions import load_sessions, store_sessions

REVIEWER_ROLES = (permissions.Role.QA, permissions.Role.MANAGER, permissions.Role.ADMIN)


def _usage(ctx: Context) -> str:
    _ = ctx._
    role = permissions.role_of(ctx.actor)
    lines = [_("Quality sampling:")]
    if role is permissions.Role.AGENT:
        lines += [
            _("/qa results [period] — your reviewed conversations"),
            _("/qa dispute N reason — dispute QA result N"),
        ]
    else:
        lines.append(_("/qa next — your next sample to review"))
    if role in (permissions.Role.MANAGER, permissions.Role.ADMIN):
        lines.append(_("/qa draw [team] [period] [seed=N] — draw the period's samples"))
    if role is permissions.Role.ADMIN:
        lines += [
            _("/qa calibrate sample name name … — send one sample to several reviewers"),
            _("/qa agreement sample — how far their reviews agree"),
        ]
    return "\n".join(lines)


def review_next(ctx: Context) -> list[Reply]:
    replies = next_sample(ctx)
    if replies is None:
        text = ctx._("Your review queue is empty. Well done!")
        if permissions.role_of(ctx.actor) in (permissions.Role.MANAGER, permissions.Role.ADMIN):
            text += "\n\n" + _usage(ctx)
        return [Reply(text=text, private=True)]
    return replies


def qa_command(ctx: Context, args: str) -> list[Reply]:
    word, _sep, rest = args.strip().partition(" ")
    word = word.lower()
    role = permissions.role_of(ctx.actor)
    if word == "":
        if role is permissions.Role.AGENT:
            return my_results(ctx, "")
        return review_next(ctx)
    if word in ("next", "review"):
        if role is permissions.Role.AGENT:
            return [
                Reply(text=ctx._("Only quality reviewers have a review queue."), ephemeral=True)
            ]
        return review_next(ctx)
    if word in ("results", "mine", "me"):
        if role is not permissions.Role.AGENT:
            return [
                Reply(
                    text=ctx._("QA results are shown to the agent whose conversation it was."),
                    ephemeral=True,
                )
            ]
        return my_results(ctx, rest)
    if word == "dispute":
        return dispute(ctx, rest)
    if word == "draw":
        return draw(ctx, rest)
    if word == "calibrate":
        return calibrate(ctx, rest)
    if word == "agreement":
        return agreement_report(ctx, rest)
    return [Reply(text=_usage(ctx), ephemeral=True)]


def on_action(ctx: Context, value: str) -> list[Reply]:
    op = (ctx.incoming.action or "").partition(":")[2]
    if op == "dispute":
        return on_dispute_button(ctx, value)
    if op == "next":
        return review_next(ctx)
    return [
        Reply(
            text=ctx._("That button no longer works. Send /help to see what you can do."),
            ephemeral=True,
        )
    ]


COMMANDS: tuple[Command, ...] = (
    Command(
        "qa",
        qa_command,
        permissions.ALL,
        what=N_("quality sampling: review samples, or read and dispute your QA results"),
        example="/qa",
    ),
)
ACTIONS: dict[str, Handler] = {"qa": on_action}
ACTION_IDS: dict[str, tuple[str, ...]] = {"qa:dispute": ("qa_review.own",), "qa:next": ()}

__all__ = [
    "ACTION_IDS",
    "ACTIONS",
    "COMMANDS",
    "FORM",
    "load_sessions",
    "qa_inputs",
    "store_sessions",
]
