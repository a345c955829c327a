"""Neutral replies → Feishu interactive cards (card JSON 2.0), and Feishu events → neutral requests.

Pure functions, no network. :func:`card` turns a :class:`~commands.messages.Reply` into a
card: its text as plain-text ``div`` elements (never markdown: a member's name or comment
is shown as typed), a chart as an ``img`` element (the adapter uploads it first and passes
its ``image_key``), buttons whose ``callback`` behaviour carries ``{"a": action, "v": value}``,
and a ``form`` container:

* a typed question (text or number) of a step-by-step form: one ``input`` and a submit
  button; the typed answer comes back in ``form_value`` and is appended to the button's value
  (``form:answer`` ``<cid>:<step>:<typed text>``), so a typed ``/rank`` is an answer, not a command;
* a whole form (``Reply.form`` of a form in :data:`CARD_FORMS`): a ``select_static`` for each
  scored or choice question, an ``input`` for each typed one, one submit button
  (``form:modal``); the answers arrive as ``Incoming.values``. A submission with errors
  shows the same form again, the answers filled in and each error under its question.

:func:`to_incoming` and :func:`card_incoming` read ``im.message.receive_v1`` and
``card.action.trigger`` (the only code in kpibot that does).

Limits (https://open.feishu.cn/document/feishu-cards/card-json-v2-structure): a card's JSON
at most 30 KB, at most 200 components; an ``input`` at most 1,000 characters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from commands.i18n import translator
from commands.messages import Button, Incoming, Question, Reply, SharedFile

CARD_BYTES_MAX = 30 * 1024
"""A card's JSON, as sent in ``content``: Feishu refuses more than 30 KB."""
CARD_BYTES_SAFE = 24 * 1024
"""Text is cut into cards below this, leaving room for buttons and the envelope."""
COMPONENTS_MAX = 200
TEXT_PIECE = 2000
"""Characters in one ``div`` (long texts become several)."""
INPUT_MAX = 1000
BUTTON_LABEL_MAX = 40
OPTION_LABEL_MAX = 60

CARD_FORMS = frozenset({"review", "peer", "improve"})
"""Forms shown whole on one card (a manager's review, a peer rating, an improvement plan);
the self-review stays a conversation: the agent reads their own numbers, then answers one
question at a time on a card that is updated in place."""

ANSWER_ACTION = "form:answer"
MODAL_ACTION = "form:modal"
TYPED_FIELD = "answer"
"""The ``input`` of a step-by-step typed question."""
FORM_NAME = "kpibot_form"
PICK_FIELD = "pick"
PICKER_BUTTONS = 12
"""More buttons of one action than this become one select (a picker of people)."""
PICKER_OPTIONS = 500

MENTION = re.compile(r"@_user_\d+\s*")
CLIENT_LOCALE = re.compile(r"\bLarkLocale/([A-Za-z]{2,3}(?:[_-][A-Za-z0-9]+)*)")
"""The Feishu client's language in a message's ``user_agent`` (``… Lark/7.1.8
LarkLocale/en_US ttnet …``), which ``im.message.receive_v1`` carries when the app may read it."""


@dataclass(frozen=True)
class FormAgain:
    """A whole form shown before: its questions, the buttons beside it, what was entered."""

    questions: tuple[Question, ...]
    buttons: tuple[Button, ...]
    given: Mapping[str, str] = field(default_factory=dict)


def form_buttons(buttons: Sequence[Button]) -> tuple[Button, ...]:
    """The buttons shown beside a whole form: cancel, and anything not a form step."""
    return tuple(
        b for b in buttons if b.action == "form:cancel" or not b.action.startswith("form:")
    )


@dataclass(frozen=True)
class Rendered:
    """What one reply becomes: the cards to send (usually one), and whether it is interactive."""

    cards: tuple[dict[str, Any], ...]
    interactive: bool = False
    form: FormAgain | None = None
    """The whole form shown (kept by the adapter to show it again with errors)."""


def plain(text: str) -> dict[str, str]:
    return {"tag": "plain_text", "content": text}


