"""A conversational form declared as data: its questions, and the hooks a feature plugs in.

A :class:`Field` is one question. Its texts are either English message ids (looked up
in the catalogue when shown) or a :class:`Localized` pair that came from a scheme file
(a dimension's zh/en name). The engine (``commands.forms.engine``) walks the fields,
validates answers and keeps the progress in the ``conversation`` table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from commands.messages import QuestionKind, Reply

if TYPE_CHECKING:
    from commands.context import Context
    from storage.models import Conversation

Answers = dict[str, Any]


def N_(message: str) -> str:
    """Marks a message id that is translated later, when it is shown."""
    return message


@dataclass(frozen=True)
class Localized:
    """A text that comes with its own translations (from a scheme), not from the catalogue."""

    zh: str
    en: str

    def pick(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Msg:
    """A message id with parameters that are themselves texts (a dimension's name)."""

    text: str
    params: Mapping[str, Text] = field(default_factory=dict)


Text = str | Localized | Msg


def render(text: Text, _: Callable[..., str], lang: str) -> str:
    if isinstance(text, Localized):
        return text.pick(lang)
    if isinstance(text, Msg):
        return _(text.text, **{k: render(v, _, lang) for k, v in text.params.items()})
    return _(text) if text else ""


@dataclass(frozen=True)
class Option:
    value: str
    label: Text


@dataclass(frozen=True)
class Field:
    """One question.

    ``kind`` is score (1-5 with five labelled ``anchors``), number (``minimum``..``maximum``,
    ``unit`` shown after the value, ``integer`` for whole numbers), text (``max_length``),
    choice (``options``) or yesno. ``ask_if`` makes a question conditional: it is asked only
    when another field's answer is one of the given values (the comment a manager owes for
    a score of 1 or 5).
    """

    id: str
    kind: QuestionKind
    prompt: Text
    help: Text = ""
    required: bool = True
    anchors: tuple[Text, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    integer: bool = False
    max_length: int | None = None
    options: tuple[Option, ...] = ()
    ask_if: tuple[str, tuple[Any, ...]] | None = None
    short: Text = ""

    def visible(self, answers: Mapping[str, Any]) -> bool:
        if self.ask_if is None:
            return True
        other, values = self.ask_if
        return answers.get(other) in values

    def label(self) -> Text:
        return self.short or self.prompt


FieldsHook = Callable[["Context", "Conversation"], Sequence[Field]]
RepliesHook = Callable[["Context", "Conversation"], list[Reply]]
PreviewHook = Callable[["Context", "Conversation", Answers], list[str]]
CheckHook = Callable[["Context", "Conversation"], str | None]
SubmitHook = Callable[["Context", "Conversation", Answers], int]


def _no_replies(ctx: Context, conv: Conversation) -> list[Reply]:
    return []


def _no_preview(ctx: Context, conv: Conversation, answers: Answers) -> list[str]:
    return []


def _always_open(ctx: Context, conv: Conversation) -> str | None:
    return None


@dataclass(frozen=True)
class FormDefinition:
    """A form: ``fields`` may depend on the scheme and subject, so it is a function.

    ``intro`` gives what is shown before the first question (the agent's own KPI numbers),
    ``preview`` lines added to the summary (the resulting total), ``check`` a refusal
    (already translated) when the form cannot be submitted now (the review window closed),
    ``submit`` stores the result and returns its id; it is called once per conversation.
    """

    form_id: str
    title: Text
    fields: FieldsHook
    submit: SubmitHook
    intro: RepliesHook = _no_replies
    preview: PreviewHook = _no_preview
    check: CheckHook = _always_open
    done: Text = N_("Thank you, your answers are saved.")
    extra: Mapping[str, Any] = field(default_factory=dict)
