"""The one engine that walks every conversational form, whatever the platform.

State is the ``conversation`` row: ``step`` is the index of the current field in the
form's field list (``len(fields)`` means the summary), ``answers`` maps field ids to
answers (``None`` for a skipped optional question). Keys starting with ``_`` are the
engine's own bookkeeping (``_edit``: return to the summary after this answer; ``_confirm``: a
bare number typed for a free-text question right after a menu, kept only when the person says
so, :func:`confirm_number`).

Buttons use the action ``form:<op>`` and the value ``<conversation_id>:<step>:<arg>``:

    form:answer   <cid>:<step>:<value>     answer the current question with value
    form:back     <cid>:<step>:            previous question
    form:skip     <cid>:<step>:            skip an optional question
    form:cancel   <cid>:<step>:            cancel; the conversation ends, nothing is stored
    form:edit     <cid>:<step>:<field_id>  from the summary, change one answer
    form:submit   <cid>:<step>:            from the summary, submit (idempotent)
    form:resume   <cid>:<step>:            continue a draft where it stopped
    form:restart  <cid>:<step>:            drop a draft and start again
    form:keep     <cid>:<step>:<number>    keep the number awaiting confirmation as the answer
    form:modal    <cid>:<step>:            a whole form submitted at once; ``Incoming.values``
                                           maps field ids to raw answers (a Slack modal)

The reply that starts or resumes a form carries every question in ``Reply.form`` for
adapters that show a form on one screen; a conditional question is optional there and
required on submission only when its condition holds.

A button whose ``step`` is no longer the conversation's step (a double tap, an old
message) changes nothing: the person sees the current question again.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from commands.context import Context, Handler
from commands.forms.spec import Answers, Field, FormDefinition, render
from commands.messages import Button, Choice, Question, Reply
from commands.plain import printable
from storage import conversations as repo
from storage.models import Conversation

ACTION = "form"
OPS = ("answer", "back", "skip", "cancel", "edit", "submit", "resume", "restart", "modal", "keep")
"""Every ``form:<op>`` a button or modal may carry (the module docstring says what each does)."""
BACK_WORDS = frozenset({"back", "/back", "返回", "上一题", "上一步"})
SKIP_WORDS = frozenset({"skip", "/skip", "跳过"})
CANCEL_WORDS = frozenset({"cancel", "/cancel", "取消"})
SUBMIT_WORDS = frozenset({"submit", "/submit", "提交"})
YES_WORDS = frozenset({"yes", "y", "是", "是的", "对", "好", "1"})
NO_WORDS = frozenset({"no", "n", "否", "不", "不是", "0"})
KEEP_WORDS = frozenset({"yes", "y", "keep", "是", "是的", "对", "好", "保留"})
"""Keeping a number typed for a free-text question (:func:`_meant_for_the_menu`); no digit here:
a digit is what is being asked about."""
MENU_KINDS = ("score", "choice", "yesno")
"""Questions answered from a numbered menu."""
CONFIRM = "_confirm"
"""The answers' key of a number awaiting confirmation: ``{"step": 3, "text": "2"}``."""
CHINESE_DIGITS = {"一": "1", "二": "2", "三": "3", "四": "4", "五": "5"}


def definition(ctx: Context, form_id: str) -> FormDefinition:
    """The form ``form_id`` of the modules the router serves (their ``FORM``, ``ctx.forms``)."""
    return ctx.forms[form_id]


def aware(moment: datetime | None) -> datetime | None:
    """Times are stored in UTC; SQLite hands them back without a zone."""
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


EARLIER = "_earlier"
"""Marks a conversation that changes a submitted form: cancelling it leaves that version
standing."""


def normalize(text: str) -> str:
    """A typed word or number as read: NFKC (full-width ``５`` is ``5``, ``ｓｋｉｐ`` is ``skip``),
    trimmed, no control characters (commands.plain). Never for free text: see :func:`as_typed`."""
    return printable(unicodedata.normalize("NFKC", text)).strip()


def as_typed(text: str) -> str:
    """A free-text answer as stored: what the person typed, trimmed, no control characters; the
    full-width punctuation of Chinese (``（目标30秒以内）``, ``，``, ``：``) is kept."""
    return printable(text).strip()