def _div(text: str) -> dict[str, Any]:
    return {"tag": "div", "text": plain(text)}


def split_text(text: str, limit: int = TEXT_PIECE) -> list[str]:
    """Cut a long text at line breaks into pieces of at most ``limit`` characters."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    if rest:
        pieces.append(rest)
    return pieces


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


def _callback(action: str, value: str, typed: str | None = None) -> dict[str, Any]:
    payload = {"a": action, "v": value}
    if typed:
        payload["t"] = typed
    return {"type": "callback", "value": payload}


def button(b: Button, *, name: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "tag": "button",
        "text": plain(b.label[:BUTTON_LABEL_MAX]),
        "type": {"primary": "primary", "danger": "danger"}.get(b.style or "", "default"),
    }
    if b.action == "url":
        element["behaviors"] = [{"type": "open_url", "default_url": b.value}]
    else:
        element["behaviors"] = [_callback(b.action, b.value)]
    if name:
        element["name"] = name
    return element


def _mark_current(b: Button, question: Question | None) -> Button:
    if question is None or question.current is None or b.action != ANSWER_ACTION:
        return b
    if b.value.rsplit(":", 1)[-1] != question.current:
        return b
    return Button(label="✓ " + b.label, action=b.action, value=b.value, style=b.style)


def _typed_form(question: Question, lang: str) -> dict[str, Any]:
    """One ``input`` and a submit button for a typed answer in a step-by-step form."""
    _ = translator(lang)
    limit = min(question.max_length or INPUT_MAX, INPUT_MAX)
    field_: dict[str, Any] = {
        "tag": "input",
        "name": TYPED_FIELD,
        "placeholder": plain(_("Type your answer here")),
        "max_length": limit,
        "required": False,
    }
    if question.kind == "text":
        field_["input_type"] = "multiline_text"
        field_["rows"] = 3
    if question.current:
        field_["default_value"] = question.current[:limit]
    send = {
        "tag": "button",
        "name": "send",
        "text": plain(_("Send")),
        "type": "primary",
        "form_action_type": "submit",
        "behaviors": [
            _callback(ANSWER_ACTION, f"{question.conversation_id}:{question.step}:", TYPED_FIELD)
        ],
    }
    return {"tag": "form", "name": FORM_NAME, "elements": [field_, send]}


def _select(question: Question, lang: str, given: str | None) -> dict[str, Any]:
    _ = translator(lang)
    choices = [(c.label, c.value) for c in question.choices]
    if question.kind == "score" and not choices:
        choices = [(str(n), str(n)) for n in range(1, 6)]
    if question.kind == "yesno" and not choices:
        choices = [(_("Yes"), "yes"), (_("No"), "no")]
    element: dict[str, Any] = {
        "tag": "select_static",
        "name": question.field_id,
        "placeholder": plain(_("Choose")),
        "options": [{"text": plain(label[:OPTION_LABEL_MAX]), "value": v} for label, v in choices],
        "required": bool(question.required),
        "width": "fill",
    }
    initial = given if given is not None else question.current
    if initial is not None and any(v == initial for _l, v in choices):
        element["initial_option"] = initial
    return element


def _input(question: Question, given: str | None) -> dict[str, Any]:
    limit = min(question.max_length or INPUT_MAX, INPUT_MAX)
    element: dict[str, Any] = {
        "tag": "input",
        "name": question.field_id,
        "max_length": limit,
        "required": bool(question.required),
        "width": "fill",
    }
    if question.kind == "text":
        element["input_type"] = "multiline_text"
        element["rows"] = 2
    default = given if given is not None else question.current
    if default:
        element["default_value"] = default[:limit]
    return element


def whole_form(
    questions: Sequence[Question],
    lang: str,
    *,
    given: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Every question of a one-card form, each with its label (and error), one submit button."""
    _ = translator(lang)
    given, errors = given or {}, errors or {}
    elements: list[dict[str, Any]] = []
    for q in questions:
        label = q.prompt if q.required else _("{prompt} (optional)", prompt=q.prompt)
        elements.append({"tag": "div", "text": plain(label)})
        if q.help:
            elements.append({"tag": "div", "text": plain(q.help), "text_size": "notation"})
        value = given.get(q.field_id)
        if q.kind in ("score", "choice", "yesno"):
            elements.append(_select(q, lang, value))
        else:
            elements.append(_input(q, value))
        if q.field_id in errors:
            elements.append({"tag": "div", "text": plain("⚠ " + errors[q.field_id])})
    first = questions[0]
    elements.append(
        {
            "tag": "button",
            "name": "submit",
            "text": plain(_("Next")),
            "type": "primary",
            "form_action_type": "submit",
            "behaviors": [_callback(MODAL_ACTION, f"{first.conversation_id}:{first.step}:")],
        }
    )
    return {"tag": "form", "name": FORM_NAME, "elements": elements}


