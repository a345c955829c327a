"""Feishu: kpibot inside Feishu (Lark) chats, through ``lark-oapi``.

The composition root builds it and runs it:

    adapter = build_feishu(settings, router, address=people.open_id_of)
    app = build_web_app(routes=[*adapter.routes(), ...])   # callback mode needs the route
    await adapter.start()     # the long connection (lark.ws.Client), or wait for callbacks
    ...
    await adapter.stop()

Events arrive over the long connection, or at ``POST /feishu/events`` (the console's event
and callback request URL) where lark-oapi's ``EventDispatcherHandler`` decrypts them with
the encrypt key and checks the verification token and the signature; the URL check
(``url_verification``) is answered with its challenge. Nothing slow happens before the
answer: a ``card.action.trigger`` callback is answered at once (Feishu allows 3 s), the
work queued. A delivery seen before (same ``event_id``) is dropped here and, across
replicas, by the router (``Incoming.event_id``). An entry of the bot's menu
(``application.bot.menu_v6``) runs the command its event key names, as if typed.

Each request goes to the router (synchronous, in a worker thread), one person at a time
in arrival order; the replies are sent as cards (:mod:`bot.feishu.render`): after a
press, the first interactive reply replaces the pressed card in place (``PATCH
/im/v1/messages/:id``) and a plain answer leaves the pressed card without its buttons;
a reply a group may not see (private, ephemeral) goes to the person's private chat;
charts are uploaded (``/im/v1/images``) and shown in the card; an export is a file
message. Sends are paced under Feishu's limits (:mod:`bot.feishu.limits`) and each has a
``uuid``, so one retried after a refusal or a 5xx is not shown twice.

Every Open API call runs on the adapter's own threads (:data:`API_THREADS`), never on the
event loop: lark-oapi's ``a*`` methods build a new ``httpx.AsyncClient`` per call, and with
it a TLS context (the system's CA bundle read and parsed: 20-60 ms of the interpreter), and
fetch a missing tenant token synchronously; on the event loop that held every callback in
flight for seconds during a broadcast (issue 19's ack stall). lark-oapi's synchronous
methods do the same work on those threads, where loading the certificates releases the
interpreter; their own executor, so that no backlog of router calls delays a send. Each of
those threads keeps its connection to Feishu open (:mod:`bot.feishu.keepalive`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.feishu import render
from bot.feishu.limits import RATE_LIMITED, RETRIES, Pacer, retry_after
from bot.messenger import ask_router, ready_to_say
from commands.i18n import normalize_lang
from commands.messages import FileUnavailable, Incoming, Outgoing, Reply

if TYPE_CHECKING:
    from bot.feishu.settings import FeishuSettings

log = logging.getLogger(__name__)

EVENTS_PATH = "/feishu/events"
SCOPES = (
    "im:message.p2p_msg:readonly",
    "im:message.group_at_msg:readonly",
    "im:message:readonly",
    "im:message:send_as_bot",
    "im:resource",
)
"""The permissions (scopes) the code uses, as the README and ``deploy/feishu-scopes.json``
list them: receive private messages and group messages that @kpibot; download the file an
admin sends to import (``im:message:readonly``: the message-resource API); send, reply and
update its cards as the bot (``im:message:send_as_bot`` covers the card update too, so
``im:message:update`` is not asked for); upload images and files. ``tests/feishu/test_scopes.py``
derives them from the calls and events below."""
SEEN_EVENTS = 20_000
API_THREADS = 8
"""Open API calls in flight at once (each on a thread of the adapter's own, see above)."""
DOWNLOAD_TIMEOUT_S = 60.0
"""How long the router's thread waits for a file to download (20 MB at a slow 3 Mbit/s)."""


class RouterLike(Protocol):
    def handle(self, incoming: Incoming) -> list[Reply]: ...


class Bounded(OrderedDict[str, Any]):
    """A dict that forgets its oldest entries past ``capacity``."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.capacity:
            self.popitem(last=False)


class FeishuRefused(Exception):
    def __init__(self, code: int, msg: str) -> None:
        super().__init__(f"{code} {msg}")
        self.code, self.msg = code, msg


@dataclass(frozen=True)
class Source:
    """Where a request came from: where replies go, and what may be updated in place."""

    incoming: Incoming
    open_id: str
    chat_id: str
    message_id: str | None = None
    """The person's message (a group answer replies to it)."""
    pressed: str | None = None
    """The card whose button was pressed."""


class FeishuAdapter:
    """The running Feishu side of kpibot. Build it with :func:`build_feishu`."""

    def __init__(
        self,
        client: Any,
        router: RouterLike,
        *,
        app_id: str,
        app_secret: str,
        domain: str,
        events: str,
        verification_token: str,
        encrypt_key: str,
        default_lang: str,
        address: Callable[[int], str | None] | None = None,
        lang_of: Callable[[str], str | None] | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        import lark_oapi as lark

        self.client = client
        self.router = router
        self.app_id, self._app_secret, self.domain = app_id, app_secret, domain
        self.events = events
        self.default_lang = default_lang
        self.address = address
        self.lang_of = lang_of
        """open_id → the member's language, for what the cards themselves say (Send, Choose…)."""
        self.pacer = pacer or Pacer()
        self.dispatcher = (
            lark.EventDispatcherHandler.builder(encrypt_key, verification_token)
            # a message and a menu choice as they came (lark-oapi's customized event: the
            # header parsed, the event left the JSON dict), not built into the SDK's model
            # field by field before the ack; a card callback has no such form (its model read
            # back by _plain)
            .register_p2_customized_event("im.message.receive_v1", self._on_message)
            .register_p2_card_action_trigger(self._on_card)
            .register_p2_customized_event("application.bot.menu_v6", self._on_menu)
            .build()
        )
        self.handled = 0
        """Requests handled so far (tests wait on it)."""
        self.acked = 0
        self._seen: Bounded = Bounded(SEEN_EVENTS)
        self._chats: Bounded = Bounded(50_000)
        """chat_id → ``private`` | ``group`` (from events and from what kpibot sent)."""
        self._cards: Bounded = Bounded(5_000)
        self._message_chats: Bounded = Bounded(20_000)
        """message_id → its chat (of the messages kpibot sent)."""
        """message_id → the card kpibot last put there (to take its buttons off later)."""
        self._live: Bounded = Bounded(10_000)
        """private chat_id → the card whose buttons are live (an older one loses them)."""
        self._langs: Bounded = Bounded(50_000)
        """open_id → the client language their last message said (a card press says none)."""
        self._forms: Bounded = Bounded(5_000)
        """message_id → the whole form shown on that card (shown again with its errors)."""
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._send_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ws_thread: threading.Thread | None = None
        self._running = False
        self._on_limited: Callable[[], None] = lambda: None
        self._api = ThreadPoolExecutor(max_workers=API_THREADS, thread_name_prefix="feishu-api")
        """Where every Open API call runs (lark-oapi's synchronous methods), off the event loop."""

    def count_rate_limits(self, on_limited: Callable[[], None]) -> None:
        """Call ``on_limited`` for every "too fast" (230020, 99991400) Feishu answers."""
        self._on_limited = on_limited

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Fetch the tenant token once (so no send waits for it), then open the long
        connection unless Feishu posts events to :data:`EVENTS_PATH`."""
        self._loop = asyncio.get_running_loop()
        await self._loop.run_in_executor(self._api, self._warm_token)
        self._running = True
        if self.events == "long_connection":
            self._ws_thread = threading.Thread(
                target=self._long_connection, name="feishu-ws", daemon=True
            )
            self._ws_thread.start()
        log.info("feishu: app %s running (%s)", self.app_id, self.events)

    def _warm_token(self) -> None:
        from lark_oapi.core.token.manager import TokenManager

        TokenManager.get_self_tenant_token(self.client.config)

    def _long_connection(self) -> None:
        """lark.ws.Client on its own event loop (it keeps a module-level loop; this thread gets
        a fresh one), reconnecting by itself; a daemon thread, ended with the process."""
        import lark_oapi as lark
        from lark_oapi.ws import client as ws_client

        ws_client.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(ws_client.loop)
        ws = lark.ws.Client(
            self.app_id, self._app_secret, event_handler=self.dispatcher, domain=self.domain
        )
        try:
            ws.start()
        except Exception:  # noqa: BLE001 - logged; the HTTP path still works
            log.exception("feishu: the long connection stopped")

    async def stop(self) -> None:
        self._running = False
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), 10)

    async def wait_handled(self, count: int, *, timeout: float = 15.0) -> None:
        async with asyncio.timeout(timeout):
            while self.handled < count:
                await asyncio.sleep(0.01)

    # ------------------------------------------------------------------ the callback URL
    def routes(self) -> list[BaseRoute]:
        return [Route(EVENTS_PATH, self._callback, methods=["POST"])]

    async def _callback(self, request: Request) -> Response:
        from lark_oapi.core.model import RawRequest

        raw = RawRequest()
        raw.uri = request.url.path
        raw.body = await request.body()
        raw.headers = {_header_case(k): v for k, v in request.headers.items()}
        if not self._running:
            return Response(b'{"msg":"starting"}', status_code=503, media_type="application/json")
        answer = self.dispatcher.do(raw)
        status = answer.status_code or 200
        if status != 200:
            log.warning(
                "feishu: refused a callback (%s): %s", status, (answer.content or b"")[:200]
            )
            status = (
                401
                if b"verification" in (answer.content or b"")
                or b"signature" in (answer.content or b"")
                else 400
            )
        self.acked += 1
        return Response(answer.content or b"{}", status_code=status, media_type="application/json")

    # ------------------------------------------------------------------ events (any thread)
    def _fresh(self, event_id: str) -> bool:
        if not event_id or event_id in self._seen:
            log.info("feishu: dropped event %s delivered again", event_id)
            return False
        self._seen[event_id] = True
        return True

    def _on_message(self, data: Any) -> None:
        header = data.header
        event_id = str(getattr(header, "event_id", "") or "")
        event = _as_dict(data.event)
        message = event.get("message") or {}
        chat_id = str(message.get("chat_id") or "")
        if chat_id:
            self._chats[chat_id] = "private" if message.get("chat_type") == "p2p" else "group"
        incoming = render.to_incoming(event, event_id, None)
        if incoming is None or not self._fresh(event_id):
            return
        incoming = self._with_lang(incoming)
        if incoming.file is not None:
            incoming = replace(
                incoming, file=replace(incoming.file, fetch=self._fetcher(incoming.file.ref))
            )
        source = Source(incoming, incoming.user_id, chat_id, message_id=message.get("message_id"))
        self._enqueue(incoming, source)

    def _fetcher(self, ref: str) -> Callable[[], bytes]:
        """Downloads a file a person sent kpibot, for the router's thread: the message-resource
        API (``GET /open-apis/im/v1/messages/:message_id/resources/:file_key?type=file``, files
        up to 100 MB; the router refuses what is past
        ``commands.importing.chat.CHAT_FILE_MAX_BYTES``)."""
        message_id, _, file_key = ref.partition("/")

        async def download() -> bytes:
            from lark_oapi.api.im.v1 import GetMessageResourceRequest

            request = (
                GetMessageResourceRequest.builder()
                .message_id(message_id).file_key(file_key).type("file").build()
            )  # fmt: skip
            response = await self._call(self.client.im.v1.message_resource.get, request, pace=None)
            # the whole file is in memory by now (lark-oapi reads the body at once): the
            # router's check of the size answers an admin better than a refused download
            return bytes(response.file.getvalue()) if response.file is not None else b""

        def fetch() -> bytes:
            loop = self._loop
            if loop is None:
                raise FileUnavailable("the adapter has stopped")
            try:
                return asyncio.run_coroutine_threadsafe(download(), loop).result(
                    timeout=DOWNLOAD_TIMEOUT_S
                )
            except FileUnavailable:
                raise
            except Exception as exc:  # noqa: BLE001 - refused, a timeout, a dropped connection
                raise FileUnavailable(f"{type(exc).__name__}: {exc}") from exc

        return fetch

    def _on_card(self, data: Any) -> Any:
        from lark_oapi.event.callback.model.p2_card_action_trigger import (
            P2CardActionTriggerResponse,
        )

        event_id = str(getattr(data.header, "event_id", "") or "")
        event = _plain(data.event)
        chat_id = str((event.get("context") or {}).get("open_chat_id") or "")
        found = render.card_incoming(event, event_id, self._chats.get(chat_id, "group"))
        if found is not None and self._fresh(event_id):
            incoming, pressed = found
            incoming = self._with_lang(incoming)
            self._enqueue(incoming, Source(incoming, incoming.user_id, chat_id, pressed=pressed))
        return P2CardActionTriggerResponse({})

    def _on_menu(self, data: Any) -> None:
        """An entry of kpibot's bot menu chosen: its command runs as if the person had typed
        it in their private chat (the event names no chat: the replies go by open_id)."""
        event_id = str(getattr(data.header, "event_id", "") or "")
        incoming = render.menu_incoming(_as_dict(data.event), event_id)
        if incoming is None or not self._fresh(event_id):
            return
        incoming = self._with_lang(incoming)
        self._enqueue(incoming, Source(incoming, incoming.user_id, ""))

    def _with_lang(self, incoming: Incoming) -> Incoming:
        """The person's client language (from their message, else their last one), else the
        default (Chinese): what the router answers someone it does not know yet in."""
        if incoming.lang_hint:
            self._langs[incoming.user_id] = incoming.lang_hint
            return incoming
        return replace(incoming, lang_hint=self._langs.get(incoming.user_id) or self.default_lang)

    def _enqueue(self, incoming: Incoming, source: Source) -> None:
        loop = self._loop
        if loop is None:
            log.error("feishu: an event before start(); dropped")
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._spawn(incoming, source)
        else:
            loop.call_soon_threadsafe(self._spawn, incoming, source)

    def _spawn(self, incoming: Incoming, source: Source) -> None:
        task = asyncio.get_running_loop().create_task(self._handle(incoming, source))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _sending(self, chat: str) -> asyncio.Lock:
        lock = self._send_locks.get(chat)
        if lock is None:
            lock = asyncio.Lock()
            self._send_locks[chat] = lock
        return lock

    def _lock_for(self, open_id: str) -> asyncio.Lock:
        lock = self._locks.get(open_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[open_id] = lock
        return lock

    async def _handle(self, incoming: Incoming, source: Source) -> None:
        try:
            async with self._lock_for(source.open_id):
                replies = await ask_router(self.router, incoming)
                await self._send_replies(source, replies)
        except Exception:  # noqa: BLE001 - one request must not stop the others
            log.exception("feishu: event %s failed", incoming.event_id)
        finally:
            self.handled += 1

    # ------------------------------------------------------------------ sending
    async def _lang(self, incoming: Incoming) -> str:
        lang = None
        if self.lang_of is not None:
            with contextlib.suppress(Exception):  # the database: the default will do
                lang = await asyncio.to_thread(self.lang_of, incoming.user_id)
        return normalize_lang(lang or incoming.lang_hint, self.default_lang)

    async def _send_replies(self, source: Source, replies: Sequence[Reply]) -> None:
        if not replies:  # e.g. a delivery another replica handled: its card is theirs to change
            return
        incoming = source.incoming
        in_group = self._chats.get(source.chat_id, incoming.chat) == "group"
        pressed = source.pressed
        lang: str | None = (
            None  # looked up (the database) only for a card that says words of its own
        )
        for index, reply in enumerate(replies):
            private = in_group and (reply.private or reply.ephemeral)
            by_person = private or not source.chat_id  # a menu event names no chat
            target = ("open_id", source.open_id) if by_person else ("chat_id", source.chat_id)
            key = f"{incoming.event_id or ''}:{index}"
            drawn = await ready_to_say(self.router, reply)  # a chart: drawn after the text went
            if drawn is None:
                continue
            reply = drawn
            kept = self._forms.get(pressed) if (pressed and reply.errors) else None
            again = replace(kept, given=dict(incoming.values)) if kept is not None else None
            if lang is None and render.needs_lang(reply, again):
                lang = await self._lang(incoming)
            rendered = await self._render(reply, lang or self.default_lang, again)
            if rendered is None:
                continue
            try:
                if pressed is not None and not private:
                    if rendered.interactive and len(rendered.cards) == 1 and index == 0:
                        await self._patch(pressed, rendered.cards[0], rendered.form)
                        self._live[source.chat_id] = pressed
                        pressed = None
                        continue
                    await self._settle(pressed)
                    pressed = None
                quote = source.message_id if (in_group and not private) else None
                sent = await self._send_rendered(target, rendered, reply, key, quote=quote)
                if rendered.interactive and sent is not None:
                    await self._replace_live(sent)
            except FeishuRefused as err:
                log.error("feishu: %s %s refused a reply: %s", target[0], target[1], err)
        if pressed is not None:
            await self._settle(pressed)

    async def _render(
        self, reply: Reply, lang: str, form_again: render.FormAgain | None
    ) -> render.Rendered | None:
        image_key = None
        if reply.image is not None:
            image_key = await self._upload_image(reply.image.data)
        rendered = render.render(reply, lang, image_key=image_key, form_again=form_again)
        if not any(card["body"]["elements"] for card in rendered.cards) and reply.file is None:
            return None
        return rendered

    async def _send_rendered(
        self, target: tuple[str, str], rendered: render.Rendered, reply: Reply, key: str,
        *, quote: str | None = None,
    ) -> str | None:  # fmt: skip
        """Every card of one reply, then its file; the last message id."""
        last = None
        for number, card in enumerate(rendered.cards):
            if not card["body"]["elements"]:
                continue
            content = json.dumps(card, ensure_ascii=False)
            last = await self._send(target, "interactive", content, f"{key}:{number}", quote=quote)
            self._cards[last] = card
            if rendered.form:
                self._forms[last] = rendered.form
        if reply.file is not None:
            file_key = await self._upload_file(reply.file.filename, reply.file.data)
            content = json.dumps({"file_key": file_key})
            last = await self._send(target, "file", content, f"{key}:file", quote=quote)
        return last

    async def _send(
        self, target: tuple[str, str], msg_type: str, content: str, key: str, *, quote: str | None
    ) -> str:
        from lark_oapi.api.im.v1 import (
            CreateMessageRequest,
            CreateMessageRequestBody,
            ReplyMessageRequest,
            ReplyMessageRequestBody,
        )

        uuid = hashlib.sha256(f"{self.app_id}:{key}".encode()).hexdigest()[:40]
        kind, receive_id = target
        if quote:
            request: Any = (
                ReplyMessageRequest.builder()
                .message_id(quote)
                .request_body(
                    ReplyMessageRequestBody.builder()
                    .msg_type(msg_type)
                    .content(content)
                    .uuid(uuid)
                    .build()
                )
                .build()
            )
            call = self.client.im.v1.message.reply
        else:
            request = (
                CreateMessageRequest.builder()
                .receive_id_type(kind)
                .request_body(
                    CreateMessageRequestBody.builder()
                    .receive_id(receive_id)
                    .msg_type(msg_type)
                    .content(content)
                    .uuid(uuid)
                    .build()
                )
                .build()
            )
            call = self.client.im.v1.message.create
        async with self._sending(receive_id):  # one at a time to a chat: in order
            response = await self._call(call, request, pace=receive_id)
        data = response.data
        chat_id = getattr(data, "chat_id", None)
        if chat_id and kind == "open_id":
            self._chats[chat_id] = "private"
        if chat_id:
            self._message_chats[str(data.message_id)] = chat_id
        return str(data.message_id)

    async def _call(self, call: Callable[..., Any], request: Any, *, pace: str | None) -> Any:
        """One API call (a synchronous lark-oapi method, run on :attr:`_api`): paced, and
        tried again after Feishu's "too fast" or a 5xx."""
        loop = asyncio.get_running_loop()
        for attempt in range(1, RETRIES + 1):
            if pace is not None:
                await self.pacer.wait(pace)
            try:
                response = await loop.run_in_executor(self._api, call, request)
            except Exception as exc:  # noqa: BLE001 - a dropped connection: try again
                if attempt == RETRIES:
                    raise FeishuRefused(-1, f"{type(exc).__name__}: {exc}") from exc
                await asyncio.sleep(0.5 * attempt)
                continue
            if response.success():
                return response
            raw = getattr(response, "raw", None)
            status = getattr(raw, "status_code", 0) or 0
            limited = response.code in RATE_LIMITED
            if limited:
                self._on_limited()
            retryable = limited or status >= 500
            if not retryable or attempt == RETRIES:
                raise FeishuRefused(int(response.code or -1), str(response.msg))
            wait = retry_after(int(response.code or 0), getattr(raw, "headers", None))
            log.warning(
                "feishu: %s (code %s); trying again in %.1f s", response.msg, response.code, wait
            )
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def _patch(
        self, message_id: str, card: dict[str, Any], form: render.FormAgain | None = None
    ) -> None:
        from lark_oapi.api.im.v1 import PatchMessageRequest, PatchMessageRequestBody

        content = json.dumps(card, ensure_ascii=False)
        request = (
            PatchMessageRequest.builder().message_id(message_id)
            .request_body(PatchMessageRequestBody.builder().content(content).build()).build()
        )  # fmt: skip
        await self._call(self.client.im.v1.message.patch, request, pace=f"patch:{message_id}")
        self._cards[message_id] = card
        if form:
            self._forms[message_id] = form
        else:
            self._forms.pop(message_id, None)

    async def _replace_live(self, message_id: str) -> None:
        """A new card with buttons in a private chat: the one before it loses its buttons."""
        chat_id = self._message_chats.get(message_id)
        if chat_id is None or self._chats.get(chat_id) != "private":
            return
        previous = self._live.get(chat_id)
        self._live[chat_id] = message_id
        if previous is not None and previous != message_id:
            await self._settle(previous)

    async def _settle(self, message_id: str) -> None:
        """The pressed card keeps its words and loses its buttons (its answer came anew)."""
        card = self._cards.get(message_id)
        if card is None:
            return
        calm = render.settled(card)
        if calm == card or not calm["body"]["elements"]:
            return
        try:
            await self._patch(message_id, calm)
        except FeishuRefused as err:
            log.info("feishu: card %s not settled: %s", message_id, err)

    async def _upload_image(self, data: bytes) -> str:
        from lark_oapi.api.im.v1 import CreateImageRequest, CreateImageRequestBody

        request = (
            CreateImageRequest.builder()
            .request_body(
                CreateImageRequestBody.builder()
                .image_type("message")
                .image(_part("chart.png", data, "image/png"))
                .build()
            )
            .build()
        )
        response = await self._call(self.client.im.v1.image.create, request, pace=None)
        return str(response.data.image_key)

    async def _upload_file(self, filename: str, data: bytes) -> str:
        from lark_oapi.api.im.v1 import CreateFileRequest, CreateFileRequestBody

        request = (
            CreateFileRequest.builder()
            .request_body(
                CreateFileRequestBody.builder()
                .file_type(_file_type(filename))
                .file_name(filename)
                .file(_part(filename, data, "application/octet-stream"))
                .build()
            )
            .build()
        )
        response = await self._call(self.client.im.v1.file.create, request, pace=None)
        return str(response.data.file_key)

    # ------------------------------------------------------------------ messages kpibot starts
    async def send_outgoing(self, outgoing: Outgoing) -> str | None:
        """A reminder or a broadcast to a member's private chat; the message id, or ``None``
        when the member has no Feishu account linked."""
        if self.address is None:
            raise RuntimeError("send_outgoing needs build_feishu(address=...)")
        open_id = await asyncio.to_thread(self.address, outgoing.member_id)
        if not open_id:
            return None
        lang = self.default_lang
        if render.needs_lang(outgoing.reply):
            lang = await self._lang(Incoming(platform="feishu", user_id=open_id))
        rendered = await self._render(outgoing.reply, lang, None)
        if rendered is None:
            return None
        try:
            return await self._send_rendered(
                ("open_id", open_id), rendered, outgoing.reply, f"out:{outgoing.key}"
            )
        except FeishuRefused as err:
            log.warning(
                "feishu: outgoing %s to member %s refused: %s",
                outgoing.key,
                outgoing.member_id,
                err,
            )
            return None


# ---------------------------------------------------------------------- helpers


def _header_case(name: str) -> str:
    """Starlette lower-cases header names; lark-oapi looks them up as ``X-Lark-Signature``."""
    return "-".join(part.capitalize() for part in name.split("-"))


def _as_dict(event: Any) -> dict[str, Any]:
    """A customized event's ``event``: the JSON object Feishu sent (anything else: empty)."""
    return event if isinstance(event, dict) else {}


def _plain(model: Any) -> dict[str, Any]:
    """An SDK event model as the JSON it was made from (the fields the model knows), read off
    the model's attributes: what lark-oapi's ``JSON.marshal`` and a parse of it give, without
    the marshal's deep copy of every object and the second JSON parse (about a third of a
    callback's CPU before the ack, issue 19)."""
    loaded = _fields(model)
    return loaded if isinstance(loaded, dict) else {}


def _fields(value: Any, *, drop_none: bool = True) -> Any:
    """As ``JSON.marshal`` writes it: a model's ``None`` fields left out, and those of the dicts
    below it (not of a dict in a list, which the SDK's encoder writes as it is)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_fields(item, drop_none=False) for item in value]
    if isinstance(value, dict):
        return {key: _fields(item, drop_none=drop_none) for key, item in value.items()
                if item is not None or not drop_none}  # fmt: skip
    if hasattr(value, "__dict__"):
        return _fields(vars(value))
    return value


def _part(filename: str, data: bytes, content_type: str) -> Any:
    """A file of a multipart upload as lark-oapi's synchronous methods pass it on (to
    requests-toolbelt's encoder): with its name and type, as a browser sends a file."""
    return (filename, io.BytesIO(data), content_type)


def _file_type(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return {"pdf": "pdf", "doc": "doc", "docx": "doc", "xls": "xls", "xlsx": "xls", "csv": "stream",
            "ppt": "ppt", "pptx": "ppt", "mp4": "mp4"}.get(ext, "stream")  # fmt: skip


def build_feishu(
    settings: FeishuSettings,
    router: RouterLike,
    *,
    default_lang: str | None = None,
    address: Callable[[int], str | None] | None = None,
    lang_of: Callable[[str], str | None] | None = None,
    pacer: Pacer | None = None,
    timeout_s: float = 10.0,
) -> FeishuAdapter:
    """The Feishu adapter from the settings; nothing connects until :meth:`FeishuAdapter.start`."""
    import lark_oapi as lark

    from bot.feishu import keepalive

    if not settings.feishu_app_id or settings.feishu_app_secret is None:
        raise ValueError("FEISHU_APP_ID and FEISHU_APP_SECRET must be set")
    secret = settings.feishu_app_secret.get_secret_value()
    token = (
        settings.feishu_verification_token.get_secret_value()
        if settings.feishu_verification_token
        else ""
    )
    key = settings.feishu_encrypt_key.get_secret_value() if settings.feishu_encrypt_key else ""
    if settings.feishu_events == "callback" and not (token and key):
        raise ValueError(
            "FEISHU_EVENTS=callback needs FEISHU_VERIFICATION_TOKEN and FEISHU_ENCRYPT_KEY"
        )
    keepalive.install()  # every Open API call on a kept-alive connection
    client = (
        lark.Client.builder()
        .app_id(settings.feishu_app_id)
        .app_secret(secret)
        .domain(settings.feishu_domain.rstrip("/"))
        .timeout(timeout_s)
        .log_level(lark.LogLevel.WARNING)
        .build()
    )
    return FeishuAdapter(
        client, router, app_id=settings.feishu_app_id, app_secret=secret,
        domain=settings.feishu_domain.rstrip("/"), events=settings.feishu_events,
        verification_token=token, encrypt_key=key,
        default_lang=default_lang or settings.feishu_default_lang, address=address, lang_of=lang_of,
        pacer=pacer,
    )  # fmt: skip
