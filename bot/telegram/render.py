"""Neutral replies → Telegram messages, and Telegram updates → neutral requests.

Pure functions, no network: :func:`to_incoming` reads a PTB ``Update`` (the only code
in kpibot that does), :func:`render` turns a :class:`~commands.messages.Reply` into
the text, inline keyboard and attachment that :mod:`bot.telegram.adapter` sends.

Buttons carry ``action`` and ``value`` in ``callback_data`` as ``action|value``;
Telegram allows 64 bytes. A longer pair is sent as ``#`` + a digest and kept in a small
in-process table: it works until a restart, after which pressing it says the button
expired. Commands keep their button values short so this stays the exception.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass, replace

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from commands.i18n import translator
from commands.messages import Button, FileAttachment, Image, Incoming, Question, Reply, SharedFile

log = logging.getLogger(__name__)

CALLBACK_LIMIT = 64
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
SEPARATOR = "|"
DIGEST_PREFIX = "#"
EXPIRED_ACTION = "telegram:expired"
DEEP_LINK_PREFIX = "run-"
PAGE_ACTION = "telegram:page"
"""A press on a paged keyboard's ◀ / ▶: the adapter shows that page (value ``<key>:<page>``)."""
PAGE_BUTTONS = 24
"""Choices per page of a picker (eight rows of three): Telegram refuses more than 100 buttons
in one message, and a screenful is far fewer."""

ANSWER_ACTION = "form:answer"
"""The action of an answer button built from a :class:`Question`'s choices."""


@dataclass(frozen=True)
class Rendered:
    """One Telegram message: text (or photo caption), keyboard, and at most one attachment."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None
    image: Image | None = None
    file: FileAttachment | None = None
    extra_texts: tuple[str, ...] = ()
    """Text that did not fit (sent as plain messages before this one)."""
    choices: tuple[Button, ...] = ()
    """A picker longer than a page (shown in pages with ◀ / ▶): the person may also type a name."""
    others: tuple[Button, ...] = ()
    """The picker's other buttons (Cancel …), under every page."""


class CallbackCodec:
    """Packs (action, value) into ≤ 64 bytes of ``callback_data`` and back."""

    def __init__(self, capacity: int = 5000) -> None:
        self._long: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._capacity = capacity
        self._pages: OrderedDict[str, tuple[tuple[Button, ...], tuple[Button, ...]]] = OrderedDict()

    def keep_pages(self, choices: tuple[Button, ...], rest: tuple[Button, ...]) -> str:
        """Remember a long picker (and the buttons under it) for its ◀ / ▶ presses."""
        key = "p" + hashlib.sha256(repr((choices, rest)).encode()).hexdigest()[:12]
        self._pages[key] = (choices, rest)
        self._pages.move_to_end(key)
        while len(self._pages) > self._capacity:
            self._pages.popitem(last=False)
        return key

    def page(self, value: str) -> InlineKeyboardMarkup | None:
        """The keyboard of one page (``<key>:<page>``); ``None`` once forgotten."""
        key, _sep, number = value.partition(":")
        kept = self._pages.get(key)
        if kept is None or not number.isdigit():
            return None
        return paged_keyboard(kept[0], kept[1], self, key=key, page=int(number))

    def encode(self, action: str, value: str) -> str:
        data = f"{action}{SEPARATOR}{value}"
        if len(data.encode()) <= CALLBACK_LIMIT and not data.startswith(DIGEST_PREFIX):
            return data
        digest = DIGEST_PREFIX + hashlib.sha256(data.encode()).hexdigest()[:40]
        log.warning("callback data over 64 bytes for action %r: kept in memory", action)
        self._long[digest] = (action, value)
        self._long.move_to_end(digest)
        while len(self._long) > self._capacity:
            self._long.popitem(last=False)
        return digest

    def decode(self, data: str) -> tuple[str, str]:
        if data.startswith(DIGEST_PREFIX):
            return self._long.get(data, (EXPIRED_ACTION, ""))
        action, _sep, value = data.partition(SEPARATOR)
        return action, value