def _envelope(elements: list[dict[str, Any]], summary: str) -> dict[str, Any]:
    return {
        "schema": "2.0",
        "config": {"update_multi": True, "summary": {"content": summary[:60]}},
        "body": {"elements": elements},
    }


def card_bytes(card_json: Mapping[str, Any]) -> int:
    return len(json.dumps(card_json, ensure_ascii=False).encode())


def render(
    reply: Reply,
    lang: str,
    *,
    image_key: str | None = None,
    form_again: FormAgain | None = None,
) -> Rendered:
    """The cards for one reply (several only when its text is longer than one card holds).

    ``form_again`` (the form shown before, its buttons, and what was entered) shows that
    form once more with the reply's errors, for a submission that needs another look.
    """
    whole, given, extra = _whole_form_of(reply, form_again)
    text = message_text(reply) if not whole else reply.text.strip()
    pieces = split_text(text) if text else []
    controls: list[dict[str, Any]] = []
    question = reply.question
    if whole:
        controls.append(whole_form(whole, lang, given=given, errors=reply.errors))
        controls += [button(b) for b in form_buttons(extra)]
    else:
        if question is not None and _typed(question):
            controls.append(_typed_form(question, lang))
        answers = [_mark_current(b, question) for b in reply.buttons if b.action == ANSWER_ACTION]
        if not answers and question is not None and question.kind in ("score", "choice", "yesno"):
            answers = [_mark_current(b, question) for b in question_buttons(question)]
        controls += [button(b) for b in answers]
        own = _own_buttons(reply)
        picker = long_run(own)
        if picker:
            controls.append(picker_form(picker, lang))
        controls += [button(b) for b in own if b not in picker]
    image: list[dict[str, Any]] = []
    if image_key is not None and reply.image is not None:
        image = [
            {
                "tag": "img",
                "img_key": image_key,
                "alt": plain(reply.image.alt or reply.image.filename),
            }
        ]
    summary = (pieces[0] if pieces else (question.prompt if question else "kpibot")).split("\n", 1)[
        0
    ]
    cards: list[dict[str, Any]] = []
    current: list[dict[str, Any]] = []
    for piece in pieces:
        candidate = [*current, _div(piece)]
        if current and card_bytes(_envelope(candidate, summary)) > CARD_BYTES_SAFE:
            cards.append(_envelope(current, summary))
            current = [_div(piece)]
        else:
            current = candidate
    current += image + controls
    if current or not cards:
        cards.append(_envelope(current, summary))
    interactive = bool(controls) or reply.replace
    kept = FormAgain(whole, form_buttons(extra)) if whole else None
    return Rendered(cards=tuple(cards), interactive=interactive, form=kept)


def needs_lang(reply: Reply, form_again: FormAgain | None = None) -> bool:
    """Whether :func:`render` writes words of its own on the cards (a whole form's, a typed
    answer's or a picker's labels), which are in its ``lang``; when not, the cards are the
    same in every language and the person's language need not be looked up."""
    whole, _given, _extra = _whole_form_of(reply, form_again)
    typed = reply.question is not None and _typed(reply.question)
    return bool(whole) or typed or bool(long_run(_own_buttons(reply)))


