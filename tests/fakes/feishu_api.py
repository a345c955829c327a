"""A fake Feishu Open Platform on 127.0.0.1, for driving the real ``lark-oapi`` client and kpibot's
event and card-callback endpoint.

The server half (a Starlette app under uvicorn on its own thread, bound to port 0) answers
what kpibot calls, in Feishu's wire format (``{"code": 0, "msg": "success", "data": {...}}``,
the error ``code`` and ``msg`` otherwise, https://open.feishu.cn/document/server-docs):

* ``POST /open-apis/auth/v3/tenant_access_token/internal`` ``{app_id, app_secret}`` →
  ``tenant_access_token`` (``t-…``, ``expire`` 7200); every other call needs it as
  ``Authorization: Bearer`` (99991661 missing, 99991663 not valid);
* ``POST /open-apis/im/v1/messages?receive_id_type=open_id|chat_id`` (``text``, ``post``,
  ``interactive``, ``image``, ``file``; ``uuid`` makes a send idempotent for an hour),
  ``POST /open-apis/im/v1/messages/:id/reply``, ``PATCH /open-apis/im/v1/messages/:id``
  (a card, updated in place; only the app's own interactive messages, only a card with
  ``update_multi``), ``POST /open-apis/im/v1/images`` and ``/files`` (multipart uploads);
* cards as strict as Feishu's card JSON 2.0: ``schema`` 2.0, at most 30 KB and 200
  components, known tags, a callback value that is an object, forms whose fields have
  unique names and a submit button, ``select_static`` options, ``img`` keys that were
  uploaded (230099 with the reason otherwise);
* rate limits: a message to one user or one group at most 5 a second (230020), the app's
  message calls at most 50 a second (HTTP 429, code 99991400, ``x-ogw-ratelimit-reset``
  the seconds to wait); a card updated at most 5 times a second.

The client half pushes what people do to kpibot's callback URL as Feishu does, through an
httpx transport (an ASGI app in the test's loop): the schema 2.0 envelope (``header`` with
``event_id``, ``event_type``, ``token``, ``create_time``, ``app_id``), encrypted with the
encrypt key (AES-256-CBC, ``{"encrypt": …}``) and signed (``X-Lark-Signature`` =
sha256(timestamp + nonce + encrypt key + body)) when the app has one; ``im.message.receive_v1``
for a message in a private chat or a group, ``card.action.trigger`` for a press or a form
submission (validated like the Feishu client does: a required field left empty does not
submit). A callback answered later than 3 s counts as failed (Feishu shows the person an
error); a callback's ``card`` replaces the pressed card.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import os
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import uvicorn
from Crypto.Cipher import AES
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.limits import FEISHU_APP_PER_S, FloodGate, Verdict, feishu_gate, feishu_patch_gate
from tests.waiting import CEILING_S

APP_SECRET = "kpibot-test-app-secret"
VERIFICATION_TOKEN = "kpibot-verification-token"
ENCRYPT_KEY = "kpibot-encrypt-key"
TENANT_KEY = "2ed263bf32cf1651"
CALLBACK_BUDGET_S = 3.0
"""Feishu waits this long for a card callback's answer, then shows the person an error."""

CARD_BYTES_MAX = 30 * 1024
COMPONENTS_MAX = 200
IMAGE_BYTES_MAX = 10 * 1024 * 1024
FILE_BYTES_MAX = 30 * 1024 * 1024
RESOURCE_BYTES_MAX = 100 * 1024 * 1024
"""The message-resource API hands out files up to 100 MB."""

CARD_TAGS = {
    "div", "markdown", "hr", "img", "button", "form", "input", "select_static",
    "multi_select_static", "column_set", "column", "note", "date_picker", "checker",
}  # fmt: skip


