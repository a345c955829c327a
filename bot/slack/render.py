"""Slack payloads in → neutral :class:`Incoming`; neutral :class:`Reply` → Block Kit.

The only module that reads a Slack payload (``body["view"]["state"]`` …) or writes Block
Kit. Pure functions: no client, no I/O, so every shape is unit-tested on its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs

from bot import picker_search
from commands.i18n import normalize_lang, translator
from commands.messages import Button, Incoming, Question, Reply, SharedFile

SLASH_COMMANDS: tuple[str, ...] = (
    "/review",
    "/rank",
    "/selfreview",
    "/me",
    "/mykpi",
    "/peer",
    "/survey",
    "/kpi",
)
"""Slash commands the adapter listens to (``/me`` is a Slack built-in, so the manifest
registers ``/mykpi`` for it; ``/kpi <command> …`` reaches every other command)."""

ALIASES: Mapping[str, str] = {"/mykpi": "/me"}
GATEWAY = "/kpi"
HELP = "/help"

MODAL_CALLBACK_ID = "kpibot_form"
MODAL_ACTION = "form:modal"
"""The action of a submitted modal: ``Incoming(action="form:modal",
value="<conversation_id>:<step>:", values={field_id: answer})``."""

ANSWER_ACTION_ID = "answer"
SECTION_MAX = 3000
FALLBACK_TEXT_MAX = 3000
BUTTONS_PER_BLOCK = 25
MESSAGE_BLOCKS_MAX = 50
SELECT_OPTIONS_MAX = 100
OPTION_VALUE_MAX = 150
PLACEHOLDER_MAX = 150
BUTTON_LABEL_MAX = 75
VIEW_TITLE_MAX = 24
VIEW_BLOCKS_MAX = 100
LABEL_MAX = 2000
OPTION_LABEL_MAX = 75
RADIO_MAX = 10
TEXT_INPUT_MAX = 3000
BLOCK_ID_MAX = 255
PICK_BLOCK_PREFIX = "kpibot_pick#"
"""``block_id`` of a picker's ``external_select``: ``kpibot_pick#<position>:<relist>``, the
command line that lists its choices again (:attr:`Reply.relist`)."""

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[A-Za-z\u3400-\u9fff\uf900-\ufaff]")


# -- payload in -------------------------------------------------------------------------


_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}


_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")


def with_mentions(text: str) -> tuple[str, dict[str, str]]:
    """Slack's user mentions (``<@U123>``, ``<@U123|li.lei>``) as the plain words ``@U123``, and
    what each word names (the router's :attr:`Incoming.mentions`); the rest unescaped. A typed
    ``<@U1>`` arrives escaped (``&lt;@U1&gt;``) and stays text."""
    found: dict[str, str] = {}

    def word(m: re.Match[str]) -> str:
        found[f"@{m.group(1)}"] = m.group(1)
        return f"@{m.group(1)}"

    return unescape(_MENTION.sub(word, text)), found


def unescape(text: str) -> str:
    """Slack sends ``&``, ``<``, ``>`` in message and command text as ``&amp;``, ``&lt;``,
    ``&gt;``: back to what the person typed, once (``&amp;lt;`` is the typed ``&lt;``)."""
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], text)


def command_text(command: str, text: str) -> str:
    """``/kpi`` → ``/help``; ``/kpi team add x`` → ``/team add x``; ``/mykpi`` → ``/me``."""
    command = ALIASES.get(command, command)
    rest = " ".join(text.split())
    if command == GATEWAY:
        if not rest:
            return "/help"
        return "/" + rest.removeprefix("/")
    return f"{command} {rest}".strip()


_COMMAND_MENTION = re.compile(r"(?<![\w/:.])/([A-Za-z][A-Za-z0-9_]*)(?![\w/])")


def typed_on_slack(command: str) -> str:
    """How a kpibot command is typed in Slack (the inverse of :func:`command_text`):
    ``me`` → ``/mykpi``, ``help`` → ``/kpi``, ``rank`` → ``/rank``, ``period`` → ``/kpi period``."""
    slash = "/" + command.lower()
    alias = next((a for a, target in ALIASES.items() if target == slash), None)
    if alias is not None:
        return alias
    if slash == HELP:
        return GATEWAY
    if slash in SLASH_COMMANDS and slash != GATEWAY:
        return slash
    return f"{GATEWAY} {command}"


def asks_for_help(incoming: Incoming) -> bool:
    return incoming.action is None and incoming.text.split(" ", 1)[0] == HELP


def help_as_typed(reply: Reply) -> Reply:
    """kpibot's help names commands as the router knows them (``/me``, ``/period open …``);
    in Slack they are typed ``/mykpi``, ``/kpi period open …`` (Slack keeps ``/me`` and
    help-like names for itself; the manifest registers a few commands, ``/kpi`` reaches the
    rest)."""
    text = _COMMAND_MENTION.sub(lambda m: typed_on_slack(m.group(1)), reply.text)
    return replace(reply, text=text)


def incoming_from_command(body: Mapping[str, Any]) -> Incoming:
    channel = body.get("channel_id") or None
    text, mentions = with_mentions(body.get("text") or "")
    return Incoming(
        platform="slack",
        user_id=body["user_id"],
        text=command_text(body["command"], text),
        mentions=mentions,
        chat="private" if body.get("channel_name") == "directmessage" else "group",
        chat_id=channel,
        event_id=body.get("trigger_id"),
        display_name=body.get("user_name"),
    )


def decode_action_id(action_id: str) -> str:
    """Button action ids carry a position suffix (``form:answer#3``) to stay unique in a block."""
    return action_id.rsplit("#", 1)[0]


def incoming_from_action(body: Mapping[str, Any], action: Mapping[str, Any]) -> Incoming:
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    return Incoming(
        platform="slack",
        user_id=body["user"]["id"],
        action=decode_action_id(action["action_id"]),
        value=action.get("value") or (action.get("selected_option") or {}).get("value") or "",
        chat="private" if str(channel or "").startswith("D") else "group",
        chat_id=channel,
        event_id=body.get("trigger_id"),
        display_name=body["user"].get("username") or body["user"].get("name"),
    )


def incoming_from_message(body: Mapping[str, Any]) -> Incoming | None:
    """A person's message in their DM with kpibot; ``None`` for anything else."""
    event = body.get("event") or {}
    if event.get("type") != "message" or event.get("channel_type") != "im":
        return None
    if (
        event.get("subtype") not in (None, "file_share")
        or event.get("bot_id")
        or not event.get("user")
    ):
        return None
    shared = shared_file_of(body)
    if event.get("subtype") == "file_share" and shared is None:
        return None
    text, mentions = with_mentions(event.get("text") or "")
    return Incoming(
        platform="slack",
        user_id=event["user"],
        text=text,
        mentions=mentions,
        chat="private",
        chat_id=event.get("channel"),
        event_id=body.get("event_id"),
        file=None
        if shared is None
        else SharedFile(
            name=str(shared.get("name") or shared.get("title") or shared["id"]),
            size=int(shared.get("size") or 0),
            ref=str(shared["id"]),
        ),
    )


def shared_file_of(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The first file of a ``file_share`` message (its object as the event carries it: in full,
    or only ``id`` with ``"file_access": "check_file_info"``, when ``files.info`` tells the
    rest)."""
    files = (body.get("event") or {}).get("files") or []
    first = files[0] if files and isinstance(files[0], Mapping) else None
    return first if first is not None and first.get("id") else None


@dataclass(frozen=True)
class ModalMeta:
    """What a modal carries through Slack in ``private_metadata``."""

    conversation_id: int
    step: int
    form_id: str
    channel: str | None = None

    def dump(self) -> str:
        return json.dumps(
            {
                "cid": self.conversation_id,
                "step": self.step,
                "form": self.form_id,
                "channel": self.channel,
            },
            separators=(",", ":"),
        )

    @classmethod
    def load(cls, text: str | None) -> ModalMeta:
        data = json.loads(text or "{}")
        return cls(
            int(data.get("cid", 0)),
            int(data.get("step", 0)),
            str(data.get("form", "")),
            data.get("channel"),
        )


def malformed(body: bytes, content_type: str) -> str:
    """Why a (signed) Slack request cannot be a Slack payload, or ``""``: JSON that does not
    parse or is not an object, a form whose ``payload`` is not a JSON object, a modal of ours
    whose ``private_metadata`` is not ours (a cid that is not a number, ``"1 or 1=1"``)."""
    try:
        text = body.decode("utf-8")
        if content_type.startswith("application/json"):
            data = json.loads(text or "null")
            return "" if isinstance(data, dict) else "the body is not a JSON object"
        form = parse_qs(text, keep_blank_values=True)
        if "payload" not in form:
            return ""
        payload = json.loads(form["payload"][0])
        if not isinstance(payload, dict):
            return "the payload is not a JSON object"
        view = payload.get("view")
        if isinstance(view, dict) and view.get("callback_id") == MODAL_CALLBACK_ID:
            ModalMeta.load(view.get("private_metadata"))
    except (UnicodeDecodeError, ValueError, TypeError, AttributeError) as exc:
        return f"{type(exc).__name__}: {str(exc)[:80]}"
    return ""


def view_values(view: Mapping[str, Any]) -> dict[str, str]:
    """``view.state.values`` → ``{block_id (= field id): answer}``; blank answers are left out."""
    answers: dict[str, str] = {}
    for block_id, elements in ((view.get("state") or {}).get("values") or {}).items():
        for element in elements.values():
            value = _element_value(element)
            if value not in (None, ""):
                answers[block_id] = str(value).strip()
    return answers


def _element_value(element: Mapping[str, Any]) -> Any:
    kind = element.get("type")
    if kind in {"radio_buttons", "static_select"}:
        return (element.get("selected_option") or {}).get("value")
    return element.get("value")


def incoming_from_view(body: Mapping[str, Any]) -> tuple[Incoming, ModalMeta]:
    view = body["view"]
    meta = ModalMeta.load(view.get("private_metadata"))
    incoming = Incoming(
        platform="slack",
        user_id=body["user"]["id"],
        action=MODAL_ACTION,
        value=f"{meta.conversation_id}:{meta.step}:",
        values=view_values(view),
        chat="private",
        chat_id=meta.channel,
        event_id=body.get("trigger_id"),
        display_name=body["user"].get("username") or body["user"].get("name"),
    )
    return incoming, meta


# -- Block Kit out ----------------------------------------------------------------------


def escape(text: str) -> str:
    """Slack's three control characters; everything else is shown as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str, limit: int | None = None) -> dict[str, Any]:
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return {"type": "plain_text", "text": text, "emoji": True}


def _chunks(text: str, size: int) -> Iterator[str]:
    """Split at line ends where possible, never inside Slack's ``&amp;`` escapes."""
    while len(text) > size:
        cut = text.rfind("\n", 0, size)
        if cut <= 0:
            cut = size
            amp = text.rfind("&", cut - 5, cut)
            if amp != -1 and ";" not in text[amp:cut]:
                cut = amp
        yield text[:cut]
        text = text[cut:].lstrip("\n")
    if text:
        yield text


def text_sections(text: str) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": chunk, "verbatim": True}}
        for chunk in _chunks(escape(text), SECTION_MAX)
        if chunk.strip()
    ]


def button(b: Button, position: int) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": plain(b.label, BUTTON_LABEL_MAX),
        "action_id": f"{b.action}#{position}",
    }
    if b.value:
        element["value"] = b.value
    if b.style:
        element["style"] = b.style
    return element


def button_blocks(
    buttons: Sequence[Button], *, relist: str = "", lang: str = "zh"
) -> list[dict[str, Any]]:
    """Buttons in rows of at most 25; a run of more buttons of one action than one row holds
    (a picker of people, say) becomes a select menu: up to 100 choices a ``static_select``
    (Slack lets a person filter it by typing), more an ``external_select`` whose choices
    Slack asks for as the person types (:func:`options_answer`) when the reply says how to
    list them again (``relist``), else several ``static_select`` menus of 100."""
    blocks: list[dict[str, Any]] = []
    elements: list[dict[str, Any]] = []
    position = 0

    def flush() -> None:
        blocks.extend(
            {"type": "actions", "elements": elements[start : start + BUTTONS_PER_BLOCK]}
            for start in range(0, len(elements), BUTTONS_PER_BLOCK)
        )
        elements.clear()

    for run in _runs(buttons):
        if len(run) > BUTTONS_PER_BLOCK and all(len(b.value) <= OPTION_VALUE_MAX for b in run):
            block_id = f"{PICK_BLOCK_PREFIX}{position}:{relist}"
            if len(run) > SELECT_OPTIONS_MAX and relist and len(block_id) <= BLOCK_ID_MAX:
                flush()
                element = external_select(run, position, lang)
                blocks.append({"type": "actions", "block_id": block_id, "elements": [element]})
                position += 1
                continue
            for start in range(0, len(run), SELECT_OPTIONS_MAX):
                elements.append(select(run[start : start + SELECT_OPTIONS_MAX], position))
                position += 1
        else:
            for b in run:
                elements.append(button(b, position))
                position += 1
    flush()
    return blocks


def _runs(buttons: Sequence[Button]) -> Iterator[list[Button]]:
    """Consecutive buttons of the same action."""
    run: list[Button] = []
    for b in buttons:
        if run and run[-1].action != b.action:
            yield run
            run = []
        run.append(b)
    if run:
        yield run


def select(buttons: Sequence[Button], position: int) -> dict[str, Any]:
    """A ``static_select`` standing for these buttons; its placeholder names the first and
    the last choice ("Alice … Bob"), so several menus read like an index."""
    first, last = buttons[0].label, buttons[-1].label
    hint = first if len(buttons) == 1 else f"{first} … {last}"
    return {
        "type": "static_select",
        "action_id": f"{buttons[0].action}#{position}",
        "placeholder": plain(hint, PLACEHOLDER_MAX),
        "options": [
            {
                "text": plain(b.label, OPTION_LABEL_MAX),
                "value": b.value or b.label[:OPTION_VALUE_MAX],
            }
            for b in buttons
        ],
    }


def external_select(buttons: Sequence[Button], position: int, lang: str) -> dict[str, Any]:
    """A menu of more people than a ``static_select`` holds: the person types part of a name
    and Slack asks kpibot for the matching ones (``block_suggestion``, answered by
    :func:`options_answer`). It loads the first ones as soon as it is opened."""
    _ = translator(lang)
    hint = _("Type a name ({count} people)", count=f"{len(buttons):,}")
    return {
        "type": "external_select",
        "action_id": f"{buttons[0].action}#{position}",
        "placeholder": plain(hint, PLACEHOLDER_MAX),
        "min_query_length": 0,
    }


def picker_of(block_id: str, action_id: str) -> tuple[str, str] | None:
    """``(relist, action)`` of an :func:`external_select` asking for its options, ``None`` for a
    menu that is not one of kpibot's pickers."""
    if not block_id.startswith(PICK_BLOCK_PREFIX):
        return None
    _position, sep, relist = block_id[len(PICK_BLOCK_PREFIX) :].partition(":")
    if not sep or not relist:
        return None
    return relist, decode_action_id(action_id)


def options_answer(
    buttons: Sequence[Button], typed: str, lang: str
) -> dict[str, list[dict[str, Any]]]:
    """What kpibot answers a ``block_suggestion``: the buttons whose name matches what was
    typed, best first, as at most 100 options (Slack shows no more); when more match, one
    option group whose label says so, so the person knows to type more."""
    found = picker_search.search(buttons, typed)
    options = [
        {"text": plain(b.label, OPTION_LABEL_MAX), "value": b.value or b.label[:OPTION_VALUE_MAX]}
        for b in found[:SELECT_OPTIONS_MAX]
    ]
    if len(found) <= SELECT_OPTIONS_MAX:
        return {"options": options}
    _ = translator(lang)
    count = f"{len(found):,}"
    label = _("{shown} of {count}: type more of the name", shown=SELECT_OPTIONS_MAX, count=count)
    return {"option_groups": [{"label": plain(label, OPTION_LABEL_MAX), "options": options}]}


def fallback_text(reply: Reply) -> str:
    """The notification text (and what screen readers get), escaped like the blocks.

    Slack parses ``<!channel>``, ``<@U…>`` and links in ``text`` too, so a customer's
    comment must not reach it raw.
    """
    text = (
        reply.text
        or " / ".join(b.label for b in reply.buttons)
        or (reply.image.alt if reply.image else "")
    )
    return escape(text)[:FALLBACK_TEXT_MAX] or "kpibot"


def message(reply: Reply) -> dict[str, Any]:
    """``chat.postMessage`` / ``chat.update`` / ``response_url`` fields for a reply that fits
    one message (see :func:`messages` for any reply)."""
    return messages(reply)[0]


def messages(reply: Reply) -> list[dict[str, Any]]:
    """One reply as one or more messages of at most 50 blocks each (Slack refuses more):
    the text in order, the buttons under the last part."""
    sections = text_sections(reply.text)
    actions = button_blocks(reply.buttons, relist=reply.relist, lang=reply_lang(reply, "zh"))
    blocks = sections + actions
    if len(blocks) <= MESSAGE_BLOCKS_MAX:
        return [{"text": fallback_text(reply), "blocks": blocks}]
    parts = [
        sections[i : i + MESSAGE_BLOCKS_MAX] for i in range(0, len(sections), MESSAGE_BLOCKS_MAX)
    ]
    for block in actions:  # under the last words if there is room, else in a part of their own
        if not parts or len(parts[-1]) >= MESSAGE_BLOCKS_MAX:
            parts.append([])
        parts[-1].append(block)
    payloads = []
    for i, part in enumerate(parts):
        text = fallback_text(reply) if i == 0 else _part_text(part, reply)
        payloads.append({"text": text, "blocks": part})
    return payloads


def _part_text(blocks: Sequence[dict[str, Any]], reply: Reply) -> str:
    """A later part's notification text: its first lines, or the buttons' labels."""
    for block in blocks:
        if block.get("type") == "section":
            return str(block["text"]["text"])[:FALLBACK_TEXT_MAX]
    return escape(" / ".join(b.label for b in reply.buttons[:10]))[:FALLBACK_TEXT_MAX] or "kpibot"


def reply_lang(reply: Reply, default: str) -> str:
    """The language the commands chose for this reply, read off its text (for our own labels)."""
    sample = " ".join([reply.text, *(q.prompt for q in reply.form)])
    letters = _LETTER.findall(sample)
    if not letters:
        return normalize_lang(default)
    return "zh" if len(_CJK.findall(sample)) * 3 >= len(letters) else "en"


def modal(reply: Reply, meta: ModalMeta, lang: str, intro: Sequence[str] = ()) -> dict[str, Any]:
    """A whole one-screen form (``reply.form``) as a ``views.open`` modal.

    ``intro`` is what the commands said just before the form (the agent's KPI breakdown
    and self-review for a manager review): shown above the inputs, its first line is the
    title. Without it the reply's own text is the header (a question-by-question prompt
    would repeat what the inputs already ask).
    """
    _ = translator(lang)
    texts = [t for t in intro if t.strip()] or [reply.text]
    first_line = next((line.strip() for line in texts[0].splitlines() if line.strip()), "kpibot")
    sections = [block for text in texts for block in text_sections(text)]
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK_ID,
        "title": plain(first_line, VIEW_TITLE_MAX),
        "submit": plain(_("Next"), VIEW_TITLE_MAX),
        "close": plain(_("Close"), VIEW_TITLE_MAX),
        "private_metadata": meta.dump(),
        "blocks": sections[: VIEW_BLOCKS_MAX - len(reply.form)]
        + [input_block(q) for q in reply.form],
    }