def _whole_form_of(
    reply: Reply, form_again: FormAgain | None
) -> tuple[tuple[Question, ...], Mapping[str, str] | None, tuple[Button, ...]]:
    """The whole form a reply's card shows, what was entered in it and the buttons beside it:
    the reply's own form, or the one shown before with the reply's errors (no form: ``()``)."""
    if reply.form and reply.form[0].form_id in CARD_FORMS:
        return reply.form, None, reply.buttons
    if form_again is not None and reply.errors:
        return form_again.questions, form_again.given, form_again.buttons
    return (), None, reply.buttons


def _typed(question: Question) -> bool:
    return question.kind in ("text", "number")


def _own_buttons(reply: Reply) -> tuple[Button, ...]:
    return tuple(b for b in reply.buttons if b.action != ANSWER_ACTION)


def long_run(buttons: Sequence[Button]) -> tuple[Button, ...]:
    """The buttons of the one action that has more than :data:`PICKER_BUTTONS` of them (a
    picker of people): shown as one searchable select, not a wall of buttons."""
    actions: dict[str, list[Button]] = {}
    for b in buttons:
        if b.action != "url":
            actions.setdefault(b.action, []).append(b)
    run = max(actions.values(), key=len, default=[])
    return tuple(run) if len(run) > PICKER_BUTTONS else ()


def picker_form(choices: Sequence[Button], lang: str) -> dict[str, Any]:
    """A ``select_static`` of every choice and an OK button: the chosen value is sent as the
    value of the choices' action (they share one action)."""
    _ = translator(lang)
    options = [
        {"text": plain(b.label[:OPTION_LABEL_MAX]), "value": b.value or "-"}
        for b in choices[:PICKER_OPTIONS]
    ]
    select = {"tag": "select_static", "name": PICK_FIELD, "placeholder": plain(_("Choose")),
              "options": options, "required": True, "width": "fill"}  # fmt: skip
    ok = {
        "tag": "button",
        "name": "pick_ok",
        "text": plain(_("OK")),
        "type": "primary",
        "form_action_type": "submit",
        "behaviors": [_callback(choices[0].action, "", PICK_FIELD)],
    }
    return {"tag": "form", "name": "kpibot_picker", "elements": [select, ok]}


def question_buttons(question: Question) -> tuple[Button, ...]:
    """Answer buttons for a score, choice or yes/no question (same shape as the form engine's)."""
    choices = [(c.label, c.value) for c in question.choices]
    if question.kind == "score" and not choices:
        choices = [(str(n), str(n)) for n in range(1, 6)]
    prefix = f"{question.conversation_id}:{question.step}:"
    return tuple(
        Button(label=label, action=ANSWER_ACTION, value=prefix + v) for label, v in choices
    )


def settled(card_json: Mapping[str, Any]) -> dict[str, Any]:
    """The same card without anything to press (a pressed card once its answer is elsewhere)."""
    elements = [
        e
        for e in card_json.get("body", {}).get("elements", [])
        if e.get("tag") not in ("button", "form", "column_set")
    ]
    return {**card_json, "body": {**card_json.get("body", {}), "elements": elements}}


# -- events -----------------------------------------------------------------------------


def message_text_of(message_type: str, content: str) -> str | None:
    """The words of a received message (``text``, or ``post`` flattened), ``None`` for others."""
    try:
        body = json.loads(content or "{}")
    except ValueError:
        return None
    if message_type == "text":
        return MENTION.sub("", str(body.get("text", ""))).strip()
    if message_type == "post":
        post: Any = body.get("content") or next(  # JSON: a list of lines of runs
            (v.get("content") for v in body.values() if isinstance(v, dict)), []
        )
        words = [
            str(run.get("text", ""))
            for line in post or []
            for run in line
            if isinstance(run, dict) and run.get("tag") == "text"
        ]
        return " ".join(w.strip() for w in words if w.strip()) or None
    return None


def client_lang(user_agent: Any) -> str | None:
    """The language a person's Feishu client runs in (``en_US``), from a message's user agent;
    ``None`` when the event did not say."""
    found = CLIENT_LOCALE.search(user_agent) if isinstance(user_agent, str) else None
    return found.group(1) if found else None