def to_incoming(update: Update, bot_username: str, codec: CallbackCodec) -> Incoming | None:
    """The neutral request behind an update, or ``None`` for what kpibot ignores.

    Ignored: edited messages, channel posts, other bots, messages with neither text nor a document
    (a document's caption is its text), and commands
    addressed to another bot (``/rank@otherbot``).
    """
    event_id = str(update.update_id)
    query = update.callback_query
    if query is not None:
        user = query.from_user
        if user.is_bot:
            return None
        action, value = codec.decode(query.data or "")
        message = query.message
        chat = message.chat if message is not None else None
        return Incoming(
            platform="telegram",
            user_id=str(user.id),
            action=action,
            value=value,
            chat="private" if chat is None or chat.type == "private" else "group",
            chat_id=str(chat.id) if chat is not None else str(user.id),
            lang_hint=user.language_code,
            event_id=event_id,
            display_name=user.full_name,
        )
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    document = message.document
    text = message.text if document is None else (message.caption or "")
    if text is None:
        return None
    text = _strip_bot_mention(text, bot_username)
    if text is None:
        return None
    shared = (
        None
        if document is None
        else SharedFile(
            name=document.file_name or document.file_unique_id,
            size=document.file_size or 0,
            ref=document.file_id,
        )
    )
    return Incoming(
        platform="telegram",
        user_id=str(message.from_user.id),
        text=text,
        chat="private" if message.chat.type == "private" else "group",
        chat_id=str(message.chat.id),
        lang_hint=message.from_user.language_code,
        event_id=event_id,
        display_name=message.from_user.full_name,
        file=shared,
    )


def _strip_bot_mention(text: str, bot_username: str) -> str | None:
    """``/rank@kpibot demo`` → ``/rank demo``; ``None`` when addressed to another bot."""
    if not text.startswith("/"):
        return text
    head, sep, rest = text.partition(" ")
    command, at, target = head.partition("@")
    if at and target.lower() != bot_username.lower():
        return None
    return command + sep + rest


def question_buttons(question: Question) -> tuple[Button, ...]:
    """Answer buttons for a score, choice or yes/no question (nothing for typed answers).

    The form engine normally sends these itself in ``Reply.buttons``; this builds them
    (same action and value shape) for a reply that carries only the question.
    """
    if question.kind not in ("score", "choice", "yesno"):
        return ()
    choices = question.choices
    if question.kind == "score" and not choices:
        values = [(str(n), str(n)) for n in range(1, 6)]
    else:
        values = [(c.label, c.value) for c in choices]
    prefix = f"{question.conversation_id}:{question.step}:"
    return tuple(
        Button(label=label, action=ANSWER_ACTION, value=prefix + value) for label, value in values
    )


def _mark_current(button: Button, question: Question | None) -> Button:
    if question is None or question.current is None:
        return button
    if button.value.rsplit(":", 1)[-1] != question.current:
        return button
    return Button(
        label="✓ " + button.label, action=button.action, value=button.value, style=button.style
    )


def keyboard(reply: Reply, codec: CallbackCodec) -> InlineKeyboardMarkup | None:
    """Answer buttons first (short labels share a row), then the reply's other buttons."""
    question = reply.question
    answers = tuple(b for b in reply.buttons if b.action == ANSWER_ACTION)
    own = tuple(b for b in reply.buttons if b.action != ANSWER_ACTION)
    if not answers and question is not None:
        answers = question_buttons(question)
    answers = tuple(_mark_current(b, question) for b in answers)
    picker = _long_run(own)
    if picker is not None:  # more choices than a screen holds: pages with ◀ / ▶
        rest = tuple(b for b in own if b not in picker)
        return paged_keyboard(
            picker, answers + rest, codec, key=codec.keep_pages(picker, answers + rest)
        )
    rows = _rows(answers, codec, per_row=_per_row(answers)) + _rows(
        own, codec, per_row=_per_row(own)
    )
    return InlineKeyboardMarkup(rows) if rows else None


def _long_run(buttons: tuple[Button, ...]) -> tuple[Button, ...] | None:
    """The buttons of the one action that has more than a page of them (a picker of people)."""
    actions: dict[str, list[Button]] = {}
    for b in buttons:
        actions.setdefault(b.action, []).append(b)
    run = max(actions.values(), key=len, default=[])
    return tuple(run) if len(run) > PAGE_BUTTONS else None


