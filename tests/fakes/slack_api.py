"""A fake Slack Web API on 127.0.0.1, for driving the real ``slack_sdk`` / ``slack_bolt`` clients.

It speaks the wire format of https://api.slack.com/web: ``GET|POST /api/<method>`` with
arguments as a query string, form fields or JSON and the token in
``Authorization: Bearer``; every answer is ``{"ok": true, ...}`` or
``{"ok": false, "error": "..."}``. It runs a Starlette app under uvicorn on its own thread
(bound to port 0), so it serves sync and async tests alike and its clock is not the
test's event loop.

What a test gets:

* ``api_url`` to hand to ``AsyncWebClient(base_url=...)`` (``SLACK_API_URL``);
* ``calls``: every request in order, with its parsed arguments and what the fake answered;
* state a user would see: ``messages`` per channel (posted, then edited in place by
  ``chat.update``), ``ephemerals``, ``views`` (modals), ``files`` (uploaded bytes),
  ``responses`` (what was posted to each ``response_url``);
* files people share: ``share_file(user, name, data)`` keeps the bytes and gives the file
  object a ``file_share`` message event carries; ``files.info`` answers it, and its
  ``url_private`` / ``url_private_download`` serve the bytes only with a valid bot token in
  ``Authorization: Bearer`` (``downloads`` records each try);
* inputs: ``add_user`` (``users.info`` / ``users.lookupByEmail``), ``new_trigger_id``
  (``views.open`` accepts a trigger once), ``new_response_url(channel, message_ts)``: a
  payload's ``response_url``, as Slack holds it to: 5 responses within 30 minutes (after that
  ``used_url`` / ``expired_url``, on the fake's ``clock``), each a message payload checked like
  any other (50 blocks …); ``replace_original`` edits the message the payload came from in
  place, ``delete_original`` deletes it, and a new message in the channel (``in_channel``)
  counts against the channel's one post a second as ``chat.postMessage`` does ("whether a
  message is posted via chat.postMessage, an incoming webhook, or one of the many other ways",
  https://api.slack.com/apis/rate-limits#posting-messages); ``on_message(channel, message)``
  is told of every message posted or changed;
* Socket Mode: ``apps.connections.open`` (with the app-level token) hands out a
  ``ws://`` URL; ``socket_send`` pushes an envelope (``slash_commands``,
  ``interactive``, ``events_api``) to the connected client and ``socket_acks`` records
  what it acknowledged, by ``envelope_id``;
* the options flow of a select with an external data source: ``suggestion(user, message,
  typed)`` is the ``block_suggestion`` payload Slack sends to the app's Options Load URL (or
  over Socket Mode) as a person types into an ``external_select`` of a message it holds, and
  ``check_options(answer)`` refuses an answer Slack would not show (not ``options`` or
  ``option_groups``, more than 100, a text over 75 characters, what slack_sdk's ``Option`` /
  ``OptionGroup`` models reject); ``check_ack`` holds an ack's body (a view in
  ``response_action``, errors, options) to the same rules, and ``socket_ack`` applies it;
* failures: ``rate_limit(method, calls=N, per=S)`` answers ``429 ratelimited`` with
  ``Retry-After`` past N calls in S seconds (``channel=C``: the calls in that channel only,
  as Slack limits ``chat.postMessage``; its 429 looks the same, only the header says how
  long); ``fail_next(method, times, status)`` injects
  5xx; Block Kit that Slack would refuse (too many blocks, a modal title over 24
  characters, duplicate ``action_id`` in a block …) answers ``invalid_blocks`` /
  ``invalid_arguments`` like Slack does.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import math
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, Option, OptionGroup
from slack_sdk.models.views import View
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.fakes.limits import FloodGate, Tiers
from tests.waiting import CEILING_S

BOT_TOKEN = "xoxb-0000-kpibot-test-token"
APP_TOKEN = "xapp-1-kpibot-test-token"
TEAM_ID = "T0KPIBOT"
TEAM_DOMAIN = "kpibot-test"
BOT_USER_ID = "UKPIBOT00"
BOT_ID = "BKPIBOT00"
APP_ID = "AKPIBOT00"

MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
SECTION_TEXT_MAX = 3000
MESSAGE_TEXT_MAX = 40_000
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
ACTION_ID_MAX = 255
ACTIONS_ELEMENTS_MAX = 25
VIEW_TITLE_MAX = 24
PRIVATE_METADATA_MAX = 3000
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
HEADER_TEXT_MAX = 150
CONTEXT_ELEMENTS_MAX = 10
OPTIONS_MAX = {
    "static_select": 100, "multi_static_select": 100, "overflow": 5, "radio_buttons": 10,
    "checkboxes": 10,
}  # fmt: skip
"""https://api.slack.com/reference/block-kit/block-elements: options per element."""
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL_S = 30 * 60
"""https://api.slack.com/interactivity/handling#message_responses: a payload's ``response_url``
takes up to 5 responses within 30 minutes of the payload."""
SUGGESTED_OPTIONS_MAX = 100
"""https://api.slack.com/reference/block-kit/block-elements#external_select: an answer to a
``block_suggestion`` holds at most 100 options (or option groups of at most 100 options)."""

BLOCK_TYPES = {"section", "actions", "context", "divider", "header", "image", "input", "rich_text"}
INPUT_ELEMENTS = {
    "plain_text_input", "number_input", "radio_buttons", "static_select", "checkboxes",
    "datepicker", "users_select", "email_text_input",
}  # fmt: skip


@dataclass
class Call:
    """One request kpibot made, and what the fake answered."""

    method: str
    args: dict[str, Any]
    status: int
    response: dict[str, Any]
    at: float
    token: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass
