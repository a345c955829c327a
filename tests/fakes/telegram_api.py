"""A fake Telegram Bot API on 127.0.0.1, for driving the real python-telegram-bot ``Bot``.

It speaks the wire format of https://core.telegram.org/bots/api: every method is
``POST /bot<token>/<method>`` with parameters as a query string, form fields, JSON or
multipart (PTB sends form fields whose values are JSON-encoded, and multipart when a
file goes along); every answer is ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": N, "description": "...", "parameters": {...}}``.

What a test gets:

* ``base_url`` / ``base_file_url`` to hand to ``ApplicationBuilder().base_url(...)``;
* ``calls``: every request, in order, with its parsed parameters and uploaded files;
* ``messages``: what each chat now shows (sent messages, edited in place);
* updates: ``send_text`` / ``press`` build real ``Update`` JSON and either queue it for
  ``getUpdates`` (long polling with ``offset``/``timeout``) or, once ``setWebhook`` was
  called, POST it to the webhook with the ``X-Telegram-Bot-Api-Secret-Token`` header;
* failures: ``block(user_id)`` (403 "bot was blocked by the user"), private chats the
  user never opened (403 "bot can't initiate conversation with a user"), a rate limit
  (429 with ``parameters.retry_after``) and ``fail_next`` for one-off errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import web

from tests.fakes.limits import FloodGate, telegram_gate
from tests.waiting import CEILING_S

TOKEN = "123456789:TEST-token-for-the-fake-telegram"
BOT_ID = 123456789
BOT_USERNAME = "kpibot_test_bot"

INT_FIELDS = {
    "chat_id",
    "message_id",
    "offset",
    "limit",
    "timeout",
    "user_id",
    "cache_time",
    "reply_to_message_id",
    "max_connections",
    "from_chat_id",
}
BOOL_FIELDS = {
    "show_alert",
    "drop_pending_updates",
    "disable_notification",
    "protect_content",
    "disable_web_page_preview",
    "allow_sending_without_reply",
    "has_spoiler",
}
JSON_FIELDS = {
    "reply_markup",
    "allowed_updates",
    "entities",
    "caption_entities",
    "reply_parameters",
    "link_preview_options",
    "commands",
    "scope",
}
KNOWN_METHODS = {
    "getFile",
    "getMe",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "answerCallbackQuery",
    "sendPhoto",
    "sendDocument",
    "setWebhook",
    "deleteWebhook",
    "getUpdates",
    "getWebhookInfo",
    "setMyCommands",
    "close",
    "logOut",
    "deleteMessage",
}

SENDING_METHODS = {"sendMessage", "sendPhoto", "sendDocument"}


@dataclass(frozen=True)
class Upload:
    """A file the bot uploaded (multipart)."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class ApiCall:
    """One request the bot made, and what the fake answered."""

    method: str
    params: dict[str, Any]
    files: dict[str, Upload] = field(default_factory=dict)
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def keyboard(self) -> list[list[tuple[str, str]]]:
        """The inline keyboard as rows of (label, callback_data or url)."""
        return keyboard_of(self.params.get("reply_markup"))


def keyboard_of(markup: dict[str, Any] | None) -> list[list[tuple[str, str]]]:
    if not markup:
        return []
    return [
        [(b["text"], b.get("callback_data") or b.get("url") or "") for b in row]
        for row in markup.get("inline_keyboard", [])
    ]


@dataclass
class RateLimit:
    """At most ``max_calls`` sending calls per chat within ``per_seconds``; then 429."""

    max_calls: int
    per_seconds: float
    retry_after: int = 1


@dataclass
class _Failure:
    method: str
    error_code: int
    description: str
    retry_after: int | None
    times: int