def text_only(reply: Reply) -> bool:
    """A reply that is just words (no buttons, form, picture or file)."""
    return not (reply.buttons or reply.form or reply.image or reply.file or reply.errors) and bool(
        reply.text.strip()
    )


def pressed_view(message: Mapping[str, Any], label: str) -> dict[str, Any]:
    """The message whose button was pressed, without its buttons and with what was chosen,
    so an old question cannot be answered twice by accident."""
    blocks = [b for b in message.get("blocks") or [] if b.get("type") != "actions"]
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "plain_text", "text": f"→ {label}", "emoji": True}],
        }
    )
    return {"text": message.get("text") or label, "blocks": blocks}


def pressed_and_next(pressed: Mapping[str, Any], replies: Sequence[Reply]) -> dict[str, Any] | None:
    """The pressed message (:func:`pressed_view`) with what kpibot says next under it, as the
    one message that replaces it: in a DM conversation the answers given so far stay on
    screen above the next question. ``None`` when a reply is more than words and buttons (a
    picture, a file, a chart, an edit of its own) or the whole does not fit one message."""
    if not replies or any(r.image or r.file or r.chart or r.replace or r.errors for r in replies):
        return None
    blocks = list(pressed.get("blocks") or [])
    for reply in replies:
        parts = messages(reply)
        if len(parts) > 1:
            return None
        blocks += parts[0]["blocks"]
    ids = [b["block_id"] for b in blocks if b.get("block_id")]
    if len(blocks) > MESSAGE_BLOCKS_MAX or len(ids) != len(set(ids)):
        return None
    asking = next((r for r in reversed(replies) if r.buttons), replies[-1])
    return {"text": fallback_text(asking), "blocks": blocks}