def to_incoming(
    event: Mapping[str, Any], event_id: str, bot_open_id: str | None
) -> Incoming | None:
    """``im.message.receive_v1`` → an :class:`Incoming`; ``None`` for what kpibot ignores.

    Ignored: messages from bots or apps, messages that are neither text, a post nor a file
    (a file is one an admin sends to import it: :mod:`commands.importing.chat`), and, in a
    group, messages that do not mention kpibot (Feishu only delivers those unless the app may
    read every group message; a command is then addressed to kpibot by ``/``).
    """
    sender = event.get("sender") or {}
    message = event.get("message") or {}
    if sender.get("sender_type") != "user":
        return None
    open_id = (sender.get("sender_id") or {}).get("open_id")
    if not open_id:
        return None
    kind, content = str(message.get("message_type", "")), str(message.get("content", ""))
    shared = shared_file_of(kind, content, str(message.get("message_id") or ""))
    text = "" if shared is not None else message_text_of(kind, content)
    if text is None:
        return None
    group = message.get("chat_type") != "p2p"
    if group:
        mentions = message.get("mentions") or []
        mentioned = any((m.get("id") or {}).get("open_id") == bot_open_id for m in mentions)
        if not mentioned and not text.startswith(("/", "／")):
            return None
    return Incoming(
        platform="feishu",
        user_id=str(open_id),
        text=text,
        chat="group" if group else "private",
        chat_id=str(message.get("chat_id") or ""),
        lang_hint=client_lang(message.get("user_agent")),
        event_id=event_id,
        file=shared,
    )


def menu_incoming(event: Mapping[str, Any], event_id: str) -> Incoming | None:
    """``application.bot.menu_v6`` (an entry of kpibot's bot menu chosen) → the command the
    entry names, as if typed in the person's private chat: the entry's event key is the
    command, ``rank`` or ``/rank`` (Feishu allows 1-30 characters); ``None`` without one."""
    open_id = ((event.get("operator") or {}).get("operator_id") or {}).get("open_id")
    key = str(event.get("event_key") or "").strip().lstrip("/／").strip()
    if not open_id or not key:
        return None
    return Incoming(
        platform="feishu", user_id=str(open_id), text="/" + key, chat="private", chat_id="",
        event_id=event_id,
    )  # fmt: skip


def shared_file_of(message_type: str, content: str, message_id: str) -> SharedFile | None:
    """The file of a ``file`` message (``{"file_key", "file_name"}``): a :class:`SharedFile`
    whose ``ref`` is ``<message_id>/<file_key>`` (the resource API needs both). Feishu's
    event does not say the size (``0``); the download checks it."""
    if message_type != "file" or not message_id:
        return None
    try:
        body = json.loads(content or "{}")
    except ValueError:
        return None
    key = body.get("file_key") if isinstance(body, dict) else None
    if not isinstance(key, str) or not key:
        return None
    return SharedFile(name=str(body.get("file_name") or key), size=0, ref=f"{message_id}/{key}")


def card_incoming(
    event: Mapping[str, Any], event_id: str, chat: str
) -> tuple[Incoming, str | None] | None:
    """``card.action.trigger`` → an :class:`Incoming` and the pressed card's message id."""
    operator = event.get("operator") or {}
    action = event.get("action") or {}
    open_id = operator.get("open_id")
    value = action.get("value")
    if not open_id or not isinstance(value, Mapping) or not isinstance(value.get("a"), str):
        return None
    form = action.get("form_value") or {}
    values = {str(k): _as_text(v) for k, v in form.items()} if isinstance(form, Mapping) else {}
    raw_value = str(value.get("v", ""))
    typed = value.get("t")
    if isinstance(typed, str) and typed:
        raw_value += values.get(typed, "")
        values = {}
    context = event.get("context") or {}
    incoming = Incoming(
        platform="feishu",
        user_id=str(open_id),
        action=str(value["a"]),
        value=raw_value,
        values=values,
        chat="group" if chat == "group" else "private",
        chat_id=str(context.get("open_chat_id") or ""),
        event_id=event_id,
    )
    return incoming, context.get("open_message_id")


def _as_text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)
