"""The neutral messages that flow between adapters and commands.

An adapter turns a platform event into an :class:`Incoming` and renders each
:class:`Reply` it gets back (text, buttons, a form question, an image, a file)
into Block Kit, Telegram markup or terminal text. Nothing in here knows a
platform; nothing outside an adapter reads a raw platform payload.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Platform = str
"""``console`` (the terminal chat), ``test``, or a messenger's name (``bot.messengers``)."""
ChatKind = Literal["private", "group"]
QuestionKind = Literal["score", "number", "text", "choice", "yesno"]


@dataclass(frozen=True)
class SharedFile:
    """A file a person sent kpibot (a file shared in the Slack DM, a Telegram document).

    ``size`` is what the platform says (the file is refused above a limit before a byte is
    downloaded); ``fetch`` downloads it (the adapter supplies it; it blocks, so commands call
    it from the router's thread) and raises :class:`FileUnavailable` when the platform will
    not give it."""

    name: str
    size: int
    ref: str
    fetch: Callable[[], bytes] | None = field(default=None, compare=False, repr=False)


class FileUnavailable(Exception):
    """The platform did not hand over a shared file (gone, too big for its API, no access)."""


@dataclass(frozen=True)
class Incoming:
    """One thing a person did in chat, with no platform payload attached.

    ``text`` is what they typed (a command line such as ``/rank demo 2026-10`` or a
    plain answer); ``action``/``value`` is a button they pressed; ``values`` is a
    submitted multi-field form (a Slack modal). ``event_id`` is the platform's id
    of the delivery, used to drop a retried or duplicated event.
    """

    platform: Platform
    user_id: str
    text: str = ""
    action: str | None = None
    value: str | None = None
    values: Mapping[str, str] = field(default_factory=dict)
    chat: ChatKind = "private"
    chat_id: str | None = None
    lang_hint: str | None = None
    event_id: str | None = None
    display_name: str | None = None
    recovered: bool = False
    """Taken over from the inbox after the replica that acknowledged it stopped: if its work
    was done, the answer it was given is sent again (it may never have left)."""
    file: SharedFile | None = None
    """A file sent with the message (``text`` is then its caption)."""
    mentions: Mapping[str, str] = field(default_factory=dict)
    """Words of ``text`` that name a person by their platform user id (the adapter turned a
    platform's mention, e.g. Slack's ``<@U123|li>``, into the word ``@U123``): word → user id."""


@dataclass(frozen=True)
class Button:
    """A button: ``action`` names the handler, ``value`` is passed back unchanged."""

    label: str
    action: str
    value: str = ""
    style: Literal["primary", "danger"] | None = None


@dataclass(frozen=True)
class Choice:
    label: str
    value: str


@dataclass(frozen=True)
class Question:
    """The current question of a conversational form, for the adapter to render.

    ``form_id`` and ``step`` let an adapter build its own buttons and let a
    modal-based adapter (Slack) show a whole form at once; ``choices`` holds the
    score anchors or choice options; the textual prompt is already translated.
    """

    form_id: str
    conversation_id: int
    field_id: str
    kind: QuestionKind
    prompt: str
    step: int
    total: int
    help: str = ""
    required: bool = True
    choices: tuple[Choice, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    current: str | None = None


@dataclass(frozen=True)
class Image:
    """A picture (a chart); ``data`` is PNG bytes."""

    filename: str
    data: bytes
    alt: str = ""


@dataclass(frozen=True)
class FileAttachment:
    """A document to hand over (an export)."""

    filename: str
    data: bytes
    mime: str = "application/octet-stream"


@dataclass(frozen=True)
class ChartRef:
    """A chart still to be drawn: a renderer's ``name`` from the table in
    :mod:`commands.outbox_charts` and its JSON parameters (make one with ``chart_ref``)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """One message the bot says back.

    ``private`` means it must be delivered in a direct chat with the person even
    when the request came from a group (forms, personal results). ``ephemeral``
    asks a platform that can to show it only to the person (a refusal in a channel).
    ``replace`` asks the adapter to edit the previous bot message of this
    conversation rather than post a new one (Telegram edits in place).
    ``form`` carries every question of a form that fits one screen, for adapters
    that render whole forms (a Slack modal).
    """

    text: str
    buttons: tuple[Button, ...] = ()
    question: Question | None = None
    image: Image | None = None
    file: FileAttachment | None = None
    private: bool = False
    ephemeral: bool = False
    replace: bool = False
    form: tuple[Question, ...] = ()
    errors: Mapping[str, str] = field(default_factory=dict)
    relist: str = ""
    """The command line that lists these buttons again (``/review``), with no other effect:
    an adapter that loads a long picker's choices as the person types (Slack's
    ``external_select``) runs it for each search instead of keeping the list in memory."""
    chart: ChartRef | None = None
    """An image drawn after the replies before it were said, off the reply path (a ranking's
    chart): the adapter says those first, then asks the router to draw it (``draw``, in a
    router worker) and says this reply with the image; the outbox sender draws it when it
    sends. ``text`` is said with the image (its description); a chart that cannot be drawn
    is not said."""


@dataclass(frozen=True)
class Outgoing:
    """A message the bot sends on its own (a reminder, a broadcast) to a member."""

    member_id: int
    reply: Reply
    key: str