def input_block(q: Question) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": q.field_id,
        "label": plain(q.prompt, LABEL_MAX),
        "optional": not q.required,
        "element": input_element(q),
    }
    if q.help:
        block["hint"] = plain(q.help, LABEL_MAX)
    return block


def input_element(q: Question) -> dict[str, Any]:
    if q.kind in {"score", "choice", "yesno"} and q.choices:
        options = [{"text": plain(c.label, OPTION_LABEL_MAX), "value": c.value} for c in q.choices]
        element: dict[str, Any] = {
            "type": "radio_buttons" if len(options) <= RADIO_MAX else "static_select",
            "action_id": ANSWER_ACTION_ID,
            "options": options,
        }
        chosen = [o for o in options if o["value"] == q.current]
        if chosen:
            element["initial_option"] = chosen[0]
        return element
    if q.kind == "number":
        element = {
            "type": "number_input",
            "action_id": ANSWER_ACTION_ID,
            "is_decimal_allowed": True,
        }
        if q.minimum is not None:
            element["min_value"] = _number(q.minimum)
        if q.maximum is not None:
            element["max_value"] = _number(q.maximum)
        if q.current is not None:
            element["initial_value"] = q.current
        return element
    element = {
        "type": "plain_text_input",
        "action_id": ANSWER_ACTION_ID,
        "multiline": q.kind == "text",
        "max_length": min(q.max_length or TEXT_INPUT_MAX, TEXT_INPUT_MAX),
    }
    if q.current is not None:
        element["initial_value"] = q.current
    return element


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def view_errors(replies: Sequence[Reply], form: Sequence[str]) -> dict[str, str]:
    """``response_action: errors`` from the replies' ``errors``; a key that is not a block of
    the modal is shown on the first input so that nothing is lost."""
    errors: dict[str, str] = {}
    for reply in replies:
        for key, text in reply.errors.items():
            block = key if key in form else (form[0] if form else key)
            errors[block] = f"{errors[block]} {text}" if block in errors else text
    return errors