def paged_keyboard(
    choices: tuple[Button, ...],
    rest: tuple[Button, ...],
    codec: CallbackCodec,
    *,
    key: str,
    page: int = 0,
) -> InlineKeyboardMarkup:
    """One page of ``choices``, a ◀ n/m ▶ row, then the other buttons."""
    pages = max(1, -(-len(choices) // PAGE_BUTTONS))
    page = min(max(page, 0), pages - 1)
    shown = choices[page * PAGE_BUTTONS : (page + 1) * PAGE_BUTTONS]
    nav = [
        Button("◀", PAGE_ACTION, f"{key}:{(page - 1) % pages}"),
        Button(f"{page + 1}/{pages}", PAGE_ACTION, f"{key}:{page}"),
        Button("▶", PAGE_ACTION, f"{key}:{(page + 1) % pages}"),
    ]
    rows = _rows(shown, codec, per_row=min(3, _per_row(shown)) or 1)
    rows.append([_button(b, codec) for b in nav])
    rows += _rows(rest, codec, per_row=_per_row(rest))
    return InlineKeyboardMarkup(rows)


def _per_row(buttons: tuple[Button, ...]) -> int:
    if not buttons:
        return 1
    longest = max(len(b.label) for b in buttons)
    if longest <= 4:
        return 5
    if longest <= 12:
        return 3
    return 1


def _rows(
    buttons: tuple[Button, ...], codec: CallbackCodec, *, per_row: int
) -> list[list[InlineKeyboardButton]]:
    return [
        [_button(b, codec) for b in buttons[i : i + per_row]]
        for i in range(0, len(buttons), per_row)
    ]


def _button(button: Button, codec: CallbackCodec) -> InlineKeyboardButton:
    if button.action == "url":
        return InlineKeyboardButton(button.label, url=button.value)
    return InlineKeyboardButton(
        button.label, callback_data=codec.encode(button.action, button.value)
    )


def message_text(reply: Reply) -> str:
    """The reply's text, then the question (step, prompt, help) if it is not already in it."""
    parts = [reply.text.strip()] if reply.text.strip() else []
    question = reply.question
    if question is not None and question.prompt and question.prompt not in reply.text:
        head = f"({question.step}/{question.total}) " if question.total > 1 else ""
        parts.append(head + question.prompt)
        if question.help and question.help not in reply.text:
            parts.append(question.help)
    if reply.errors:
        parts.extend(f"• {text}" for text in reply.errors.values() if text not in reply.text)
    return "\n\n".join(parts)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut a long text at line breaks into pieces Telegram accepts."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    pieces.append(rest)
    return pieces


def render(reply: Reply, codec: CallbackCodec) -> Rendered:
    text = message_text(reply)
    markup = keyboard(reply, codec)
    own = tuple(b for b in reply.buttons if b.action != ANSWER_ACTION)
    choices = _long_run(own) or ()
    if choices:
        text = f"{text}\n\n{type_a_name(text)}" if text else type_a_name(text)
    limit = CAPTION_LIMIT if (reply.image or reply.file) else TEXT_LIMIT
    pieces = split_text(text, limit) if text else [""]
    return Rendered(
        text=pieces[-1],
        keyboard=markup,
        image=reply.image,
        file=reply.file,
        extra_texts=tuple(pieces[:-1]),
        choices=choices,
        others=tuple(b for b in reply.buttons if b not in choices) if choices else (),
    )


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def text_lang(text: str) -> str:
    """The language the commands wrote ``text`` in (for the adapter's own words beside it)."""
    return "zh" if _CJK.search(text) else "en"


def type_a_name(text: str) -> str:
    """The line under a paged picker, in the language of its text."""
    _ = translator(text_lang(text))
    return _("Or type a name to find them.")


def found_text(typed: str, count: int, lang: str) -> str:
    """Above the people matching a typed name (several of them)."""
    _ = translator(lang)
    return _("{count} match “{typed}”. Press one, or type another name.", count=count, typed=typed)


def nobody_text(typed: str, lang: str) -> str:
    _ = translator(lang)
    return _("Nobody on the list matches “{typed}”. Type another name.", typed=typed)


def matches_keyboard(
    found: tuple[Button, ...], others: tuple[Button, ...], codec: CallbackCodec
) -> InlineKeyboardMarkup:
    """The people a typed name matched (in pages when more than one holds), then the others."""
    if len(found) > PAGE_BUTTONS:
        return paged_keyboard(found, others, codec, key=codec.keep_pages(found, others))
    rows = _rows(found, codec, per_row=min(3, _per_row(found)) or 1)
    rows += _rows(others, codec, per_row=_per_row(others))
    return InlineKeyboardMarkup(rows)


def deep_link_payload(incoming: Incoming) -> str:
    """``start`` parameter that re-runs the group command in the private chat (≤ 64 chars)."""
    text = incoming.text.strip()
    if not text.startswith("/"):
        return "hello"
    line = text[1:]
    for candidate in (line, line.split(" ", 1)[0]):
        encoded = base64.urlsafe_b64encode(candidate.encode()).decode().rstrip("=")
        if len(DEEP_LINK_PREFIX + encoded) <= 64:
            return DEEP_LINK_PREFIX + encoded
    return "hello"


def expand_deep_link(incoming: Incoming) -> Incoming:
    """``/start run-<base64 command>`` (from a group's deep link) → that command."""
    text = incoming.text.strip()
    if not text.startswith("/start " + DEEP_LINK_PREFIX):
        if text == "/start hello":
            return replace_text(incoming, "/start")
        return incoming
    encoded = text.split(" ", 1)[1][len(DEEP_LINK_PREFIX) :]
    try:
        line = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return incoming
    if not line or line.startswith("start"):
        return incoming
    return replace_text(incoming, "/" + line)


def replace_text(incoming: Incoming, text: str) -> Incoming:
    return replace(incoming, text=text)