class SlackUser:
    id: str
    name: str
    real_name: str = ""
    email: str | None = None
    locale: str = "en-US"
    tz: str = "Asia/Shanghai"
    is_bot: bool = False
    deleted: bool = False

    def as_json(self, include_locale: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id, "team_id": TEAM_ID, "name": self.name, "deleted": self.deleted,
            "real_name": self.real_name or self.name, "tz": self.tz, "is_bot": self.is_bot,
            "profile": {
                "real_name": self.real_name or self.name, "display_name": self.name,
                "email": self.email,
            },
        }  # fmt: skip
        if include_locale:
            body["locale"] = self.locale
        return body


@dataclass
class UploadedFile:
    id: str
    filename: str
    length: int
    alt_txt: str | None = None
    data: bytes | None = None
    title: str | None = None
    channel: str | None = None
    initial_comment: str | None = None
    completed: bool = False


class SlackError(Exception):
    """An ``{"ok": false}`` answer."""

    def __init__(self, error: str, status: int = 200, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra


@dataclass(frozen=True)
class ResponseSource:
    """What a ``response_url`` answers to: the channel and, for a press on a message, that
    message's ``ts``; ``issued`` on the fake's clock."""

    channel: str | None
    message_ts: str | None
    issued: float


@dataclass
class _Limit:
    calls: int
    per: float
    retry_after: int
    seen: deque[float] = field(default_factory=deque)


class FakeSlack:
    """The fake server; use as a context manager or call ``start()`` / ``stop()``."""

    def __init__(self, *, token: str = BOT_TOKEN, app_token: str = APP_TOKEN) -> None:
        self.token = token
        self.app_token = app_token
        self.calls: list[Call] = []
        self.client_ports: list[int] = []
        """The client's TCP port of each Web API request, in order: a client that opens a
        connection for every call shows a new port each time."""
        self.users: dict[str, SlackUser] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.files: dict[str, UploadedFile] = {}
        self.shared: dict[str, tuple[dict[str, Any], bytes]] = {}
        """Files people shared: id → (the file object, its bytes)."""
        self.downloads: list[tuple[str, int]] = []
        """Each try to download a shared file: (file id, HTTP status)."""
        self.responses: dict[str, list[dict[str, Any]]] = {}
        self.response_sources: dict[str, ResponseSource] = {}
        self.clock: Callable[[], float] = time.monotonic
        """The fake's clock for a ``response_url``'s 30 minutes (a test may set its own)."""
        self.on_message: Callable[[str, dict[str, Any]], None] | None = None
        """Told (under the fake's lock) of each message posted, edited or replaced."""
        self._triggers: dict[str, bool] = {}
        self._closed_channels: set[str] = set()
        self._scopes: list[str] = []
        self.socket_acks: list[dict[str, Any]] = []
        self.tokens: dict[str, str] = {token: TEAM_ID}
        """Bot token → the workspace (team id) it belongs to."""
        self.oauth_client: tuple[str, str] | None = None
        self._codes: dict[str, tuple[str, str]] = {}
        self._sockets: list[tuple[WebSocket, asyncio.AbstractEventLoop]] = []
        self._limits: dict[tuple[str, str | None], _Limit] = {}
        self.gate: FloodGate | None = None
        """Platform limits and random 429/5xx for chat.postMessage (``flood_gate``)."""
        self.tiers = Tiers()
        """Each Web API method's documented rate tier, on by default (``tiers.relax(...)``)."""
        self._failures: dict[str, deque[int]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "oauth.v2.access": self._oauth_access,
            "apps.connections.open": self._open_connection,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.update": self._update_message,
            "conversations.open": self._open_conversation,
            "conversations.history": self._history,
            "views.open": self._open_view,
            "views.update": self._update_view,
            "views.push": self._open_view,
            "users.info": self._users_info,
            "users.lookupByEmail": self._lookup_by_email,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "files.info": self._files_info,
        }

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeSlack:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self._app(), log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="fake-slack", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + CEILING_S
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake Slack server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def api_url(self) -> str:
        """What ``SLACK_API_URL`` is set to (slack_sdk's ``base_url``, with the slash)."""
        return f"{self.url}api/"

    # -- inputs and failures -----------------------------------------------------------

    def add_user(self, user_id: str, name: str, **kwargs: Any) -> SlackUser:
        user = SlackUser(user_id, name, **kwargs)
        with self._lock:
            self.users[user_id] = user
        return user

    def new_trigger_id(self) -> str:
        with self._lock:
            trigger = f"{next(self._ids)}.{int(time.time())}.trigger{next(self._ids):06d}"
            self._triggers[trigger] = False
        return trigger

    def expire_trigger(self, trigger_id: str) -> None:
        """Slack's trigger ids live 3 seconds; this one has passed that."""
        with self._lock:
            self._triggers[trigger_id] = True

    def new_response_url(self, channel: str | None = None, message_ts: str | None = None) -> str:
        """The ``response_url`` of a payload from ``channel`` (a press on the message
        ``message_ts`` there, or a slash command typed there), valid from now."""
        with self._lock:
            rid = f"T0KPIBOT/{next(self._ids):08d}/resp{next(self._ids):06d}"
            self.responses[rid] = []
            self.response_sources[rid] = ResponseSource(channel, message_ts, self.clock())
        return f"{self.url}response/{rid}"

    def enable_oauth(self, client_id: str, client_secret: str, scopes: Iterable[str] = ()) -> None:
        """Let an app with these client credentials be installed with ``oauth.v2.access``."""
        with self._lock:
            self.oauth_client = (client_id, client_secret)
            self._scopes = list(scopes)

    def approve_install(self, team_id: str, installer: str) -> str:
        """A workspace admin approved the consent screen: the one-time ``code`` Slack
        redirects back with."""
        with self._lock:
            code = f"{next(self._ids)}.{team_id}.fakecode"
            self._codes[code] = (team_id, installer)
        return code

    def refuse_channel(self, channel: str) -> None:
        """kpibot is not a member of ``channel``: posting and sharing files there fail."""
        with self._lock:
            self._closed_channels.add(channel)

    def rate_limit(
        self,
        method: str,
        *,
        calls: int,
        per: float = 60.0,
        retry_after: int = 1,
        channel: str | None = None,
    ) -> None:
        """More than ``calls`` calls of ``method`` within ``per`` seconds → 429 + Retry-After
        (``channel``: calls of ``method`` in that channel, the others not counted)."""
        with self._lock:
            self._limits[(method, channel)] = _Limit(calls, per, retry_after)

    def flood_gate(self, **limits: Any) -> FloodGate:
        """Switch on :class:`tests.fakes.limits.FloodGate` for ``chat.postMessage``: ``overall``
        is per workspace, ``per_chat`` per channel."""
        with self._lock:
            self.gate = FloodGate(**limits)
        return self.gate

    def fail_next(self, method: str, *, times: int = 1, status: int = 503) -> None:
        with self._lock:
            self._failures.setdefault(method, deque()).extend([status] * times)

    # -- what happened -----------------------------------------------------------------

    def calls_to(self, *methods: str, ok: bool | None = None) -> list[Call]:
        with self._lock:
            return [
                c for c in self.calls
                if (not methods or c.method in methods) and (ok is None or c.ok == ok)
            ]  # fmt: skip

    def api_calls(
        self, ok: bool | None = True, *, ignore: Iterable[str] = ("auth.test",)
    ) -> list[str]:
        """Method names in order (default: the successful ones, without bolt's auth.test)."""
        skip = set(ignore)
        return [c.method for c in self.calls_to(ok=ok) if c.method not in skip]

    def response_posts(self, response_url: str) -> list[dict[str, Any]]:
        rid = response_url.split("/response/", 1)[1]
        with self._lock:
            return list(self.responses.get(rid, []))

    @staticmethod
    def dm_channel(user_id: str) -> str:
        return "D" + user_id.removeprefix("U").removeprefix("W")

    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m) for m in self.messages.get(channel, [])]

    def texts_in(self, channel: str) -> list[str]:
        return [m.get("text", "") for m in self.messages_in(channel)]

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = CEILING_S) -> None:
        """Poll ``predicate`` (e.g. "a DM arrived") without blocking the test's loop."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"the fake Slack did not see it within {timeout} s")
            await asyncio.sleep(0.01)

    # -- the HTTP app ------------------------------------------------------------------

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["GET", "POST"]),
                Route("/response/{rid:path}", self._response_url, methods=["POST"]),
                Route("/upload/{file_id}", self._upload, methods=["POST"]),
                Route(
                    "/files-pri/{team}-{file_id}/{rest:path}", self._private_file, methods=["GET"]
                ),
                WebSocketRoute("/socket-mode", self._socket_mode),
            ]
        )

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        args = await _read_args(request)
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):  # oauth.v2.access: the app's client credentials
            client_id, _sep, secret = base64.b64decode(header[6:]).decode().partition(":")
            args.setdefault("client_id", client_id)
            args.setdefault("client_secret", secret)
        token = _bearer(request) or args.pop("token", None)
        if request.client is not None:
            with self._lock:
                self.client_ports.append(request.client.port)
        status, body, headers = self._answer(method, args, token)
        return JSONResponse(body, status_code=status, headers=headers)

    def _answer(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            headers: dict[str, str] = {}
            try:
                self._gate(method, str(args.get("channel") or ""))
                if method not in self._methods:
                    raise SlackError("unknown_method", status=404)
                if method == "oauth.v2.access":
                    token = None
                elif token is None:
                    raise SlackError("not_authed")
                elif method == "apps.connections.open":
                    if token != self.app_token:
                        raise SlackError("invalid_auth")
                    retry = self.tiers.check(method, "app", None)
                    if retry:
                        raise SlackError("ratelimited", status=429, retry_after=retry)
                elif token not in self.tokens:
                    raise SlackError("invalid_auth")
                if self.gate is not None and method == "chat.postMessage":
                    verdict = self.gate.check(self.tokens[token], str(args.get("channel")))
                    if verdict.status == 429:
                        raise SlackError("ratelimited", status=429, retry_after=verdict.retry_after)
                    if verdict.status != 200:
                        raise SlackError("fatal_error", status=verdict.status)
                if token is not None and method != "apps.connections.open":
                    retry = self.tiers.check(
                        method, self.tokens.get(token, ""), str(args.get("channel") or "")
                    )
                    if retry:
                        raise SlackError("ratelimited", status=429, retry_after=retry)
                handler_args = {**args, "_team": self.tokens.get(token or "")}
                status, body = 200, {"ok": True, **self._methods[method](handler_args)}
            except SlackError as exc:
                status, body = exc.status, {"ok": False, "error": exc.error, **exc.extra}
                if exc.status == 429:
                    headers["Retry-After"] = str(exc.extra.pop("retry_after"))
                    body.pop("retry_after", None)
            self.calls.append(Call(method, args, status, body, time.monotonic(), token))
            return status, body, headers

    def _gate(self, method: str, channel: str = "") -> None:
        """Injected 5xx first, then the per-method (and per-channel) rate limits."""
        failures = self._failures.get(method)
        if failures:
            raise SlackError("fatal_error", status=failures.popleft())
        now = time.monotonic()
        limits = [self._limits.get((method, None)), self._limits.get((method, channel))]
        for limit in limits if channel else limits[:1]:
            if limit is None:
                continue
            while limit.seen and now - limit.seen[0] >= limit.per:
                limit.seen.popleft()
            if len(limit.seen) >= limit.calls:
                wait = limit.retry_after  # calls=0: refused, whatever the window
                if limit.seen:
                    wait = max(wait, math.ceil(limit.per - (now - limit.seen[0])))
                raise SlackError("ratelimited", status=429, retry_after=wait)
        for limit in limits if channel else limits[:1]:
            if limit is not None:
                limit.seen.append(now)

    async def _response_url(self, request: Request) -> Response:
        rid = request.path_params["rid"]
        try:
            payload = json.loads(await request.body() or b"{}")
        except ValueError:
            payload = None
        headers: dict[str, str] = {}
        with self._lock:
            posted = self.responses.get(rid)
            try:
                self._gate("response_url")
                if posted is None:
                    raise SlackError("no_such_url", status=404)
                if len(posted) >= RESPONSE_URL_USES:
                    raise SlackError("used_url", status=404)
                source = self.response_sources.get(rid)
                if source is not None and self.clock() - source.issued > RESPONSE_URL_TTL_S:
                    raise SlackError("expired_url", status=404)
                if not isinstance(payload, dict):
                    raise SlackError("invalid_payload", status=400)
                self._respond(payload, source)
                posted.append(payload)
                status, text = 200, "ok"
            except SlackError as exc:
                status, text = exc.status, exc.error
                if status == 429:
                    headers["Retry-After"] = str(exc.extra["retry_after"])
            answer = {"ok": True} if status == 200 else {"ok": False, "error": text}
            shown = payload if isinstance(payload, dict) else {}
            self.calls.append(
                Call("response_url", {"url": rid, **shown}, status, answer, time.monotonic())
            )
        return PlainTextResponse(text, status_code=status, headers=headers)

    def _respond(self, payload: dict[str, Any], source: ResponseSource | None) -> None:
        """One response through a ``response_url`` (under the lock): the source message
        replaced or deleted, or a new message, checked as Slack checks any message."""
        if _truthy(payload.get("delete_original")):
            if source is not None and source.message_ts:
                kept = self.messages.get(source.channel or "", [])
                self.messages[source.channel or ""] = [
                    m for m in kept if m["ts"] != source.message_ts
                ]
            return
        if not payload.get("text") and not payload.get("blocks"):
            raise SlackError("no_text", status=400)
        if _check_message(payload):
            raise SlackError("invalid_blocks", status=400)
        channel = (source.channel if source is not None else None) or ""
        if _truthy(payload.get("replace_original")):
            # the message pressed, edited in place (it keeps its ts and who can see it); a
            # source kpibot did not post here (an ephemeral one) is only recorded
            for message in self.messages.get(channel, []) if source is not None else []:
                if message["ts"] == source.message_ts:  # type: ignore[union-attr]
                    message.update(self._message(payload), edited=True)
                    if self.on_message is not None:
                        self.on_message(channel, dict(message))
            return
        if payload.get("response_type") == "in_channel" and channel:
            # a new message in the channel: Slack's one post a second per channel applies
            retry = self.tiers.check("chat.postMessage", TEAM_ID, channel)
            if retry:
                raise SlackError("rate_limited", status=429, retry_after=retry)
            message = self._message(payload)
            message.update(ts=self._ts(), user=BOT_USER_ID, bot_id=BOT_ID, type="message")
            self.messages.setdefault(channel, []).append(message)
            if self.on_message is not None:
                self.on_message(channel, dict(message))

    async def _upload(self, request: Request) -> Response:
        file_id = request.path_params["file_id"]
        data = await request.body()
        with self._lock:
            upload = self.files.get(file_id)
            if upload is None:
                status, text = 404, "not_found"
            else:
                upload.data = data
                status, text = 200, f"OK - {len(data)}"
            self.calls.append(
                Call(
                    "upload",
                    {"file_id": file_id, "bytes": len(data)},
                    status,
                    {"ok": status == 200},
                    time.monotonic(),
                )
            )
        return PlainTextResponse(text, status_code=status)

    # -- Socket Mode -------------------------------------------------------------------

    async def _socket_mode(self, websocket: WebSocket) -> None:
        await websocket.accept()
        entry = (websocket, asyncio.get_running_loop())
        hello = {
            "type": "hello", "num_connections": 1, "connection_info": {"app_id": APP_ID},
            "debug_info": {"host": "applink-fake", "approximate_connection_time": 18060},
        }  # fmt: skip
        await websocket.send_text(json.dumps(hello))
        with self._lock:
            self._sockets.append(entry)
        try:
            while True:
                ack = json.loads(await websocket.receive_text())
                with self._lock:
                    self.socket_acks.append(ack)
        except WebSocketDisconnect:
            pass
        finally:
            with self._lock:
                self._sockets.remove(entry)

    @property
    def socket_connected(self) -> bool:
        with self._lock:
            return bool(self._sockets)

    def socket_send(
        self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0, retry_reason: str = ""
    ) -> str:
        """Push one envelope to the connected Socket Mode client; returns its ``envelope_id``."""
        with self._lock:
            websocket, loop = self._sockets[-1]
            envelope_id = f"{next(self._ids):08d}-fake-envelope"
        envelope = {
            "envelope_id": envelope_id, "type": kind, "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt, "retry_reason": retry_reason,
        }  # fmt: skip
        sent = asyncio.run_coroutine_threadsafe(websocket.send_text(json.dumps(envelope)), loop)
        sent.result(timeout=CEILING_S)
        return envelope_id

    def suggestion(
        self, user_id: str, message: dict[str, Any], typed: str, *, channel: str | None = None
    ) -> dict[str, Any]:
        """The ``block_suggestion`` payload for the first ``external_select`` of ``message``
        (a message kpibot posted, as ``messages_in`` returns it), as the person has typed."""
        found = [
            (block, element)
            for block in message.get("blocks") or []
            if block.get("type") == "actions"
            for element in block.get("elements") or []
            if element.get("type") == "external_select"
        ]
        if not found:
            raise AssertionError("the message has no external_select a person could type into")
        block, element = found[0]
        min_length = int(element.get("min_query_length", 3))
        if len(typed) < min_length:
            raise AssertionError(f"Slack asks only after {min_length} characters")
        user = self.users.get(user_id)
        name = user.name if user is not None else user_id.lower()
        channel = channel or message.get("channel") or self.dm_channel(user_id)
        return {
            "type": "block_suggestion",
            "user": {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID},
            "container": {
                "type": "message",
                "message_ts": message.get("ts", ""),
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "api_app_id": APP_ID,
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "action_id": element["action_id"],
            "block_id": block.get("block_id", ""),
            "value": typed,
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {
                "id": channel,
                "name": "directmessage" if channel.startswith("D") else "kpi-team",
            },
        }

    @staticmethod
    def check_options(answer: Any) -> list[str]:
        """What Slack finds wrong with an answer to a ``block_suggestion`` (it then shows the
        person no choices)."""
        if not isinstance(answer, dict) or not ({"options", "option_groups"} & answer.keys()):
            return ["[ERROR] an options answer has options or option_groups"]
        problems: list[str] = []
        groups = answer.get("option_groups")
        if groups is not None:
            if len(groups) > SUGGESTED_OPTIONS_MAX:
                problems.append(f"[ERROR] no more than {SUGGESTED_OPTIONS_MAX} option groups")
            for i, group in enumerate(groups):
                where = f"[json-pointer:/option_groups/{i}]"
                problems += _check_options(list(group.get("options") or []), where)
                if not 1 <= len(group.get("options") or []) <= SUGGESTED_OPTIONS_MAX:
                    problems.append(
                        f"[ERROR] a group holds 1 to {SUGGESTED_OPTIONS_MAX} options {where}"
                    )
                problems += _model_problems(OptionGroup, group, where)
        options = answer.get("options")
        if options is not None:
            if len(options) > SUGGESTED_OPTIONS_MAX:
                problems.append(
                    f"[ERROR] no more than {SUGGESTED_OPTIONS_MAX} options [json-pointer:/options]"
                )
            problems += _check_options(list(options), "[json-pointer:/options]")
            for i, option in enumerate(options):
                problems += _model_problems(Option, option, f"[json-pointer:/options/{i}]")
        return problems

    def socket_ack(self, envelope_id: str) -> dict[str, Any] | None:
        """What the client acknowledged for this envelope (``None`` yet); an ack whose payload
        Slack would refuse (:func:`check_ack`) fails the test here."""
        with self._lock:
            ack = next((a for a in self.socket_acks if a.get("envelope_id") == envelope_id), None)
        problems = check_ack(ack.get("payload")) if ack is not None else []
        if problems:
            raise AssertionError(f"Slack would refuse this ack: {problems}")
        return ack

    # -- Web API methods (called under the lock) ---------------------------------------

    def _open_connection(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"ws://127.0.0.1:{self.port}/socket-mode?ticket={next(self._ids)}"}

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/", "team": "kpibot test", "user": "kpibot",
            "team_id": args["_team"], "user_id": BOT_USER_ID, "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }  # fmt: skip

    def _oauth_access(self, args: dict[str, Any]) -> dict[str, Any]:
        """https://api.slack.com/methods/oauth.v2.access: a code from the consent screen for
        the workspace's bot token (a code works once)."""
        if (
            self.oauth_client is None
            or (args.get("client_id"), args.get("client_secret")) != self.oauth_client
        ):
            raise SlackError("invalid_client_id")
        found = self._codes.pop(str(args.get("code")), None)
        if found is None:
            raise SlackError("invalid_code")
        team_id, installer = found
        token = f"xoxb-{team_id.lower()}-{next(self._ids):06d}-fake"
        self.tokens[token] = team_id
        return {
            "app_id": APP_ID, "authed_user": {"id": installer}, "scope": ",".join(self._scopes),
            "token_type": "bot", "access_token": token, "bot_user_id": BOT_USER_ID,
            "team": {"id": team_id, "name": f"workspace {team_id}"}, "enterprise": None,
            "is_enterprise_install": False,
        }  # fmt: skip

    def _ts(self) -> str:
        # As Slack's: the posting time in seconds (a history's ``oldest`` compares with it),
        # made unique by a counter in the fraction.
        return f"{int(time.time())}.{next(self._ids) % 1_000_000:06d}"

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel")
        if not channel:
            raise SlackError("channel_not_found")
        if channel[:1] in ("U", "W"):  # a user id: the app's DM with them (opened if need be)
            if self.users and channel not in self.users:
                raise SlackError("channel_not_found")
            channel = self.dm_channel(channel)
        if channel in self._closed_channels:
            raise SlackError("not_in_channel")
        message = self._message(args)
        ts = self._ts()
        message.update(ts=ts, user=BOT_USER_ID, bot_id=BOT_ID, type="message")
        self.messages.setdefault(channel, []).append(message)
        if self.on_message is not None:
            self.on_message(channel, dict(message))
        return {"channel": channel, "ts": ts, "message": dict(message)}

    def _post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel"):
            raise SlackError("channel_not_found")
        if not args.get("user"):
            raise SlackError("user_not_in_channel")
        message = self._message(args)
        message.update(channel=args["channel"], user=args["user"])
        self.ephemerals.append(message)
        return {"message_ts": self._ts()}

    def _update_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = args.get("channel"), args.get("ts")
        for message in self.messages.get(channel or "", []):
            if message["ts"] == ts:
                message.update(self._message(args), edited=True)
                if self.on_message is not None:
                    self.on_message(str(channel), dict(message))
                return {"channel": channel, "ts": ts, "text": message.get("text", "")}
        raise SlackError("message_not_found")

    def _message(self, args: dict[str, Any]) -> dict[str, Any]:
        blocks = _json_arg(args.get("blocks"))
        text = args.get("text")
        if not text and not blocks:
            raise SlackError("no_text")
        problems = _check_message({"text": text, "blocks": blocks})
        if problems:
            raise SlackError("invalid_blocks", response_metadata={"messages": problems})
        message: dict[str, Any] = {"text": text or ""}
        if blocks:
            message["blocks"] = blocks
        for key in ("unfurl_links", "unfurl_media", "thread_ts", "mrkdwn"):
            if key in args:
                message[key] = args[key]
        metadata = _json_arg(args.get("metadata"))
        if metadata is not None:
            if (
                not isinstance(metadata, dict)
                or not metadata.get("event_type")
                or "event_payload" not in metadata
            ):
                raise SlackError("invalid_metadata_format")
            message["metadata"] = metadata
        return message

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        """``conversations.history``: newest first, ``oldest``/``limit``/``cursor`` as Slack
        has them; metadata only with ``include_all_metadata``."""
        channel = str(args.get("channel") or "")
        if channel not in self.messages and not channel.startswith("D"):
            raise SlackError("channel_not_found")
        oldest = float(args.get("oldest") or 0)
        limit = min(int(args.get("limit") or 100), 999)
        start = int(args.get("cursor") or 0)
        found = [m for m in reversed(self.messages.get(channel, [])) if float(m["ts"]) >= oldest]
        page = found[start : start + limit]
        with_meta = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        shown = [m if with_meta else {k: v for k, v in m.items() if k != "metadata"} for m in page]
        more = start + limit < len(found)
        return {
            "messages": [dict(m) for m in shown],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _open_conversation(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users") or "")
        if not users:
            raise SlackError("users_list_not_supplied")
        user = users.split(",")[0]
        if self.users and user not in self.users:
            raise SlackError("user_not_found")
        channel = self.dm_channel(user)
        return {
            "channel": {"id": channel, "is_im": True, "user": user},
            "no_op": channel in self.messages,
        }

    def _open_view(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = args.get("trigger_id")
        if trigger not in self._triggers:
            raise SlackError("invalid_trigger_id")
        if self._triggers[trigger]:
            raise SlackError("expired_trigger_id")
        view = _json_arg(args.get("view"))
        self._check_view(view)
        self._triggers[trigger] = True
        view_id = f"V{next(self._ids):08d}"
        stored = {**view, "id": view_id, "hash": f"{next(self._ids)}.hash", "state": {"values": {}}}
        self.views[view_id] = stored
        return {"view": stored}

    def _update_view(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id")
        if view_id not in self.views:
            raise SlackError("not_found")
        view = _json_arg(args.get("view"))
        self._check_view(view)
        stored = {**view, "id": view_id, "hash": f"{next(self._ids)}.hash", "state": {"values": {}}}
        self.views[view_id] = stored
        return {"view": stored}

    def _check_view(self, view: Any) -> None:
        problems = check_view(view)
        if problems:
            raise SlackError("invalid_arguments", response_metadata={"messages": problems})

    def share_file(
        self,
        user_id: str,
        name: str,
        data: bytes,
        *,
        mimetype: str = "text/csv",
        size: int | None = None,
    ) -> dict[str, Any]:
        """``user_id`` shares a file with kpibot: the file object as Slack's events and
        ``files.info`` show it (``size`` may claim another size than the bytes')."""
        with self._lock:
            file_id = f"F{next(self._ids):08d}"
            base = f"{self.url}files-pri/{TEAM_ID}-{file_id}"
            obj = {
                "id": file_id,
                "created": int(time.time()),
                "name": name,
                "title": name,
                "mimetype": mimetype,
                "filetype": name.rsplit(".", 1)[-1].lower(),
                "user": user_id,
                "size": len(data) if size is None else size,
                "mode": "hosted",
                "is_external": False,
                "is_public": False,
                "url_private": f"{base}/{name}",
                "url_private_download": f"{base}/download/{name}",
            }
            self.shared[file_id] = (obj, data)
            return dict(obj)

    def _files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self.shared.get(str(args.get("file")))
        if found is None:
            raise SlackError("file_not_found")
        return {"file": dict(found[0])}

    async def _private_file(self, request: Request) -> Response:
        """``url_private``: the bytes for a request with a bot token of the workspace; Slack answers
        anything else with its sign-in page, here a plain 403."""
        file_id = request.path_params["file_id"]
        token = _bearer(request)
        with self._lock:
            found = self.shared.get(file_id)
            status = 404 if found is None else (200 if token in self.tokens else 403)
            self.downloads.append((file_id, status))
        if found is None or status != 200:
            return PlainTextResponse(
                "not found" if found is None else "sign in to Slack", status_code=status
            )
        return Response(found[1], media_type=str(found[0]["mimetype"]))

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user")))
        if user is None:
            raise SlackError("user_not_found")
        include_locale = str(args.get("include_locale", "")).lower() in {"1", "true"}
        return {"user": user.as_json(include_locale)}

    def _lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        for user in self.users.values():
            if user.email and user.email == args.get("email"):
                return {"user": user.as_json(False)}
        raise SlackError("users_not_found")

    def _get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        filename, length = args.get("filename"), args.get("length")
        if not filename or length in (None, ""):
            raise SlackError("invalid_arguments")
        file_id = f"F{next(self._ids):08d}"
        self.files[file_id] = UploadedFile(file_id, str(filename), int(length), args.get("alt_txt"))
        return {"upload_url": f"{self.url}upload/{file_id}", "file_id": file_id}

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        entries = _json_arg(args.get("files")) or []
        if args.get("channel_id") in self._closed_channels:
            raise SlackError("not_in_channel")
        done = []
        for entry in entries:
            upload = self.files.get(entry.get("id"))
            if upload is None or upload.data is None:
                raise SlackError("file_not_found")
            if len(upload.data) != upload.length:
                raise SlackError("file_upload_size_mismatch")
            upload.title = entry.get("title")
            upload.channel = args.get("channel_id")
            upload.initial_comment = args.get("initial_comment")
            upload.completed = True
            done.append({"id": upload.id, "name": upload.filename, "title": upload.title})
        if upload_channel := args.get("channel_id"):
            self.messages.setdefault(upload_channel, []).append({
                "type": "message", "ts": self._ts(), "user": BOT_USER_ID, "bot_id": BOT_ID,
                "text": args.get("initial_comment") or "", "files": [d["id"] for d in done],
            })  # fmt: skip
        return {"files": done}


_MENTION = re.compile(r"(<@[A-Z0-9]+(?:\|[^<>]*)?>)")


def slack_escape(text: str) -> str:
    """Message and slash-command text as Slack sends it: ``&``, ``<``, ``>`` as HTML entities
    (https://api.slack.com/reference/surfaces/formatting#escaping), except a user mention, which
    Slack sends as ``<@U123|name>`` (a command with ``should_escape``, and every message)."""
    parts = _MENTION.split(text)
    return "".join(
        part if i % 2 else part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        for i, part in enumerate(parts)
    )


# -- parsing ----------------------------------------------------------------------------


async def _read_args(request: Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if not body:
        return args
    kind = request.headers.get("content-type", "")
    if "json" in kind:
        args.update(json.loads(body))
    elif "form" in kind:
        args.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return args


def _truthy(value: Any) -> bool:
    """A flag as Slack reads it in a JSON payload: ``true`` or the string ``"true"``."""
    return value is True or str(value).lower() == "true"


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:] if header.lower().startswith("bearer ") else None


def _json_arg(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise SlackError("invalid_arguments") from None
    return value


# -- Block Kit checks Slack itself makes (the subset kpibot can get wrong) ----------------


def _check_message(payload: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    text = payload.get("text") or ""
    if len(text) > MESSAGE_TEXT_MAX:
        problems.append(f"[ERROR] text is longer than {MESSAGE_TEXT_MAX} characters")
    blocks = payload.get("blocks") or []
    if len(blocks) > MESSAGE_BLOCKS_MAX:
        problems.append(
            f"[ERROR] no more than {MESSAGE_BLOCKS_MAX} items allowed [json-pointer:/blocks]"
        )
    problems += _check_blocks(blocks, allow_input=False)
    return problems


def check_ack(body: Any) -> list[str]:
    """What Slack refuses in the body of an ack (HTTP answer or Socket Mode ``payload``), as it
    checks a sent payload: a view it would show (``response_action`` ``update`` / ``push``),
    errors to put under inputs, the options of a menu (:meth:`FakeSlack.check_options`)."""
    if not isinstance(body, dict):
        return []
    if body.get("response_action") in ("update", "push"):
        return check_view(body.get("view"))
    if body.get("response_action") == "errors":
        errors = body.get("errors")
        return [] if isinstance(errors, dict) and errors else ["[ERROR] errors must be an object"]
    if {"options", "option_groups"} & body.keys():
        return FakeSlack.check_options(body)
    return []


def check_view(view: Any) -> list[str]:
    if not isinstance(view, dict) or view.get("type") not in {"modal", "home"}:
        return ["[ERROR] view type must be modal or home [json-pointer:/view/type]"]
    problems: list[str] = []
    for key in ("title", "submit", "close"):
        part = view.get(key)
        if part is None:
            if key == "title":
                problems.append("[ERROR] missing required field: title [json-pointer:/view/title]")
            continue
        if part.get("type") != "plain_text":
            problems.append(f"[ERROR] must be plain_text [json-pointer:/view/{key}/type]")
        if len(part.get("text", "")) > VIEW_TITLE_MAX:
            problems.append(
                f"[ERROR] must be less than 25 characters [json-pointer:/view/{key}/text]"
            )
    blocks = view.get("blocks") or []
    if len(blocks) > VIEW_BLOCKS_MAX:
        problems.append(
            f"[ERROR] no more than {VIEW_BLOCKS_MAX} items allowed [json-pointer:/view/blocks]"
        )
    if any(b.get("type") == "input" for b in blocks) and view.get("submit") is None:
        problems.append(
            "[ERROR] a view with input blocks needs a submit button [json-pointer:/view/submit]"
        )
    if len(view.get("private_metadata") or "") > PRIVATE_METADATA_MAX:
        problems.append(
            "[ERROR] private_metadata is too long [json-pointer:/view/private_metadata]"
        )
    try:
        View(**{k: v for k, v in view.items() if k not in {"id", "hash", "state"}}).validate_json()
    except (SlackObjectFormationError, TypeError, KeyError, AttributeError) as exc:
        problems.append(f"[ERROR] {exc} [json-pointer:/view]")
    return problems + _check_blocks(blocks, allow_input=True, prefix="/view")


def _check_blocks(
    blocks: list[dict[str, Any]], *, allow_input: bool, prefix: str = ""
) -> list[str]:
    problems: list[str] = []
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"[json-pointer:{prefix}/blocks/{i}]"
        kind = block.get("type")
        if kind not in BLOCK_TYPES or (kind == "input" and not allow_input):
            problems.append(f"[ERROR] unsupported block type {kind!r} {where}")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in block_ids or len(block_id) > ACTION_ID_MAX:
                problems.append(f"[ERROR] duplicate or too long block_id {where}")
            block_ids.add(block_id)
        problems += _sdk_problems(block, where)
        text = block.get("text")
        if kind == "header" and len((text or {}).get("text", "")) > HEADER_TEXT_MAX:
            problems.append(f"[ERROR] must be less than {HEADER_TEXT_MAX + 1} characters {where}")
        if kind == "context" and not 1 <= len(block.get("elements") or []) <= CONTEXT_ELEMENTS_MAX:
            problems.append(
                f"[ERROR] a context holds 1 to {CONTEXT_ELEMENTS_MAX} elements {where}/elements"
            )
        if kind == "section":
            problems += _section_problems(block, where)
        if kind == "actions":
            problems += _check_actions(block.get("elements") or [], where)
        if kind == "input":
            problems += _input_problems(block, where)
    return problems


def _section_problems(block: dict[str, Any], where: str) -> list[str]:
    """A section's accessory, then its text (or fields)."""
    problems: list[str] = []
    if block.get("accessory"):
        problems += _check_element(block["accessory"], f"{where}/accessory")
    text = block.get("text")
    if not text and not block.get("fields"):
        problems.append(f"[ERROR] a section needs text or fields {where}")
    elif text and len(text.get("text", "")) > SECTION_TEXT_MAX:
        problems.append(f"[ERROR] must be less than {SECTION_TEXT_MAX + 1} characters {where}/text")
    elif text and not text.get("text"):
        problems.append(f"[ERROR] must be more than 0 characters {where}/text")
    return problems


def _input_problems(block: dict[str, Any], where: str) -> list[str]:
    """An input block's element (one Slack allows in an input) and its label."""
    problems: list[str] = []
    element = block.get("element") or {}
    if element.get("type") not in INPUT_ELEMENTS:
        problems.append(f"[ERROR] unsupported input element {element.get('type')!r} {where}")
    if not (block.get("label") or {}).get("text"):
        problems.append(f"[ERROR] an input needs a label {where}")
    problems += _check_element(element, f"{where}/element")
    return problems


def _sdk_problems(block: dict[str, Any], where: str) -> list[str]:
    """slack_sdk's own Block Kit model: the block must parse and pass its validators."""
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return [f"[ERROR] unsupported block {where}"]
        parsed.validate_json()
    except (SlackObjectFormationError, TypeError, KeyError, AttributeError) as exc:
        return [f"[ERROR] {exc} {where}"]
    return []


def _model_problems(model: Any, data: dict[str, Any], where: str) -> list[str]:
    """slack_sdk's own model of an option or option group: it must parse and validate (and
    have what Slack requires that the model lets pass: a plain-text ``text`` or ``label``)."""
    shown = data.get("label" if model is OptionGroup else "text")
    if not isinstance(shown, dict) or shown.get("type") != "plain_text" or not shown.get("text"):
        return [
            f"[ERROR] missing required field: {'label' if model is OptionGroup else 'text'} {where}"
        ]
    if model is Option and not data.get("value"):
        return [f"[ERROR] missing required field: value {where}"]
    try:
        model(**data).validate_json()
    except (SlackObjectFormationError, TypeError, KeyError, AttributeError) as exc:
        return [f"[ERROR] {exc} {where}"]
    return []


def _check_element(element: dict[str, Any], where: str) -> list[str]:
    """Options per select / radio / overflow, and each option's sizes."""
    kind = element.get("type", "")
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    problems = _check_options(options, where)
    most = OPTIONS_MAX.get(kind)
    if (
        most is not None
        and (element.get("options") is not None or options)
        and not (1 <= len(options) <= most)
    ):
        problems.append(f"[ERROR] must provide 1 to {most} options {where}/options")
    return problems


def _check_actions(elements: list[dict[str, Any]], where: str) -> list[str]:
    problems: list[str] = []
    if not elements or len(elements) > ACTIONS_ELEMENTS_MAX:
        problems.append(
            f"[ERROR] an actions block holds 1 to {ACTIONS_ELEMENTS_MAX} elements {where}"
        )
    action_ids: set[str] = set()
    for element in elements:
        action_id = element.get("action_id", "")
        if action_id in action_ids or len(action_id) > ACTION_ID_MAX:
            problems.append(f"[ERROR] duplicate or too long action_id {action_id!r} {where}")
        action_ids.add(action_id)
        if element.get("type") == "button":
            label = (element.get("text") or {}).get("text", "")
            if not label or len(label) > BUTTON_TEXT_MAX:
                problems.append(
                    f"[ERROR] a button label has 1 to {BUTTON_TEXT_MAX} characters {where}"
                )
            if len(element.get("value", "")) > BUTTON_VALUE_MAX:
                problems.append(
                    f"[ERROR] a button value is at most {BUTTON_VALUE_MAX} characters {where}"
                )
            if element.get("style") not in (None, "primary", "danger"):
                problems.append(f"[ERROR] unknown button style {where}")
        else:
            problems += _check_element(element, where)
    return problems


def _check_options(options: list[dict[str, Any]], where: str) -> list[str]:
    problems: list[str] = []
    for option in options:
        if len((option.get("text") or {}).get("text", "")) > OPTION_TEXT_MAX:
            problems.append(
                f"[ERROR] an option text is at most {OPTION_TEXT_MAX} characters {where}"
            )
        if len(option.get("value", "")) > OPTION_VALUE_MAX:
            problems.append(
                f"[ERROR] an option value is at most {OPTION_VALUE_MAX} characters {where}"
            )
    return problems