def input_block_ids(view: Mapping[str, Any]) -> list[str]:
    return [
        b["block_id"]
        for b in view.get("blocks") or []
        if b.get("type") == "input" and b.get("block_id")
    ]


# -- a modal submission answered after the ack ------------------------------------------

WRITABLE_VIEW_KEYS = (
    "type",
    "callback_id",
    "title",
    "submit",
    "close",
    "private_metadata",
    "blocks",
    "clear_on_close",
    "notify_on_close",
    "external_id",
    "submit_disabled",
)
"""What ``views.update`` accepts of a view; Slack's payload adds read-only keys (``id``,
``hash``, ``state``, ``team_id``, ``app_id``, ``bot_id``, ``root_view_id`` …)."""
ERROR_BLOCK_PREFIX = "kpibot_error:"
"""``block_id`` prefix of the line under an input that says what is wrong with it."""


def writable_view(view: Mapping[str, Any]) -> dict[str, Any]:
    """A submitted view, as a view to send back (its read-only keys left out)."""
    return {
        key: view[key]
        for key in WRITABLE_VIEW_KEYS
        if key in view and view[key] is not None and (key != "external_id" or view[key])
    }


def view_lang(view: Mapping[str, Any], default: str) -> str:
    """The language a modal was written in (its title and labels), like :func:`reply_lang`."""
    labels = [
        (b.get("label") or {}).get("text") or ""
        for b in view.get("blocks") or []
        if b.get("type") == "input"
    ]
    title = (view.get("title") or {}).get("text") or ""
    return reply_lang(Reply(text="\n".join([title, *labels])), default)