@dataclass
class State:
    """A conversation with its form and fields loaded, for one request."""

    conv: Conversation
    form: FormDefinition
    fields: Sequence[Field]

    @property
    def cid(self) -> int:
        assert self.conv.id is not None
        return self.conv.id

    @property
    def answers(self) -> Answers:
        return dict(self.conv.answers or {})

    def visible(self, answers: Answers | None = None) -> list[int]:
        given = self.answers if answers is None else answers
        return [i for i, f in enumerate(self.fields) if f.visible(given)]


def load(ctx: Context, conv: Conversation) -> State:
    form = definition(ctx, conv.form_id)
    return State(conv, form, tuple(form.fields(ctx, conv)))


# -- starting ---------------------------------------------------------------------------


def start(
    ctx: Context,
    form_id: str,
    *,
    period_id: int | None,
    subject_id: int | None,
    expires_at: datetime | None,
    answers: Answers | None = None,
) -> list[Reply]:
    """Open a form, or offer to continue the draft left for the same period and subject.

    ``answers`` pre-fills the form (the answers submitted earlier, to change them): when
    they answer every question the person lands on the summary, else on the first gap.
    """
    assert ctx.actor.id is not None
    draft = repo.find_draft(
        session=ctx.session, member_id=ctx.actor.id, form_id=form_id,
        period_id=period_id, subject_id=subject_id,
    )  # fmt: skip
    if draft is not None and _expired(ctx, draft):
        draft = None
    if draft is not None:
        state = load(ctx, draft)
        if any(not k.startswith("_") for k in state.answers):
            return [offer_resume(ctx, state)]
        return state.form.intro(ctx, draft) + [ask(ctx, state, offer_form=True)]
    conv = repo.create_conversation(
        session=ctx.session, member_id=ctx.actor.id, form_id=form_id, period_id=period_id,
        subject_id=subject_id, platform=ctx.incoming.platform, now=ctx.now,
        expires_at=expires_at, answers=answers,
    )  # fmt: skip
    state = load(ctx, conv)
    known = {f.id for f in state.fields}
    given = {k: v for k, v in state.answers.items() if k in known}
    if given:  # an optional question left out of the earlier submission was skipped, not missed
        for index in state.visible(given):
            f = state.fields[index]
            if not f.required and f.id not in given:
                given[f.id] = None
    missing = _first_missing(state, given)
    if not given:
        step = _next_visible(state, -1, given)
    else:
        step = len(state.fields) if missing is None else missing
    if answers:
        given[EARLIER] = True
    repo.save_conversation(conv, session=ctx.session, now=ctx.now, step=step, answers=given)
    return state.form.intro(ctx, conv) + [ask(ctx, state, offer_form=True)]


def offer_resume(ctx: Context, state: State) -> Reply:
    _ = ctx._
    title = render(state.form.title, _, ctx.lang)
    step = state.conv.step
    if step >= len(state.fields):
        text = _(
            "You have an unfinished {form}: every question is answered. Continue to the summary?",
            form=title,
        )
    else:
        number = _position(state, step)
        text = _(
            "You have an unfinished {form}. Continue from question {number}?",
            form=title,
            number=number,
        )
    return Reply(
        text=text,
        buttons=(
            _button(_("Continue"), "resume", state, style="primary"),
            _button(_("Start over"), "restart", state),
            _button(_("Cancel"), "cancel", state, style="danger"),
        ),
        private=True,
    )


# -- showing ----------------------------------------------------------------------------


def _button(label: str, op: str, state: State, arg: str = "", style: Any = None) -> Button:
    return Button(
        label=label,
        action=f"{ACTION}:{op}",
        value=f"{state.cid}:{state.conv.step}:{arg}",
        style=style,
    )


def _position(state: State, index: int) -> int:
    visible = state.visible()
    return (
        visible.index(index) + 1 if index in visible else len([i for i in visible if i < index]) + 1
    )


def show_value(ctx: Context, f: Field, value: Any) -> str:
    _ = ctx._
    if value is None:
        return _("(skipped)")
    if f.kind == "score" and f.anchors and isinstance(value, int) and 1 <= value <= len(f.anchors):
        return f"{value} · {render(f.anchors[value - 1], _, ctx.lang)}"
    if f.kind == "yesno":
        return _("Yes") if value else _("No")
    if f.kind == "choice":
        for option in f.options:
            if option.value == value:
                return render(option.label, _, ctx.lang)
    if f.kind == "number":
        number = int(value) if float(value).is_integer() else value
        return f"{number}{f.unit}"
    return str(value)