class FakeTelegram:
    """The fake server. Use ``async with FakeTelegram() as tg:`` (binds 127.0.0.1, port 0)."""

    def __init__(self, *, token: str = TOKEN, bot_username: str = BOT_USERNAME) -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_user = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "kpibot",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.calls: list[ApiCall] = []
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        self.started: set[int] = set()
        self.blocked: set[int] = set()
        self.rate_limit: RateLimit | None = None
        self.gate: FloodGate | None = telegram_gate()
        """Telegram's limits (30/s overall, about 1/s a private chat, 20/min a group) and
        random 429/5xx for sending calls; on by default, ``flood_gate(...)`` replaces them
        and ``relax()`` lifts them."""
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.webhook_transport: httpx.AsyncBaseTransport | None = None
        self.webhook_responses: list[int] = []
        self.delivered: list[dict[str, Any]] = []
        self.menus: dict[str, list[tuple[str, str]]] = {}
        self.documents: dict[str, tuple[dict[str, Any], bytes]] = {}
        """Documents people sent: file_id → (the Document object, its bytes)."""
        self.file_downloads: list[tuple[str, int]] = []
        """Each request for /file/bot<token>/<file_path>: (file_path, HTTP status)."""
        self._failures: list[_Failure] = []
        self._late: dict[str, tuple[float, int]] = {}
        self._sent_at: dict[int, list[float]] = {}
        self._pending: list[dict[str, Any]] = []
        self._update_ids = itertools.count(10_000)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.port = 0

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> FakeTelegram:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._serve)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._serve_file)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def __aexit__(self, *exc: object) -> None:
        async with self._changed:
            self._closing = True  # pending long polls return now
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """For PTB's ``base_url``: the token follows it."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ------------------------------------------------------------------ people and chats
    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        *,
        language_code: str | None = "en",
        username: str | None = None,
        started: bool = True,
    ) -> dict[str, Any]:
        """A Telegram user; ``started`` means they have opened a private chat with the bot."""
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self.users[user_id] = user
        self.chats[user_id] = {"id": user_id, "type": "private", "first_name": first_name}
        if started:
            self.started.add(user_id)
        return user

    def group(self, chat_id: int, title: str = "Team") -> dict[str, Any]:
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        chat = {"id": chat_id, "type": "group", "title": title}
        self.chats[chat_id] = chat
        return chat

    def flood_gate(self, **limits: Any) -> FloodGate:
        """Switch on the limits of :class:`tests.fakes.limits.FloodGate` for sending calls."""
        self.gate = FloodGate(**limits)
        return self.gate

    def relax(self, *limits: str) -> None:
        """Lift these limits of the gate (``"overall"``, ``"per_chat"`` for private chats,
        ``"per_group_minute"``), or every one: a test about something else may ask for it
        explicitly."""
        if not limits or self.gate is None:
            self.gate = None
            return
        for name in limits:
            setattr(self.gate, name, None)

    def block(self, user_id: int) -> None:
        """The user blocks the bot: sending to their private chat answers 403."""
        self.blocked.add(user_id)

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 429,
        description: str | None = None,
        retry_after: int | None = 1,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` fail (by default with 429 and retry_after)."""
        if description is None:
            description = (
                f"Too Many Requests: retry after {retry_after}" if error_code == 429 else "Error"
            )
        self._failures.append(_Failure(method, error_code, description, retry_after, times))

    def answer_late(self, method: str, *, seconds: float, times: int = 1_000_000) -> None:
        """The next ``times`` calls of ``method`` are carried out at once (the message is
        delivered) but answered only ``seconds`` later: a slow API behind a client timeout."""
        self._late[method] = (seconds, times)

    # ------------------------------------------------------------------ updates in
    async def send_text(
        self,
        user: dict[str, Any],
        text: str,
        *,
        chat: dict[str, Any] | None = None,
        update_id: int | None = None,
    ) -> dict[str, Any]:
        """The user writes ``text`` (a command when it starts with '/') in ``chat``."""
        chat = chat or self.chats[user["id"]]
        if chat["type"] == "private":
            self.started.add(user["id"])
            self.blocked.discard(user["id"])
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [
                {
                    "type": "bot_command",
                    "offset": 0,
                    "length": len(command.encode("utf-16-le")) // 2,
                }
            ]
        self.messages[(chat["id"], message["message_id"])] = message
        update = {"update_id": update_id or next(self._update_ids), "message": message}
        await self.deliver(update)
        return update

    async def send_document(
        self,
        user: dict[str, Any],
        file_name: str,
        data: bytes,
        *,
        caption: str | None = None,
        chat: dict[str, Any] | None = None,
        file_size: int | None = None,
        mime_type: str = "text/csv",
    ) -> dict[str, Any]:
        """The user sends a file (a ``document`` message, ``caption`` under it). ``file_size``
        may claim another size than the bytes' (Telegram's servers say it; the bot trusts it)."""
        chat = chat or self.chats[user["id"]]
        number = len(self.documents) + 1
        document = {
            "file_id": f"BQACAgUAAxkBAAI{number:04d}" + "x" * 40,
            "file_unique_id": f"AgAD{number:04d}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data) if file_size is None else file_size,
        }
        self.documents[document["file_id"]] = (document, data)
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            "document": dict(document),
        }
        if caption is not None:
            message["caption"] = caption
        self.messages[(chat["id"], message["message_id"])] = message
        update = {"update_id": next(self._update_ids), "message": message}
        await self.deliver(update)
        return update

    async def press(
        self,
        user: dict[str, Any],
        message: dict[str, Any] | ApiCall,
        label: str,
        *,
        update_id: int | None = None,
    ) -> dict[str, Any]:
        """The user presses the inline button labelled ``label`` under a bot message."""
        current = self._message_of(message)
        for row in keyboard_of(current.get("reply_markup")):
            for text, data in row:
                if text == label:
                    return await self.press_data(user, current, data, update_id=update_id)
        raise AssertionError(
            f"no button {label!r} under message: {keyboard_of(current.get('reply_markup'))}"
        )

    async def press_data(
        self,
        user: dict[str, Any],
        message: dict[str, Any] | ApiCall,
        data: str,
        *,
        update_id: int | None = None,
    ) -> dict[str, Any]:
        current = self._message_of(message)
        query = {
            "id": str(next(self._callback_ids)),
            "from": user,
            "message": current,
            "chat_instance": f"ci{current['chat']['id']}",
            "data": data,
        }
        update = {"update_id": update_id or next(self._update_ids), "callback_query": query}
        await self.deliver(update)
        return update

    async def deliver(self, update: dict[str, Any]) -> None:
        """Hand an update to the bot: POST to the webhook if one is set, else queue it."""
        self.delivered.append(update)
        if self.webhook_url:
            headers = {"Content-Type": "application/json"}
            if self.webhook_secret:
                headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
            async with httpx.AsyncClient(transport=self.webhook_transport) as client:
                response = await client.post(self.webhook_url, json=update, headers=headers)
            self.webhook_responses.append(response.status_code)
            return
        async with self._changed:
            self._pending.append(update)
            self._changed.notify_all()

    async def set_blocked(self, user: dict[str, Any], blocked: bool = True) -> dict[str, Any]:
        """The user blocks (or unblocks) the bot: Telegram sends a ``my_chat_member`` update."""
        uid = user["id"]
        if blocked:
            self.blocked.add(uid)
        else:
            self.blocked.discard(uid)
            self.started.add(uid)
        member = {"user": self.bot_user, "status": "member"}
        kicked = {"user": self.bot_user, "status": "kicked", "until_date": 0}
        update = {
            "update_id": next(self._update_ids),
            "my_chat_member": {
                "chat": self.chats[uid], "from": user, "date": int(time.time()),
                "old_chat_member": member if blocked else kicked,
                "new_chat_member": kicked if blocked else member,
            },
        }  # fmt: skip
        await self.deliver(update)
        return update

    def _message_of(self, message: dict[str, Any] | ApiCall) -> dict[str, Any]:
        if isinstance(message, ApiCall):
            message = message.response["result"]
        return self.messages[(message["chat"]["id"], message["message_id"])]

    # ------------------------------------------------------------------ what the bot did
    def calls_to(self, *methods: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method in methods]

    def sent(self, chat_id: int | None = None) -> list[ApiCall]:
        """Successful sendMessage/sendPhoto/sendDocument calls (to one chat if given)."""
        return [
            c
            for c in self.calls_to("sendMessage", "sendPhoto", "sendDocument")
            if c.ok and (chat_id is None or c.params.get("chat_id") == chat_id)
        ]

    def last_message(self, chat_id: int) -> dict[str, Any]:
        mine = [
            m for (c, _), m in self.messages.items() if c == chat_id and m["from"]["id"] == BOT_ID
        ]
        if not mine:
            raise AssertionError(f"the bot said nothing in chat {chat_id}")
        return max(mine, key=lambda m: m["message_id"])

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        return sorted(
            (
                m
                for (c, _), m in self.messages.items()
                if c == chat_id and m["from"]["id"] == BOT_ID
            ),
            key=lambda m: m["message_id"],
        )

    async def wait_for(
        self,
        predicate: Callable[[FakeTelegram], bool],
        *,
        timeout: float = CEILING_S,
    ) -> None:
        """Wait until ``predicate(self)`` holds (the bot works concurrently)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self)), timeout)

    async def wait_calls(
        self, method: str, count: int, *, timeout: float = CEILING_S
    ) -> list[ApiCall]:
        await self.wait_for(lambda tg: len(tg.calls_to(method)) >= count, timeout=timeout)
        return self.calls_to(method)

    # ------------------------------------------------------------------ the HTTP side
    async def _serve_file(self, request: web.Request) -> web.StreamResponse:
        """``/file/bot<token>/<file_path>``: a document's bytes, for the bot's own token only."""
        path = request.match_info["path"]
        found = next(
            (
                data
                for doc, data in self.documents.values()
                if f"documents/{doc['file_unique_id']}" + _suffix(doc["file_name"]) == path
            ),
            None,
        )
        status = 200 if found is not None and request.match_info["token"] == self.token else 404
        self.file_downloads.append((path, status))
        if found is None or status != 200:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(body=found, content_type="application/octet-stream")

    async def _m_getFile(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        """Telegram hands bots files up to 20 MB; the path is what /file/bot<token>/ serves."""
        found = self.documents.get(str(params.get("file_id")))
        if found is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        document, _data = found
        if document["file_size"] > 20 * 1024 * 1024:
            raise _ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": document["file_id"],
            "file_unique_id": document["file_unique_id"],
            "file_size": document["file_size"],
            "file_path": f"documents/{document['file_unique_id']}" + _suffix(document["file_name"]),
        }

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        params, files = await _read_params(request)
        call = ApiCall(method, params, files)
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
        try:
            status, body = await self._dispatch(method, params, files)
        except _ApiError as err:
            status, body = err.code, err.body()
        call.status, call.response = status, body
        async with self._changed:
            self._changed.notify_all()
        late = self._late.get(method)
        if late is not None and late[1] > 0:
            self._late[method] = (late[0], late[1] - 1)
            await asyncio.sleep(late[0])  # the platform is slow to answer, not to act
        return web.json_response(body, status=status)

    async def _dispatch(
        self, method: str, params: dict[str, Any], files: dict[str, Upload]
    ) -> tuple[int, dict[str, Any]]:
        if method not in KNOWN_METHODS:
            raise _ApiError(404, "Not Found: method not found")
        for failure in self._failures:
            if failure.method == method and failure.times > 0:
                failure.times -= 1
                raise _ApiError(failure.error_code, failure.description, failure.retry_after)
        if self.gate is not None and method in SENDING_METHODS:
            verdict = self.gate.check(self.token, str(params.get("chat_id")))
            if verdict.status == 429:
                raise _ApiError(
                    429,
                    f"Too Many Requests: retry after {verdict.retry_after}",
                    verdict.retry_after,
                )
            if verdict.status != 200:
                raise _ApiError(verdict.status, "Bad Gateway")
        handler = getattr(self, "_m_" + method)
        result = await handler(params, files)
        return 200, {"ok": True, "result": result}

    def _check_chat(self, params: dict[str, Any], *, sending: bool = True) -> int:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int) or chat_id not in self.chats:
            raise _ApiError(400, "Bad Request: chat not found")
        if chat_id > 0 and sending:
            if chat_id in self.blocked:
                raise _ApiError(403, "Forbidden: bot was blocked by the user")
            if chat_id not in self.started:
                raise _ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        if self.rate_limit is not None and sending:
            now = time.monotonic()
            recent = [
                t for t in self._sent_at.get(chat_id, []) if now - t < self.rate_limit.per_seconds
            ]
            if len(recent) >= self.rate_limit.max_calls:
                retry = self.rate_limit.retry_after
                raise _ApiError(429, f"Too Many Requests: retry after {retry}", retry)
            recent.append(now)
            self._sent_at[chat_id] = recent
        return chat_id

    def _new_message(self, chat_id: int, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": self.bot_user,
            "chat": self.chats[chat_id],
            "date": int(time.time()),
            **content,
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self.messages[(chat_id, message["message_id"])] = message
        return message

    async def _m_getMe(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        return self.bot_user

    async def _m_close(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        return True

    _m_logOut = _m_close

    async def _m_setMyCommands(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        commands = params.get("commands") or []
        for command in commands:
            name = command.get("command", "")
            if not (1 <= len(name) <= 32 and name.islower() and name.replace("_", "").isalnum()):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        scope = params.get("scope") or {"type": "default"}
        where = f"chat:{scope['chat_id']}:" if scope.get("type") == "chat" else ""
        self.menus[where + (params.get("language_code") or "")] = [
            (c["command"], c["description"]) for c in commands
        ]
        return True

    async def _m_sendMessage(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        chat_id = self._check_chat(params)
        text = params.get("text") or ""
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        _check_markup(params.get("reply_markup"))
        return self._new_message(chat_id, params, text=text)

    async def _m_sendPhoto(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        chat_id = self._check_chat(params)
        if "photo" not in files and not isinstance(params.get("photo"), str):
            raise _ApiError(400, "Bad Request: there is no photo in the request")
        if len(params.get("caption") or "") > 1024:
            raise _ApiError(400, "Bad Request: message caption is too long")
        _check_markup(params.get("reply_markup"))
        size = len(files["photo"].data) if "photo" in files else 0
        if "photo" in files:
            _check_photo(files["photo"].data)
        photo = [
            {
                "file_id": f"photo{len(self.calls)}",
                "file_unique_id": f"u{len(self.calls)}",
                "width": 800,
                "height": 600,
                "file_size": size,
            }
        ]
        content: dict[str, Any] = {"photo": photo}
        if params.get("caption"):
            content["caption"] = params["caption"]
        return self._new_message(chat_id, params, **content)

    async def _m_sendDocument(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        chat_id = self._check_chat(params)
        if "document" not in files:
            raise _ApiError(400, "Bad Request: there is no document in the request")
        upload = files["document"]
        document = {
            "file_id": f"doc{len(self.calls)}",
            "file_unique_id": f"d{len(self.calls)}",
            "file_name": upload.filename,
            "file_size": len(upload.data),
        }
        content: dict[str, Any] = {"document": document}
        if params.get("caption"):
            content["caption"] = params["caption"]
        return self._new_message(chat_id, params, **content)

    def _existing(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._check_chat(params, sending=False)
        message = self.messages.get((chat_id, params.get("message_id", -1)))
        if message is None or message["from"]["id"] != BOT_ID:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if chat_id > 0 and chat_id in self.blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        return message

    async def _m_editMessageText(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        message = self._existing(params)
        text = params.get("text") or ""
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if "text" not in message:
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        markup = params.get("reply_markup")
        _check_markup(markup)
        if text == message["text"] and markup == message.get("reply_markup"):
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        message["text"] = text
        message["edit_date"] = int(time.time())
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return message

    async def _m_editMessageReplyMarkup(
        self, params: dict[str, Any], files: dict[str, Upload]
    ) -> Any:
        message = self._existing(params)
        markup = params.get("reply_markup")
        _check_markup(markup)
        if (markup or None) == (message.get("reply_markup") or None):
            raise _ApiError(400, "Bad Request: message is not modified")
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        return message

    async def _m_deleteMessage(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        message = self._existing(params)
        del self.messages[(message["chat"]["id"], message["message_id"])]
        return True

    async def _m_answerCallbackQuery(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        if not params.get("callback_query_id"):
            raise _ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        if len(params.get("text") or "") > 200:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    async def _m_setWebhook(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        url = params.get("url") or ""
        if url and not url.startswith(
            ("https://", "http://127.0.0.1", "http://localhost", "http://testserver")
        ):
            raise _ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = params.get("secret_token")
        if secret is not None and not _valid_secret(secret):
            raise _ApiError(400, "Bad Request: secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook_url = url or None
        self.webhook_secret = secret
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        self.webhook_url = None
        self.webhook_secret = None
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        return {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    async def _m_getUpdates(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        if self.webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset") or 0
        limit = params.get("limit") or 100
        timeout = float(params.get("timeout") or 0)
        async with self._changed:
            if offset:
                self._pending = [u for u in self._pending if u["update_id"] >= offset]
            if timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: bool(self._pending) or self._closing),
                        timeout,
                    )
            return list(self._pending[:limit])


class _ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.code == 429 and self.retry_after:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _suffix(file_name: str) -> str:
    return "." + file_name.rsplit(".", 1)[-1] if "." in file_name else ""


def _error(code: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": code, "description": description}, status=code
    )


def _valid_secret(secret: str) -> bool:
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
    return 1 <= len(secret) <= 256 and set(secret) <= allowed


PHOTO_SIDES_MAX = 10_000
PHOTO_RATIO_MAX = 20
BUTTONS_MAX = 100


def _check_photo(data: bytes) -> None:
    """https://core.telegram.org/bots/api#sendphoto: "The photo's width and height must not
    exceed 10000 in total. Width and height ratio must be at most 20." """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except UnidentifiedImageError:
        raise _ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED") from None
    if width + height > PHOTO_SIDES_MAX or max(width, height) > PHOTO_RATIO_MAX * min(
        width, height
    ):
        raise _ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")