def _settled_view(
    view: Mapping[str, Any], close: str, blocks: list[dict[str, Any]]
) -> dict[str, Any]:
    """The submitted modal's title and metadata, with no inputs and no submit button."""
    return {
        "type": "modal",
        "callback_id": view.get("callback_id") or MODAL_CALLBACK_ID,
        "title": view.get("title") or plain("kpibot"),
        "close": plain(close, VIEW_TITLE_MAX),
        "private_metadata": view.get("private_metadata") or "",
        "blocks": blocks[:VIEW_BLOCKS_MAX],
    }


def working_view(view: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """What a submitted modal shows while kpibot is still checking the answers."""
    _ = translator(lang)
    note = _("If you close this window, the result comes in a direct message.")
    return _settled_view(
        view,
        _("Close"),
        text_sections(_("Checking and saving your answers…"))
        + [{"type": "context", "elements": [plain(note)]}],
    )


def result_view(
    view: Mapping[str, Any], texts: Sequence[str], lang: str, *, buttons_in_dm: bool = False
) -> dict[str, Any]:
    """What a submitted modal shows once kpibot has answered: what it said (or "Saved."),
    and where the buttons to go on are (a modal cannot show a message's buttons)."""
    _ = translator(lang)
    blocks = [block for text in texts for block in text_sections(text)]
    blocks = blocks or text_sections(_("Saved."))
    if buttons_in_dm:
        note = _("To go on, use the buttons in your direct messages with kpibot.")
        blocks = blocks[: VIEW_BLOCKS_MAX - 1] + [{"type": "context", "elements": [plain(note)]}]
    return _settled_view(view, _("Done"), blocks)


def form_again(view: Mapping[str, Any], errors: Mapping[str, str]) -> dict[str, Any]:
    """The submitted form once more, the person's answers filled in and each error (by
    input ``block_id``, see :func:`view_errors`) right under its input."""
    values = (view.get("state") or {}).get("values") or {}
    blocks: list[dict[str, Any]] = []
    for block in view.get("blocks") or []:
        if str(block.get("block_id") or "").startswith(ERROR_BLOCK_PREFIX):
            continue  # the errors of an earlier try
        if block.get("type") != "input":
            blocks.append(block)
            continue
        block_id = block.get("block_id") or ""
        blocks.append({**block, "element": _prefilled(block["element"], values.get(block_id))})
        if block_id in errors:
            blocks.append(
                {
                    "type": "context",
                    "block_id": ERROR_BLOCK_PREFIX + block_id,
                    "elements": [plain("⚠ " + errors[block_id], SECTION_MAX)],
                }
            )
    while len(blocks) > VIEW_BLOCKS_MAX:  # make room: the text above the inputs goes first
        extra = next((b for b in blocks if b.get("type") not in ("input", "context")), None)
        if extra is None:
            break
        blocks.remove(extra)
    return {**writable_view(view), "blocks": blocks}


def _prefilled(element: Mapping[str, Any], state: Mapping[str, Any] | None) -> dict[str, Any]:
    """An input element showing the answer the person gave (``view.state.values``)."""
    given = (state or {}).get(element.get("action_id") or "")
    if given is None and state:
        given = next(iter(state.values()))
    filled = {k: v for k, v in element.items() if k not in ("initial_option", "initial_value")}
    if element.get("type") in {"radio_buttons", "static_select"}:
        chosen = ((given or {}).get("selected_option") or {}).get("value")
        option = next((o for o in element.get("options") or [] if o.get("value") == chosen), None)
        if option is not None:
            filled["initial_option"] = option
    elif (value := (given or {}).get("value")) not in (None, ""):
        filled["initial_value"] = str(value)
    return filled


def errors_in_words(reply: Reply, view: Mapping[str, Any]) -> Reply:
    """A reply's field errors as lines of its text (when they cannot be shown on the form)."""
    if not reply.errors:
        return reply
    labels = {
        b.get("block_id"): (b.get("label") or {}).get("text") or ""
        for b in view.get("blocks") or []
        if b.get("type") == "input"
    }
    lines = [reply.text] if reply.text.strip() else []
    lines += [
        f"• {labels[key]}: {text}" if labels.get(key) else f"• {text}"
        for key, text in reply.errors.items()
    ]
    return replace(reply, text="\n".join(lines), errors={})