def _choices(ctx: Context, f: Field) -> list[Choice]:
    _ = ctx._
    if f.kind == "score":
        return [
            Choice(
                f"{value} · {render(f.anchors[value - 1], _, ctx.lang)}"
                if f.anchors
                else str(value),
                str(value),
            )
            for value in range(1, 6)
        ]
    if f.kind == "choice":
        return [Choice(render(o.label, _, ctx.lang), o.value) for o in f.options]
    if f.kind == "yesno":
        return [Choice(_("Yes"), "yes"), Choice(_("No"), "no")]
    return []


def question(ctx: Context, state: State, index: int, *, whole_form: bool = False) -> Question:
    """Field ``index`` as a neutral question. In a whole form (a modal) a conditional
    question is optional: the engine asks for it on submission when it is needed."""
    f = state.fields[index]
    answers = state.answers
    required = f.required and (f.ask_if is None or not whole_form)
    return Question(
        form_id=state.conv.form_id, conversation_id=state.cid, field_id=f.id, kind=f.kind,
        prompt=render(f.prompt, ctx._, ctx.lang), step=index, total=len(state.fields),
        help=render(f.help, ctx._, ctx.lang), required=required, choices=tuple(_choices(ctx, f)),
        minimum=f.minimum, maximum=f.maximum, max_length=f.max_length,
        current=_as_choice_value(answers.get(f.id)) if f.id in answers else None,
    )  # fmt: skip


def whole_form(ctx: Context, state: State) -> tuple[Question, ...]:
    """Every question, for adapters that show a form on one screen (a Slack modal)."""
    return tuple(question(ctx, state, i, whole_form=True) for i in range(len(state.fields)))


def ask(ctx: Context, state: State, note: str = "", *, offer_form: bool = False) -> Reply:
    """The current question (or the summary when every question is answered).

    ``offer_form`` adds the whole form (``Reply.form``) for adapters that can show it at once.
    """
    step = state.conv.step
    if step >= len(state.fields):
        return summary(ctx, state, note)
    _ = ctx._
    f = state.fields[step]
    number, total = _position(state, step), len(state.visible())
    q = question(ctx, state, step)
    lines = [note] if note else []
    lines.append(
        _("Question {number} of {total}: {prompt}", number=number, total=total, prompt=q.prompt)
    )
    if q.help:
        lines.append(q.help)
    lines.append(_hint(ctx, f))
    if f.id in state.answers:
        lines.append(
            _("Current answer: {answer}", answer=show_value(ctx, f, state.answers.get(f.id)))
        )
    buttons = [_button(c.label, "answer", state, c.value) for c in q.choices]
    if number > 1:
        buttons.append(_button(_("Back"), "back", state))
    if not f.required:
        buttons.append(_button(_("Skip"), "skip", state))
    buttons.append(_button(_("Cancel"), "cancel", state, style="danger"))
    form = whole_form(ctx, state) if offer_form else ()
    return Reply(text="\n".join(lines), buttons=tuple(buttons), question=q, private=True, form=form)