@dataclass
class Call:
    """One request kpibot made, and what the fake answered."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    response: dict[str, Any]
    at: float
    client_port: int = 0
    """The port kpibot called from: one per connection (kept alive or not)."""

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.response.get("code") == 0

    @property
    def name(self) -> str:
        """``create`` | ``reply`` | ``patch`` | ``update`` | ``image`` | ``file`` | ``token`` |
        ``download`` (a file a person sent, fetched from their message)."""
        if self.path.endswith("/tenant_access_token/internal"):
            return "token"
        if "/resources/" in self.path:
            return "download"
        if self.path.endswith("/images"):
            return "image"
        if self.path.endswith("/files"):
            return "file"
        if self.path.endswith("/reply"):
            return "reply"
        if self.method == "PATCH":
            return "patch"
        if self.method == "PUT":
            return "update"
        return "create"


class FeishuError(Exception):
    def __init__(self, code: int, msg: str, status: int = 400, reset: int | None = None) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status, self.reset = code, msg, status, reset


@dataclass
class User:
    open_id: str
    name: str
    user_id: str
    union_id: str
    p2p_chat: str
    locale: str | None = None
    """The language their Feishu client runs in (``en_US``), carried in their messages'
    ``user_agent``; ``None``: the user agent does not say (an app without that permission)."""


@dataclass
class Delivery:
    """One event or callback the fake pushed to kpibot, and how kpibot answered it."""

    event_id: str
    event_type: str
    status: int
    body: Any
    seconds: float

    @property
    def in_time(self) -> bool:
        return self.status == 200 and self.seconds <= CALLBACK_BUDGET_S


class FakeFeishu:
    """The fake server; ``with FakeFeishu() as fake:`` or ``start()`` / ``stop()``."""

    def __init__(
        self,
        *,
        encrypt_key: str | None = ENCRYPT_KEY,
        verification_token: str = VERIFICATION_TOKEN,
    ) -> None:
        self.app_id = "cli_" + secrets.token_hex(8)
        """Unique per fake: lark-oapi caches tenant tokens per app id for the whole process."""
        self.app_secret = APP_SECRET
        self.encrypt_key = encrypt_key
        self.verification_token = verification_token
        self.bot_open_id = "ou_bot_" + secrets.token_hex(6)
        self.calls: list[Call] = []
        self.users: dict[str, User] = {}
        self.groups: dict[str, str] = {}
        """chat_id → name."""
        self.messages: dict[str, dict[str, Any]] = {}
        """message_id → the message as Feishu keeps it (``chat_id``, ``msg_type``, ``content``…)."""
        self.images: dict[str, bytes] = {}
        self.files: dict[str, tuple[str, bytes]] = {}
        self.deliveries: list[Delivery] = []
        self.callback_url = "http://kpibot.test/feishu/events"
        """Where events go: kpibot's web app in this process (``callback_transport``), or a real
        address (``http://127.0.0.1:PORT/feishu/events``, a new connection for each event)."""
        self.callback_transport: httpx.AsyncBaseTransport | None = None
        self.tokens: set[str] = set()
        self.gate: FloodGate | None = feishu_gate()
        """The message API's limits (the app's rate, 5 a second to one chat) and random
        429/5xx when asked: the same :class:`~tests.fakes.limits.FloodGate` the fake Slack
        and Telegram use; ``None`` when relaxed."""
        self.patch_gate: FloodGate | None = feishu_patch_gate()
        """A card updated at most 5 times a second (keyed by the message)."""
        self._uuids: dict[str, tuple[float, str]] = {}
        self.limited: dict[int, int] = {}
        """Error code (230020, 99991400) → how many times it was answered."""
        self._failures: dict[str, deque[tuple[int, int, str]]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeFeishu:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self._app(), log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="fake-feishu", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + CEILING_S
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake Feishu server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> FakeFeishu:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def domain(self) -> str:
        """lark-oapi's base domain (``FEISHU_DOMAIN``): an origin, no path."""
        return f"http://127.0.0.1:{self.port}"

    # -- people and chats --------------------------------------------------------------

    def user(self, name: str, open_id: str | None = None, *, locale: str | None = None) -> User:
        n = next(self._ids)
        user = User(
            open_id=open_id or f"ou_{n:04d}{secrets.token_hex(4)}",
            name=name,
            user_id=f"u{n:04d}",
            union_id=f"on_{secrets.token_hex(6)}",
            p2p_chat=f"oc_p2p_{n:04d}",
            locale=locale,
        )
        with self._lock:
            self.users[user.open_id] = user
        return user

    def group(self, name: str) -> str:
        chat_id = f"oc_group_{next(self._ids):04d}"
        with self._lock:
            self.groups[chat_id] = name
        return chat_id

    def relax(self) -> None:
        """Lift the rate limits (a test about something else)."""
        self.gate = self.patch_gate = None

    def flood_gate(self, **limits: Any) -> FloodGate:
        """Replace the message API's limits with a :class:`~tests.fakes.limits.FloodGate` of
        ``limits`` (``overall``, ``per_chat``, ``p429``, ``p5xx``…)."""
        with self._lock:
            self.gate = FloodGate(**limits)
        return self.gate

    def fail_next(
        self, name: str, *, code: int, msg: str, status: int = 400, times: int = 1
    ) -> None:
        """The next ``times`` calls of ``name`` (``create``, ``patch``…) answer this error."""
        with self._lock:
            self._failures.setdefault(name, deque()).extend([(code, status, msg)] * times)

    # -- what people see ---------------------------------------------------------------

    def chat_messages(self, chat_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m) for m in self.messages.values() if m["chat_id"] == chat_id]

    def bot_cards(self, chat_id: str) -> list[dict[str, Any]]:
        """The app's cards in a chat, as they read now (after updates), oldest first."""
        return [
            json.loads(m["content"])
            for m in self.chat_messages(chat_id)
            if m["sender"] == "app" and m["msg_type"] == "interactive"
        ]

    def screen(self, chat_id: str) -> list[str]:
        """Each app message in the chat as a person reads it (text of a card, ``[image]``)."""
        out = []
        for m in self.chat_messages(chat_id):
            if m["sender"] != "app":
                continue
            if m["msg_type"] == "interactive":
                out.append(card_text(json.loads(m["content"])))
            elif m["msg_type"] == "text":
                out.append(json.loads(m["content"])["text"])
            else:
                out.append(f"[{m['msg_type']}]")
        return out

    def calls_to(self, *names: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.name in names]

    def message_calls(self, since: int = 0) -> list[Call]:
        with self._lock:
            return [c for c in self.calls[since:] if c.name != "token"]

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = CEILING_S) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"the fake Feishu did not see it within {timeout} s")
            await asyncio.sleep(0.01)

    # -- the HTTP app ------------------------------------------------------------------

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(
                    "/open-apis/auth/v3/tenant_access_token/internal", self._token, methods=["POST"]
                ),
                Route("/open-apis/im/v1/messages", self._create, methods=["POST"]),
                Route("/open-apis/im/v1/messages/{mid}/reply", self._reply, methods=["POST"]),
                Route("/open-apis/im/v1/messages/{mid}", self._patch, methods=["PATCH", "PUT"]),
                Route(
                    "/open-apis/im/v1/messages/{mid}/resources/{key}",
                    self._resource,
                    methods=["GET"],
                ),  # fmt: skip
                Route("/open-apis/im/v1/images", self._image, methods=["POST"]),
                Route("/open-apis/im/v1/files", self._file, methods=["POST"]),
            ]
        )

    async def _token(self, request: Request) -> Response:
        body = await _json(request)

        def answer() -> dict[str, Any]:
            if body.get("app_id") != self.app_id or body.get("app_secret") != self.app_secret:
                raise FeishuError(10014, "app secret invalid")
            token = "t-" + secrets.token_hex(16)
            self.tokens.add(token)
            return {"tenant_access_token": token, "expire": 7200}

        return self._answer(request, body, answer, flat=True)

    def _answer(
        self,
        request: Request,
        body: Any,
        work: Callable[[], dict[str, Any]],
        *,
        flat: bool = False,
        auth: bool = False,
    ) -> Response:
        path, method = request.url.path, request.method
        query = dict(request.query_params)
        headers: dict[str, str] = {}
        with self._lock:
            port = request.client.port if request.client is not None else 0
            call = Call(method, path, query, body, 200, {}, time.monotonic(), port)
            try:
                if auth:
                    self._authorize(request)
                failures = self._failures.get(call.name)
                if failures:
                    code, status, msg = failures.popleft()
                    raise FeishuError(code, msg, status)
                data = work()
                response = {"code": 0, "msg": "ok" if flat else "success"}
                response.update(data if flat else {"data": data})
                status = 200
            except FeishuError as exc:
                status, response = exc.status, {"code": exc.code, "msg": exc.msg}
                if exc.reset is not None:
                    headers["x-ogw-ratelimit-limit"] = str(int(FEISHU_APP_PER_S))
                    headers["x-ogw-ratelimit-reset"] = str(exc.reset)
                if exc.code in (230020, 99991400):
                    self.limited[exc.code] = self.limited.get(exc.code, 0) + 1
            call.status, call.response = status, response
            self.calls.append(call)
        return JSONResponse(response, status_code=status, headers=headers)

    def _authorize(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer ") or not header[7:].strip():
            raise FeishuError(99991661, "Missing access token for authorization")
        if header[7:].strip() not in self.tokens:
            raise FeishuError(99991663, "Invalid access token for authorization")

    def _rate(self, chat_id: str) -> None:
        if self.gate is not None:
            _refuse(self.gate.check(self.app_id, chat_id))

    async def _create(self, request: Request) -> Response:
        body = await _json(request)
        kind = request.query_params.get("receive_id_type", "")

        def work() -> dict[str, Any]:
            if kind not in ("open_id", "user_id", "union_id", "email", "chat_id"):
                raise FeishuError(99992402, "field validation failed: receive_id_type")
            chat_id = self._chat_of(kind, str(body.get("receive_id", "")))
            uuid = body.get("uuid")
            if uuid:
                kept = self._uuids.get(str(uuid))
                if kept is not None and time.monotonic() - kept[0] < 3600:
                    return self._public(self.messages[kept[1]])
            self._rate(chat_id)
            message = self._new_message(chat_id, body)
            if uuid:
                self._uuids[str(uuid)] = (time.monotonic(), message["message_id"])
            return self._public(message)

        return self._answer(request, body, work, auth=True)

    async def _reply(self, request: Request) -> Response:
        body = await _json(request)
        mid = request.path_params["mid"]

        def work() -> dict[str, Any]:
            parent = self.messages.get(mid)
            if parent is None:
                raise FeishuError(
                    230001,
                    "Your request contains an invalid request parameter, ext=invalid message_id.",
                )
            self._rate(parent["chat_id"])
            message = self._new_message(parent["chat_id"], body)
            message["parent_id"] = mid
            message["root_id"] = parent.get("root_id") or mid
            return self._public(message)

        return self._answer(request, body, work, auth=True)

    async def _patch(self, request: Request) -> Response:
        body = await _json(request)
        mid = request.path_params["mid"]
        put = request.method == "PUT"

        def work() -> dict[str, Any]:
            message = self.messages.get(mid)
            if message is None:
                raise FeishuError(
                    230001,
                    "Your request contains an invalid request parameter, ext=invalid message_id.",
                )
            if message["sender"] != "app":
                raise FeishuError(
                    230027, "Lack of necessary permissions: the message was not sent by the app."
                )
            if put:
                if (
                    message["msg_type"] not in ("text", "post")
                    or body.get("msg_type") != message["msg_type"]
                ):
                    raise FeishuError(
                        230001, "Your request contains an invalid request parameter, ext=msg_type."
                    )
            else:
                if message["msg_type"] != "interactive":
                    raise FeishuError(
                        230001,
                        "Your request contains an invalid request parameter, ext=only cards can be "
                        "patched.",
                    )
                old = json.loads(message["content"])
                if not (old.get("config") or {}).get("update_multi"):
                    raise FeishuError(
                        230099,
                        "Failed to update card: a card without update_multi cannot be patched.",
                    )
            content = str(body.get("content", ""))
            if not put:
                check_card(content, self.images)
            if self.patch_gate is not None:
                _refuse(self.patch_gate.check(self.app_id, mid))
            message["content"] = content
            message["updated"] = True
            message["versions"] = message.get("versions", 0) + 1
            return {}

        return self._answer(request, body, work, auth=True)

    async def _image(self, request: Request) -> Response:
        form = await request.form()
        image_type = str(form.get("image_type", ""))
        upload = form.get("image")
        data = await upload.read() if hasattr(upload, "read") else b""

        def work() -> dict[str, Any]:
            if image_type not in ("message", "avatar"):
                raise FeishuError(234001, "Invalid request param: image_type.")
            if not data:
                raise FeishuError(234006, "The image is empty.")
            if len(data) > IMAGE_BYTES_MAX:
                raise FeishuError(234006, "The image size exceeds the limit (10 MB).")
            if not (data.startswith(b"\x89PNG") or data.startswith(b"\xff\xd8")):
                raise FeishuError(234011, "Can't recognise image format.")
            key = "img_v3_" + secrets.token_hex(10)
            self.images[key] = data
            return {"image_key": key}

        return self._answer(
            request, {"image_type": image_type, "bytes": len(data)}, work, auth=True
        )

    async def _file(self, request: Request) -> Response:
        form = await request.form()
        file_type, name = str(form.get("file_type", "")), str(form.get("file_name", ""))
        upload = form.get("file")
        data = await upload.read() if hasattr(upload, "read") else b""

        def work() -> dict[str, Any]:
            if file_type not in ("opus", "mp4", "pdf", "doc", "xls", "ppt", "stream"):
                raise FeishuError(234001, "Invalid request param: file_type.")
            if not name or not data:
                raise FeishuError(234001, "Invalid request param: file_name or file.")
            if len(data) > FILE_BYTES_MAX:
                raise FeishuError(234006, "The file size exceeds the limit (30 MB).")
            key = "file_v3_" + secrets.token_hex(10)
            self.files[key] = (name, data)
            return {"file_key": key}

        return self._answer(request, {"file_type": file_type, "file_name": name}, work, auth=True)

    async def _resource(self, request: Request) -> Response:
        """A file in a message, as the message-resource API gives it: the bytes (with the
        name in ``Content-Disposition``) or Feishu's JSON error."""
        mid, key = request.path_params["mid"], request.path_params["key"]
        kind = request.query_params.get("type", "")
        found: list[bytes] = []

        def work() -> dict[str, Any]:
            if kind not in ("image", "file"):
                raise FeishuError(234001, "Invalid request param: type.")
            message = self.messages.get(mid)
            if message is None:
                raise FeishuError(234003, "File not in msg.")
            content = json.loads(message["content"])
            if (
                key not in (content.get("file_key"), content.get("image_key"))
                or key not in self.files
            ):
                raise FeishuError(234003, "File not in msg.")
            data = self.files[key][1]
            if len(data) > RESOURCE_BYTES_MAX:
                raise FeishuError(234037, "Downloaded file size exceeds limit.")
            found.append(data)
            return {"bytes": len(data)}

        answer = self._answer(request, {"type": kind}, work, auth=True)
        if not found:
            return answer
        name = quote(self.files[key][0])
        disposition = f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}"
        return Response(
            found[0], media_type="application/octet-stream",
            headers={"Content-Disposition": disposition},
        )  # fmt: skip

    def _chat_of(self, kind: str, receive_id: str) -> str:
        if kind == "chat_id":
            if receive_id in self.groups or any(
                u.p2p_chat == receive_id for u in self.users.values()
            ):
                return receive_id
            raise FeishuError(230002, "The bot can not be outside the group.")
        if kind == "open_id":
            user = self.users.get(receive_id)
            if user is None:
                raise FeishuError(99992361, "open_id cross app")
            return user.p2p_chat
        raise FeishuError(
            230001,
            f"Your request contains an invalid request parameter, ext={kind} not supported by the "
            f"fake.",
        )

    def _new_message(self, chat_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        msg_type = str(body.get("msg_type", ""))
        content = str(body.get("content", ""))
        if msg_type not in ("text", "post", "interactive", "image", "file"):
            raise FeishuError(
                230001, "Your request contains an invalid request parameter, ext=msg_type."
            )
        try:
            parsed = json.loads(content)
        except ValueError:
            raise FeishuError(
                230001,
                "Your request contains an invalid request parameter, ext=content is not JSON.",
            ) from None
        if msg_type == "interactive":
            check_card(content, self.images)
        elif msg_type == "text":
            if not str(parsed.get("text", "")).strip():
                raise FeishuError(
                    230001, "Your request contains an invalid request parameter, ext=text is empty."
                )
            if len(content.encode()) > 150 * 1024:
                raise FeishuError(230025, "The length of the message content reaches its limit.")
        elif msg_type == "image" and parsed.get("image_key") not in self.images:
            raise FeishuError(234008, "The image_key does not belong to this app.")
        elif msg_type == "file" and parsed.get("file_key") not in self.files:
            raise FeishuError(234008, "The file_key does not belong to this app.")
        mid = f"om_{next(self._ids):06d}{secrets.token_hex(6)}"
        message = {
            "message_id": mid, "chat_id": chat_id, "msg_type": msg_type, "content": content,
            "sender": "app", "create_time": str(int(time.time() * 1000)), "updated": False,
        }  # fmt: skip
        self.messages[mid] = message
        return message

    def _public(self, m: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "message_id": m["message_id"],
            "root_id": m.get("root_id"),
            "parent_id": m.get("parent_id"),
            "msg_type": m["msg_type"],
            "create_time": m["create_time"],
            "update_time": m["create_time"],
            "deleted": False,
            "updated": m.get("updated", False),
            "chat_id": m["chat_id"],
            "sender": {
                "id": self.app_id,
                "id_type": "app_id",
                "sender_type": "app",
                "tenant_key": TENANT_KEY,
            },
            "body": {"content": m["content"]},
        }

    # -- what people do: events and callbacks ---------------------------------------------

    def _envelope(
        self, event_type: str, event: dict[str, Any], event_id: str | None
    ) -> dict[str, Any]:
        return {
            "schema": "2.0",
            "header": {
                "event_id": event_id or secrets.token_hex(16), "token": self.verification_token,
                "create_time": str(int(time.time() * 1000)), "event_type": event_type,
                "tenant_key": TENANT_KEY, "app_id": self.app_id,
            },
            "event": event,
        }  # fmt: skip

    def encode(
        self, payload: Mapping[str, Any], *, sign_with: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers Feishu sends for ``payload``: encrypted and signed with the
        encrypt key when the app has one (``sign_with`` signs with another key, for tests)."""
        plain = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if not self.encrypt_key:
            return plain, headers
        body = json.dumps({"encrypt": encrypt(self.encrypt_key, plain)}).encode()
        timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
        key = sign_with if sign_with is not None else self.encrypt_key
        signature = hashlib.sha256((timestamp + nonce + key).encode() + body).hexdigest()
        headers.update({
            "X-Lark-Request-Timestamp": timestamp, "X-Lark-Request-Nonce": nonce,
            "X-Lark-Signature": signature,
        })  # fmt: skip
        return body, headers

    async def push(
        self,
        payload: Mapping[str, Any],
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        url: str | None = None,
    ) -> Delivery:
        """POST one envelope to kpibot's callback URL; the delivery as Feishu saw it."""
        target = url or self.callback_url
        if self.callback_transport is None and "//kpibot.test/" in target:
            raise RuntimeError("set callback_transport to kpibot's web app, or callback_url")
        if body is None:
            body, headers = self.encode(payload)
        header = payload.get("header") or {}
        started = time.monotonic()
        async with httpx.AsyncClient(
            transport=self.callback_transport, timeout=CEILING_S
        ) as client:
            response = await client.post(target, content=body, headers=headers)
        seconds = time.monotonic() - started
        try:
            answer: Any = response.json()
        except ValueError:
            answer = response.text
        delivery = Delivery(
            str(header.get("event_id", "")), str(header.get("event_type", payload.get("type", ""))),
            response.status_code, answer, seconds,
        )  # fmt: skip
        self.deliveries.append(delivery)
        return delivery

    def message_event(
        self, user: User, text: str, *, chat_id: str | None = None, mention: bool = True,
        event_id: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """``im.message.receive_v1``: ``user`` sends ``text`` in their private chat or a group
        (where a message that does not @kpibot reaches the app only with the group-read scope)."""
        group = chat_id is not None and chat_id in self.groups
        chat = chat_id or user.p2p_chat
        mentions: list[dict[str, Any]] = []
        shown = text
        if group and mention:
            shown = "@_user_1 " + text
            mentions = [
                {
                    "key": "@_user_1",
                    "id": {"open_id": self.bot_open_id, "union_id": "on_bot", "user_id": ""},
                    "name": "kpibot",
                    "tenant_key": TENANT_KEY,
                }
            ]
        mid = f"om_{next(self._ids):06d}{secrets.token_hex(6)}"
        content = json.dumps({"text": shown}, ensure_ascii=False)
        with self._lock:
            self.messages[mid] = {
                "message_id": mid,
                "chat_id": chat,
                "msg_type": "text",
                "content": content,
                "sender": user.open_id,
                "create_time": str(int(time.time() * 1000)),
            }
        event = {
            "sender": {
                "sender_id": {
                    "union_id": user.union_id,
                    "user_id": user.user_id,
                    "open_id": user.open_id,
                },
                "sender_type": "user",
                "tenant_key": TENANT_KEY,
            },
            "message": {
                "message_id": mid,
                "root_id": "",
                "parent_id": "",
                "create_time": str(int(time.time() * 1000)),
                "update_time": str(int(time.time() * 1000)),
                "chat_id": chat,
                "chat_type": "group" if group else "p2p",
                "message_type": "text",
                "content": content,
                "mentions": mentions,
                "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Lark/7.30.5"
                + (f" LarkLocale/{user.locale} ttnet SDK-Version/7.30.8" if user.locale else ""),
            },
        }
        return self._envelope("im.message.receive_v1", event, event_id)

    async def send_text(self, user: User, text: str, **kwargs: Any) -> Delivery:
        return await self.push(self.message_event(user, text, **kwargs))

    def menu_event(
        self, user: User, event_key: str, *, event_id: str | None = None
    ) -> dict[str, Any]:
        """``application.bot.menu_v6``: ``user`` chose the bot-menu entry whose event key is
        ``event_key`` (set in the developer console, 1-30 characters); the event names no chat."""
        if not 1 <= len(event_key) <= 30:
            raise ValueError("Feishu allows a menu event key of 1-30 characters")
        event = {
            "operator": {
                "operator_name": user.name,
                "operator_id": {"union_id": user.union_id, "user_id": user.user_id,
                                "open_id": user.open_id},
            },
            "event_key": event_key,
            "timestamp": int(time.time()),
        }  # fmt: skip
        return self._envelope("application.bot.menu_v6", event, event_id)

    async def choose_menu(self, user: User, event_key: str, **kwargs: Any) -> Delivery:
        return await self.push(self.menu_event(user, event_key, **kwargs))

    def file_event(
        self, user: User, name: str, data: bytes, *, chat_id: str | None = None
    ) -> dict[str, Any]:
        """``im.message.receive_v1`` of a ``file`` message: ``user`` sends the file ``name``
        (its content ``{"file_key", "file_name"}``; Feishu's event carries no size)."""
        envelope = self.message_event(user, "", chat_id=chat_id, mention=False)
        message = envelope["event"]["message"]
        key = "file_v3_" + secrets.token_hex(10)
        content = json.dumps({"file_key": key, "file_name": name}, ensure_ascii=False)
        message.update(message_type="file", content=content, mentions=[])
        with self._lock:
            self.files[key] = (name, data)
            self.messages[message["message_id"]].update(msg_type="file", content=content)
        return envelope

    async def send_file(self, user: User, name: str, data: bytes, **kwargs: Any) -> Delivery:
        return await self.push(self.file_event(user, name, data, **kwargs))

    def press_event(
        self, user: User, message_id: str, label: str, *, form: Mapping[str, str] | None = None,
        event_id: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """``card.action.trigger``: ``user`` presses the button labelled ``label`` (or starting
        with it) on the card ``message_id``; a form's submit button sends ``form`` as
        ``form_value`` after the checks the Feishu client makes (required fields filled, a
        select's value one of its options)."""
        with self._lock:
            message = self.messages[message_id]
            card = json.loads(message["content"])
        found = find_button(card, label)
        if found is None:
            raise AssertionError(f"no button {label!r} on the card: {button_labels(card)}")
        element, in_form = found
        action: dict[str, Any] = {"tag": "button", "value": _callback_value(element)}
        if element.get("name"):
            action["name"] = element["name"]
        if in_form is not None:
            if element.get("form_action_type") != "submit":
                raise AssertionError("only a submit button sends a form")
            action["form_value"] = form_values(in_form, form or {})
        elif form:
            raise AssertionError(f"{label!r} is not in a form")
        event = {
            "operator": {"tenant_key": TENANT_KEY, "user_id": user.user_id, "open_id": user.open_id,
                         "union_id": user.union_id},
            "token": "c-" + secrets.token_hex(12),
            "action": action,
            "host": "im_message",
            "context": {"open_message_id": message_id, "open_chat_id": message["chat_id"]},
        }  # fmt: skip
        return self._envelope("card.action.trigger", event, event_id)

    async def press(self, user: User, message_id: str, label: str, **kwargs: Any) -> Delivery:
        payload = self.press_event(user, message_id, label, **kwargs)
        delivery = await self.push(payload)
        if delivery.status == 200 and isinstance(delivery.body, dict):
            replaced = (delivery.body.get("card") or {}).get("data")
            if replaced is not None:
                content = json.dumps(replaced, ensure_ascii=False)
                check_card(content, self.images)
                with self._lock:
                    self.messages[message_id]["content"] = content
        return delivery

    async def verify_url(self) -> Delivery:
        """The console's check of a new request URL: kpibot must echo the challenge."""
        challenge = secrets.token_hex(8)
        payload = {
            "challenge": challenge,
            "token": self.verification_token,
            "type": "url_verification",
        }
        return await self.push(payload)


def _refuse(verdict: Verdict) -> None:
    """A :class:`~tests.fakes.limits.Verdict` in Feishu's words: the app over its rate is HTTP
    429 code 99991400 with ``x-ogw-ratelimit-reset``; one chat (or card) over its rate is
    code 230020; a random server failure is a 5xx."""
    if verdict.status == 200:
        return
    if verdict.status != 429:
        raise FeishuError(1500, "internal error", verdict.status)
    if verdict.scope.startswith("bot:"):
        raise FeishuError(99991400, "request trigger frequency limit", 429, verdict.retry_after)
    raise FeishuError(230020, "This operation triggers the frequency limit.")


# -- cards ----------------------------------------------------------------------------------


def encrypt(key: str, plain: bytes) -> str:
    digest = hashlib.sha256(key.encode()).digest()
    iv = os.urandom(16)
    pad = 16 - len(plain) % 16
    cipher = AES.new(digest, AES.MODE_CBC, iv)
    return base64.b64encode(iv + cipher.encrypt(plain + bytes([pad]) * pad)).decode()


def _walk(elements: Iterable[Any], depth: int = 0) -> Iterable[tuple[dict[str, Any], int]]:
    for e in elements:
        if not isinstance(e, dict):
            raise FeishuError(
                230099, "Failed to create card content, ext=an element is not an object."
            )
        yield e, depth
        if e.get("tag") == "form":
            yield from _walk(e.get("elements") or [], depth + 1)
        elif e.get("tag") == "column_set":
            for column in e.get("columns") or []:
                yield from _walk([column], depth + 1)
        elif e.get("tag") == "column":
            yield from _walk(e.get("elements") or [], depth + 1)


def card_problems(content: str, images: Mapping[str, bytes] | None = None) -> list[str]:
    """Why Feishu would refuse this card (empty when it would take it)."""
    problems: list[str] = []
    if len(content.encode()) > CARD_BYTES_MAX:
        problems.append(f"card is {len(content.encode())} bytes, more than 30 KB")
    try:
        card = json.loads(content)
    except ValueError:
        return ["card content is not JSON"]
    if card.get("schema") != "2.0":
        return ["schema must be 2.0"]
    elements = (card.get("body") or {}).get("elements")
    if not isinstance(elements, list):
        return ["body.elements must be a list"]
    try:
        walked = list(_walk(elements))
    except FeishuError as exc:
        return [exc.msg]
    for e, _depth in walked:
        tag = e.get("tag")
        if tag not in CARD_TAGS:
            problems.append(f"unknown tag {tag!r}")
            continue
        check = ELEMENT_CHECKS.get(tag)
        if check is not None:
            problems += check(e, images)
    if len(walked) > COMPONENTS_MAX:
        problems.append(f"{len(walked)} components, more than {COMPONENTS_MAX}")
    return problems


def _div_problems(e: Mapping[str, Any], _images: Mapping[str, bytes] | None) -> list[str]:
    text = e.get("text") or {}
    if text.get("tag") not in ("plain_text", "lark_md") or not str(text.get("content", "")).strip():
        return ["a div needs non-empty text"]
    return []


def _button_problems(e: Mapping[str, Any], _images: Mapping[str, bytes] | None) -> list[str]:
    problems = []
    text = (e.get("text") or {}).get("content", "")
    if not str(text).strip():
        problems.append("a button needs a label")
    for behavior in e.get("behaviors") or []:
        if behavior.get("type") == "callback" and not isinstance(behavior.get("value"), dict):
            problems.append("a callback value must be an object")
        if behavior.get("type") == "open_url" and not str(
            behavior.get("default_url", "")
        ).startswith(("http://", "https://")):
            problems.append("open_url needs an http(s) default_url")
    return problems


def _img_problems(e: Mapping[str, Any], images: Mapping[str, bytes] | None) -> list[str]:
    if images is not None and e.get("img_key") not in images:
        return [f"img_key {e.get('img_key')!r} was not uploaded by this app"]
    return []


def _select_problems(e: Mapping[str, Any], _images: Mapping[str, bytes] | None) -> list[str]:
    problems = []
    options = e.get("options") or []
    if not options:
        problems.append("select_static needs options")
    values = [o.get("value") for o in options]
    if len(set(values)) != len(values):
        problems.append("select_static option values must be unique")
    if "initial_option" in e and e["initial_option"] not in values:
        problems.append("initial_option is not one of the options")
    return problems


def _input_problems(e: Mapping[str, Any], _images: Mapping[str, bytes] | None) -> list[str]:
    problems = []
    limit = e.get("max_length", 1000)
    if not isinstance(limit, int) or not 1 <= limit <= 1000:
        problems.append("input max_length must be 1-1000")
    if len(str(e.get("default_value", ""))) > (limit if isinstance(limit, int) else 1000):
        problems.append("input default_value is longer than max_length")
    return problems


ELEMENT_CHECKS: dict[str, Callable[[Mapping[str, Any], Mapping[str, bytes] | None], list[str]]] = {
    "div": _div_problems,
    "button": _button_problems,
    "img": _img_problems,
    "select_static": _select_problems,
    "input": _input_problems,
    "form": lambda e, _images: _form_problems(e),
}
"""What Feishu checks in an element of a given tag (the card's own checks are card_problems')."""


def _form_problems(form: Mapping[str, Any]) -> list[str]:
    problems = []
    if not form.get("name"):
        problems.append("a form needs a name")
    names: list[str] = []
    submit = False
    for e, _depth in _walk(form.get("elements") or []):
        if e.get("tag") == "form":
            problems.append("a form cannot hold a form")
        if e.get("tag") in (
            "input",
            "select_static",
            "multi_select_static",
            "date_picker",
            "checker",
        ):
            if not e.get("name"):
                problems.append(f"{e.get('tag')} in a form needs a name")
            names.append(str(e.get("name")))
        if e.get("tag") == "button" and e.get("form_action_type") == "submit":
            submit = True
            names.append(str(e.get("name")))
            if not e.get("name"):
                problems.append("a submit button needs a name")
    if len(set(names)) != len(names):
        problems.append(f"names in a form must be unique: {names}")
    if not submit:
        problems.append("a form needs a submit button")
    return problems


def check_card(content: str, images: Mapping[str, bytes] | None = None) -> None:
    problems = card_problems(content, images)
    if problems:
        raise FeishuError(230099, "Failed to create card content, ext=" + "; ".join(problems))


def _buttons(
    elements: Iterable[Any], form: dict[str, Any] | None = None
) -> Iterable[tuple[dict[str, Any], dict[str, Any] | None]]:
    for e in elements:
        if e.get("tag") == "button":
            yield e, form
        elif e.get("tag") == "form":
            yield from _buttons(e.get("elements") or [], e)
        elif e.get("tag") == "column_set":
            for column in e.get("columns") or []:
                yield from _buttons(column.get("elements") or [], form)


def button_labels(card: Mapping[str, Any]) -> list[str]:
    return [
        b["text"]["content"] for b, _f in _buttons((card.get("body") or {}).get("elements") or [])
    ]


def find_button(
    card: Mapping[str, Any], label: str
) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    found = list(_buttons((card.get("body") or {}).get("elements") or []))
    exact = [b for b in found if b[0]["text"]["content"] == label]
    return (exact or [b for b in found if b[0]["text"]["content"].startswith(label)] or [None])[0]


def _callback_value(button: Mapping[str, Any]) -> Any:
    for behavior in button.get("behaviors") or []:
        if behavior.get("type") == "callback":
            return behavior.get("value")
    return button.get("value")


def form_fields(form: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [e for e, _d in _walk(form.get("elements") or [])
            if e.get("tag") in ("input", "select_static", "multi_select_static")]  # fmt: skip


def form_values(form: Mapping[str, Any], given: Mapping[str, str]) -> dict[str, Any]:
    """What the Feishu client submits: each field's value (typed, chosen, or its default)."""
    fields = {str(e["name"]): e for e in form_fields(form)}
    unknown = set(given) - set(fields)
    if unknown:
        raise AssertionError(f"the form has no fields {sorted(unknown)}; it has {sorted(fields)}")
    values: dict[str, Any] = {}
    for name, e in fields.items():
        value = given.get(name)
        if value is None:
            value = (
                e.get("initial_option") if e["tag"] == "select_static" else e.get("default_value")
            )
        if e["tag"] == "select_static" and value is not None:
            options = [o["value"] for o in e.get("options") or []]
            if value not in options:
                label_match = [
                    o["value"]
                    for o in e.get("options") or []
                    if o["text"]["content"].startswith(str(value))
                ]
                if not label_match:
                    raise AssertionError(f"{value!r} is not an option of {name}: {options}")
                value = label_match[0]
        if (
            e["tag"] == "input"
            and value is not None
            and len(str(value)) > e.get("max_length", 1000)
        ):
            raise AssertionError(f"the client stops typing at {e.get('max_length')} characters")
        if (value is None or value == "") and e.get("required"):
            raise AssertionError(f"the client does not submit: {name} is required")
        if value is not None and value != "":
            values[name] = value
    return values


def card_text(card: Mapping[str, Any]) -> str:
    """A card's words as a person reads them (texts, then ``[image]``), lines joined."""
    lines: list[str] = []
    for e, _depth in _walk((card.get("body") or {}).get("elements") or []):
        if e.get("tag") == "div":
            lines.append(str((e.get("text") or {}).get("content", "")))
        elif e.get("tag") == "markdown":
            lines.append(str(e.get("content", "")))
        elif e.get("tag") == "img":
            lines.append("[image]")
    return "\n".join(lines)


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"{}")
    except ValueError:
        return {}
