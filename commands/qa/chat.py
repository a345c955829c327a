"""``/qa`` in chat: the command and its buttons (listed in ``commands.registry``).

What each word does is this package's contract (``commands.qa``); the work is in its modules:
``review`` (the form), ``results`` (an agent's results, disputes, draws), ``calibration``.
"""

from __future__ import annotations

from commands import permissions
from commands.context import Command, Context, Handler
from commands.messages import Reply
from commands.permissions import N_
from commands.qa.calibration import agreement_report, calibrate
from commands.qa.results import dispute, draw, my_results, on_dispute_button
from commands.qa.review import FORM, next_sample

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
__all__ = ["ACTION_IDS", "ACTIONS", "COMMANDS", "FORM"]