def _as_choice_value(value: Any) -> str | None:
    """An answer the way a button would send it back (``yes``/``no`` for a yes/no)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _hint(ctx: Context, f: Field) -> str:
    """How to answer this question; also the text shown after a wrong answer."""
    _ = ctx._
    if f.kind == "score":
        return _("Send a whole number from 1 to 5.")
    if f.kind == "number":
        low, high = _fmt(f.minimum), _fmt(f.maximum)
        if f.maximum is None:
            if f.integer:
                return _("Send a whole number of {low}{unit} or more.", low=low, unit=f.unit)
            return _("Send a number of {low}{unit} or more.", low=low, unit=f.unit)
        if f.integer:
            return _(
                "Send a whole number from {low} to {high}{unit}.", low=low, high=high, unit=f.unit
            )
        return _("Send a number from {low} to {high}{unit}.", low=low, high=high, unit=f.unit)
    if f.kind == "text":
        if f.max_length:
            return _("Write your answer in at most {n} characters.", n=f.max_length)
        return _("Write your answer.")
    if f.kind == "choice":
        labels = " / ".join(render(o.label, _, ctx.lang) for o in f.options)
        return _("Choose one of: {options}.", options=labels)
    return _("Answer yes or no.")


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def summary(ctx: Context, state: State, note: str = "") -> Reply:
    _ = ctx._
    answers = state.answers
    title = render(state.form.title, _, ctx.lang)
    lines = [note] if note else []
    lines.append(_("Summary of your {form}:", form=title))
    edit_buttons: list[Button] = []
    for number, index in enumerate(state.visible(), start=1):
        f = state.fields[index]
        label = render(f.label(), _, ctx.lang)
        lines.append(
            _(
                "{number}. {label}: {answer}",
                number=number,
                label=label,
                answer=show_value(ctx, f, answers.get(f.id)),
            )
        )
        edit_buttons.append(_button(_("Change {number}", number=number), "edit", state, f.id))
    lines += state.form.preview(ctx, state.conv, _answered(state, answers))
    lines.append(_("Submit, or change an answer first."))
    buttons = (
        _button(_("Submit"), "submit", state, style="primary"),
        *edit_buttons,
        _button(_("Cancel"), "cancel", state, style="danger"),
    )
    return Reply(text="\n".join(lines), buttons=buttons, private=True)


# -- validating -------------------------------------------------------------------------


def parse(ctx: Context, f: Field, raw: str) -> tuple[Any, str | None]:
    """The answer's value, or ``(None, hint)`` saying exactly what is expected."""
    _ = ctx._
    text = normalize(raw)
    if f.kind == "score":
        text = CHINESE_DIGITS.get(text, text)
        if text.isdigit() and 1 <= int(text) <= 5:
            return int(text), None
        return None, _("Please send a whole number from 1 to 5.")
    if f.kind == "number":
        return _parse_number(ctx, f, text)
    if f.kind == "text":
        text = as_typed(raw)
        if not text:
            return None, _("This question needs an answer.")
        if f.max_length and len(text) > f.max_length:
            return None, _(
                "Please keep it to {n} characters; yours has {count}.",
                n=f.max_length,
                count=len(text),
            )
        return text, None
    if f.kind == "choice":
        lowered = text.lower()
        for number, option in enumerate(f.options, start=1):
            label = render(option.label, _, ctx.lang).lower()
            if lowered in (option.value.lower(), label, str(number)):
                return option.value, None
        labels = " / ".join(render(o.label, _, ctx.lang) for o in f.options)
        return None, _("Please choose one of: {options}.", options=labels)
    lowered = text.lower()
    if lowered in YES_WORDS:
        return True, None
    if lowered in NO_WORDS:
        return False, None
    return None, _("Please answer yes or no.")


def _parse_number(ctx: Context, f: Field, text: str) -> tuple[Any, str | None]:
    _ = ctx._
    cleaned = text.replace(",", "").strip()
    if f.unit and cleaned.endswith(f.unit):
        cleaned = cleaned[: -len(f.unit)].strip()
    low, high = _fmt(f.minimum), _fmt(f.maximum)
    try:
        value = float(cleaned)
    except ValueError:
        value = float("nan")
    whole = math.isfinite(value) and (not f.integer or value.is_integer())
    in_range = (
        whole
        and (f.minimum is None or value >= f.minimum)
        and (f.maximum is None or value <= f.maximum)
    )
    if not in_range:
        if f.maximum is None:
            if f.integer:
                return None, _(
                    "Please send a whole number of {low}{unit} or more.", low=low, unit=f.unit
                )
            return None, _("Please send a number of {low}{unit} or more.", low=low, unit=f.unit)
        if f.integer:
            return None, _(
                "Please send a whole number from {low} to {high}{unit}.",
                low=low,
                high=high,
                unit=f.unit,
            )
        return None, _(
            "Please send a number from {low} to {high}{unit}.", low=low, high=high, unit=f.unit
        )
    return (int(value) if f.integer else value), None


# -- moving -----------------------------------------------------------------------------


def _next_visible(state: State, after: int, answers: Answers) -> int:
    for index in range(after + 1, len(state.fields)):
        if state.fields[index].visible(answers):
            return index
    return len(state.fields)


def _previous_visible(state: State, before: int, answers: Answers) -> int | None:
    for index in range(min(before, len(state.fields)) - 1, -1, -1):
        if state.fields[index].visible(answers):
            return index
    return None


