"""A small form used by the engine tests: one question of every kind, one conditional."""

from __future__ import annotations

from commands.context import Command, Context
from commands.forms.spec import Answers, Field, FormDefinition, Localized, Option
from commands.permissions import ALL
from storage.models import AuditLog, Conversation

FIELDS = (
    Field(
        "mood",
        "score",
        "How was your week?",
        anchors=("Very poor", "Poor", "Fair", "Good", "Excellent"),
    ),
    Field("why", "text", "What went well?", max_length=20, ask_if=("mood", (1, 5))),
    Field("calls", "number", "How many calls?", minimum=0, maximum=500, integer=True),
    Field("share", "number", "Refund ratio?", minimum=0, maximum=100, unit="%", required=False),
    Field(
        "shift",
        "choice",
        "Which shift?",
        options=(Option("early", "Early"), Option("late", "Late")),
    ),
    Field("again", "yesno", Localized(zh="还要吗？", en="Again?")),
)


def _submit(ctx: Context, conv: Conversation, answers: Answers) -> int:
    row = AuditLog(actor=f"member:{ctx.actor.id}", action="toy.submit", entity="conversation",
                   entity_id=str(conv.id), after=answers)  # fmt: skip
    ctx.session.add(row)
    ctx.session.flush()
    assert row.id is not None
    return row.id


def _preview(ctx: Context, conv: Conversation, answers: Answers) -> list[str]:
    return [f"preview calls={answers.get('calls')}"]


FORM = FormDefinition(
    form_id="toy",
    title="self-review",
    fields=lambda ctx, conv: FIELDS,
    submit=_submit,
    preview=_preview,
)


def _start(ctx: Context, args: str) -> list:  # type: ignore[type-arg]
    from commands.forms import start

    return start(ctx, "toy", period_id=None, subject_id=None, expires_at=None)


COMMANDS = (Command("toy", _start, ALL),)