def _check_markup(markup: Any) -> None:
    """Refuse what Telegram refuses: callback_data over 64 bytes, a button without an action,
    more than 100 buttons in one keyboard."""
    if not markup:
        return
    if sum(len(row) for row in markup.get("inline_keyboard", [])) > BUTTONS_MAX:
        raise _ApiError(400, "Bad Request: BUTTONS_TOO_MUCH")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if data is None and "url" not in button:
                raise _ApiError(
                    400,
                    "Bad Request: can't parse inline keyboard button: Text buttons are unallowed "
                    "in the inline keyboard",
                )
            if not button.get("text"):
                raise _ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )


def _coerce(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name in JSON_FIELDS:
        return json.loads(value)
    if name in INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            return value
    if name in BOOL_FIELDS:
        return value.lower() == "true"
    return value


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, Upload] = {}
    ctype = request.content_type
    if ctype == "application/json":
        body = await request.read()
        if body:
            raw.update(json.loads(body))
    elif ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                files[name] = Upload(value.filename, value.content_type, value.file.read())
            else:
                raw[name] = value
    params = {name: _coerce(name, value) for name, value in raw.items()}
    return params, files


def png(width: int = 40, height: int = 30) -> bytes:
    """A real PNG of that size (Telegram opens every photo it is sent)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, "PNG")
    return out.getvalue()


def texts(calls: Iterable[ApiCall]) -> list[str]:
    """The text (or caption) each call carried."""
    return [c.params.get("text") or c.params.get("caption") or "" for c in calls]