def _first_missing(state: State, answers: Answers) -> int | None:
    for index in state.visible(answers):
        f = state.fields[index]
        if f.id not in answers or (f.required and answers[f.id] is None):
            return index
    return None


def _answered(state: State, answers: Answers) -> Answers:
    """The answers of the visible fields only (a comment made moot by a new score is dropped)."""
    return {state.fields[i].id: answers.get(state.fields[i].id) for i in state.visible(answers)}


def _store(ctx: Context, state: State, index: int, value: Any) -> list[Reply]:
    answers = state.answers
    answers.pop(CONFIRM, None)
    answers[state.fields[index].id] = value
    editing = bool(answers.pop("_edit", False))
    missing = _first_missing(state, answers)
    if editing:
        step = missing if missing is not None else len(state.fields)
        if missing is not None:
            answers["_edit"] = True
    else:
        step = _next_visible(state, index, answers)
        if step >= len(state.fields) and missing is not None:
            step = missing
    repo.save_conversation(state.conv, session=ctx.session, now=ctx.now, step=step, answers=answers)
    return [ask(ctx, state)]


def _expired(ctx: Context, conv: Conversation) -> bool:
    expires = aware(conv.expires_at)
    if expires is None or expires > ctx.now:
        return False
    repo.save_conversation(conv, session=ctx.session, now=ctx.now, status="expired")
    return True


def _expired_reply(ctx: Context, state: State) -> list[Reply]:
    title = render(state.form.title, ctx._, ctx.lang)
    return [
        Reply(
            text=ctx._("Your {form} draft has expired; nothing was submitted.", form=title),
            private=True,
        )
    ]


def cancel(ctx: Context, state: State) -> list[Reply]:
    repo.save_conversation(state.conv, session=ctx.session, now=ctx.now, status="cancelled")
    title = render(state.form.title, ctx._, ctx.lang)
    if state.answers.get(EARLIER):
        text = ctx._(
            "Cancelled. Your changes are not saved; the {form} you submitted earlier stands.",
            form=title,
        )
    else:
        text = ctx._("Cancelled. Your {form} was not submitted.", form=title)
    return [Reply(text=text, private=True)]


def back(ctx: Context, state: State) -> list[Reply]:
    answers = state.answers
    answers.pop("_edit", None)
    answers.pop(CONFIRM, None)
    previous = _previous_visible(state, state.conv.step, answers)
    if previous is None:
        return [ask(ctx, state, ctx._("This is the first question."))]
    repo.save_conversation(
        state.conv, session=ctx.session, now=ctx.now, step=previous, answers=answers
    )
    return [ask(ctx, state)]


def skip(ctx: Context, state: State) -> list[Reply]:
    step = state.conv.step
    if step >= len(state.fields):
        return [ask(ctx, state)]
    if state.fields[step].required:
        return [ask(ctx, state, ctx._("This question is required; it cannot be skipped."))]
    return _store(ctx, state, step, None)


def edit(ctx: Context, state: State, field_id: str) -> list[Reply]:
    answers = state.answers
    for index in state.visible(answers):
        if state.fields[index].id == field_id:
            answers["_edit"] = True
            repo.save_conversation(
                state.conv, session=ctx.session, now=ctx.now, step=index, answers=answers
            )
            return [ask(ctx, state)]
    return [ask(ctx, state)]


def submit(ctx: Context, state: State) -> list[Reply]:
    _ = ctx._
    answers = state.answers
    missing = _first_missing(state, answers)
    if missing is not None:
        answers.pop("_edit", None)
        repo.save_conversation(
            state.conv, session=ctx.session, now=ctx.now, step=missing, answers=answers
        )
        return [ask(ctx, state, _("Some required questions are not answered yet."))]
    refusal = state.form.check(ctx, state.conv)
    if refusal:
        return [Reply(text=refusal, private=True)]
    result_id = state.form.submit(ctx, state.conv, _answered(state, answers))
    repo.save_conversation(
        state.conv, session=ctx.session, now=ctx.now, status="submitted", result_id=result_id
    )
    return [Reply(text=render(state.form.done, _, ctx.lang), private=True)]


def answer_text(ctx: Context, state: State, raw: str) -> list[Reply]:
    """A typed line: a control word, an answer to the current question, or a summary choice."""
    word = normalize(raw).lower()
    if word in CANCEL_WORDS:
        return cancel(ctx, state)
    if word in BACK_WORDS:
        return back(ctx, state)
    step = state.conv.step
    if step >= len(state.fields):
        if word in SUBMIT_WORDS:
            return submit(ctx, state)
        visible = state.visible()
        if word.isdigit() and 1 <= int(word) <= len(visible):
            return edit(ctx, state, state.fields[visible[int(word) - 1]].id)
        return [
            summary(
                ctx, state, ctx._("Send submit, cancel, or the number of an answer to change it.")
            )
        ]
    f = state.fields[step]
    if word in SKIP_WORDS:
        return skip(ctx, state)
    pending = _pending_number(state, step)
    if pending is not None and (word in KEEP_WORDS or word == normalize(pending)):
        return _store(ctx, state, step, pending)
    if _meant_for_the_menu(state, step, raw):
        return [confirm_number(ctx, state, as_typed(raw))]
    value, hint = parse(ctx, f, raw)
    if hint is not None:
        return [ask(ctx, state, hint)]
    return _store(ctx, state, step, value)


def _meant_for_the_menu(state: State, step: int, raw: str) -> bool:
    """A bare number (``3``, ``３``) typed for a free-text question right after a numbered menu:
    most likely meant for the menu (typed twice, or after the question had moved on), so it is
    not taken as the answer until the person says so (issue 17)."""
    if state.fields[step].kind != "text" or not normalize(raw).isdigit():
        return False
    previous = _previous_visible(state, step, state.answers)
    return previous is not None and state.fields[previous].kind in MENU_KINDS


def _pending_number(state: State, step: int) -> str | None:
    """The number awaiting confirmation as the answer to question ``step``, if any."""
    pending = state.answers.get(CONFIRM)
    if isinstance(pending, dict) and pending.get("step") == step:
        text = pending.get("text")
        return text if isinstance(text, str) else None
    return None


def confirm_number(ctx: Context, state: State, text: str) -> Reply:
    """Ask whether a number typed for a free-text question is its answer: ``yes`` (or the same
    number again, or the button) keeps it, ``back`` returns to the menu, anything else typed is
    the answer as usual."""
    _ = ctx._
    answers = state.answers
    answers[CONFIRM] = {"step": state.conv.step, "text": text}
    repo.save_conversation(
        state.conv, session=ctx.session, now=ctx.now, step=state.conv.step, answers=answers
    )
    note = _(
        "“{text}” is a number, but this question asks for words. Was it meant for the previous "
        "question? Send back to answer that one again, or yes to keep “{text}” as your answer "
        "here.",
        text=text,
    )
    reply = ask(ctx, state, note)
    keep = _button(_("Keep “{text}”", text=text), "keep", state, text)
    return replace(reply, buttons=(keep, *reply.buttons))


# -- entry points for the router --------------------------------------------------------


def on_text(ctx: Context, text: str) -> list[Reply]:
    """Plain text goes to the person's most recent active conversation, if any.

    Never from a group chat: there people talk to each other, not to their form.
    """
    assert ctx.actor.id is not None
    if ctx.incoming.chat == "group":
        return []
    conv = repo.latest_active(ctx.actor.id, session=ctx.session, lock=True)
    if conv is None:
        return []
    state = load(ctx, conv)
    if _expired(ctx, conv):
        return _expired_reply(ctx, state)
    return answer_text(ctx, state, text)


def on_action(ctx: Context, value: str) -> list[Reply]:
    """A pressed button ``form:<op>`` with value ``<cid>:<step>:<arg>``."""
    op = (ctx.incoming.action or "").partition(":")[2]
    cid_text, _sep, rest = value.partition(":")
    step_text, _sep, arg = rest.partition(":")
    conv = _pressed(ctx, cid_text, step_text)
    if conv is None:
        return [
            Reply(
                text=ctx._("That button no longer works. Send /help to see what you can do."),
                ephemeral=True,
            )
        ]
    state = load(ctx, conv)
    refused = _refused(ctx, state)
    if refused is not None:
        return refused
    anywhere = _on_any_step(ctx, state, op)
    if anywhere is not None:
        return anywhere
    if int(step_text) != conv.step:
        return [
            ask(
                ctx,
                state,
                ctx._("That button belongs to an earlier question; here is the current one."),
            )
        ]
    return _on_this_step(ctx, state, op, arg)


def _pressed(ctx: Context, cid_text: str, step_text: str) -> Conversation | None:
    """The pressing person's own conversation the button names (locked), or ``None``."""
    if not cid_text.isdigit() or not step_text.lstrip("-").isdigit():
        return None
    conv = repo.get_conversation(int(cid_text), session=ctx.session, lock=True)
    return conv if conv is not None and conv.member_id == ctx.actor.id else None


def _refused(ctx: Context, state: State) -> list[Reply] | None:
    """Why nothing can be pressed in this form any more (submitted, closed, expired)."""
    _ = ctx._
    conv = state.conv
    title = render(state.form.title, _, ctx.lang)
    if conv.status == "submitted":
        return [Reply(text=_("Your {form} is already submitted.", form=title), private=True)]
    if conv.status != "active":
        return [
            Reply(
                text=_("This {form} is closed; nothing more can be changed in it.", form=title),
                private=True,
            )
        ]
    if _expired(ctx, conv):
        return _expired_reply(ctx, state)
    return None


def _on_any_step(ctx: Context, state: State, op: str) -> list[Reply] | None:
    """The buttons that work whatever question is current; ``None`` for the others."""
    if op == "cancel":
        return cancel(ctx, state)
    if op == "resume":
        return state.form.intro(ctx, state.conv) + [ask(ctx, state, offer_form=True)]
    if op == "modal":
        return submit_whole(ctx, state, ctx.incoming.values)
    if op == "restart":
        return _restart(ctx, state)
    return None


def _on_this_step(ctx: Context, state: State, op: str, arg: str) -> list[Reply]:
    """The buttons of the current question."""
    step = state.conv.step
    if op == "back":
        return back(ctx, state)
    if op == "skip":
        return skip(ctx, state)
    if op == "edit":
        return edit(ctx, state, arg)
    if op == "submit":
        return submit(ctx, state)
    if op == "answer":
        return answer_text(ctx, state, arg) if step < len(state.fields) else [ask(ctx, state)]
    if op == "keep" and _pending_number(state, step) == arg:
        return _store(ctx, state, step, arg)
    return [ask(ctx, state)]


def submit_whole(ctx: Context, state: State, values: Mapping[str, str]) -> list[Reply]:
    """Every answer at once (a Slack modal): all valid → the summary; else one hint per field.

    A conditional question (the comment a score of 1 or 5 needs) is checked against the
    scores given in the same submission.
    """
    _ = ctx._
    answers = {k: v for k, v in state.answers.items() if k.startswith("_")}
    answers.pop("_edit", None)
    errors: dict[str, str] = {}
    for f in state.fields:
        raw = (values.get(f.id) or "").strip()
        if not raw or not f.visible(answers):
            continue
        value, hint = parse(ctx, f, raw)
        if hint is not None:
            errors[f.id] = hint
        else:
            answers[f.id] = value
    for index in state.visible(answers):
        f = state.fields[index]
        if f.id not in answers and f.id not in errors:
            if f.required:
                errors[f.id] = _("This question needs an answer.")
            else:
                answers[f.id] = None
    if errors:
        return [Reply(text=_("Some answers need another look."), errors=errors, private=True)]
    repo.save_conversation(
        state.conv, session=ctx.session, now=ctx.now, step=len(state.fields), answers=answers
    )
    return [summary(ctx, state)]


def _restart(ctx: Context, state: State) -> list[Reply]:
    conv = state.conv
    repo.save_conversation(conv, session=ctx.session, now=ctx.now, status="cancelled")
    return start(
        ctx,
        conv.form_id,
        period_id=conv.period_id,
        subject_id=conv.subject_id,
        expires_at=aware(conv.expires_at),
        answers={EARLIER: True} if state.answers.get(EARLIER) else None,
    )


def control_command(op: str) -> Handler:
    def handler(ctx: Context, args: str) -> list[Reply]:
        assert ctx.actor.id is not None
        conv = repo.latest_active(ctx.actor.id, session=ctx.session, lock=True)
        if conv is None:
            return [Reply(text=ctx._("There is no form in progress."), ephemeral=True)]
        return answer_text(ctx, load(ctx, conv), op)

    return handler
