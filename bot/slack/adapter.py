"""kpibot inside Slack: a slack-bolt ``AsyncApp`` in front of the platform-neutral router.

Every request is acknowledged at once (well inside Slack's 3 seconds); the router runs
in a worker thread and its replies arrive afterwards through the ``response_url`` or a
DM. The one exception is a modal submission: Slack shows validation errors only in the
ack itself, so the adapter waits for the router up to ``ack_budget`` seconds. When the
answer comes later than that, the ack turns the modal into a "checking and saving your
answers" view, and ``views.update`` then shows the answer in the same modal: the form
again with the answers given and each error under its input, the next form, or what
kpibot said (which the DM gets too, as the record). A modal closed meanwhile gets its
answer in the DM instead.

    adapter = build_slack(settings, router)
    web = build_web_app(routes=adapter.routes())     # HTTP mode: POST /slack/events
    await adapter.start()                             # Socket Mode when SLACK_APP_TOKEN is set
    ...
    await adapter.stop()

Payload parsing and Block Kit live in :mod:`bot.slack.render`; this module only routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urlparse

import aiohttp
from slack_bolt import BoltResponse
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.stateless import StatelessOAuthStateStore
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.bodies import DEFAULT_MAX_BODY_BYTES, read_capped
from bot.messenger import ask_router, ready_to_say
from bot.slack import render
from bot.slack.limits import (
    PacedWebClient,
    PausingRateLimitRetryHandler,
    RateLimitCounter,
    SlackPacing,
    TurnTooFar,
    best_effort,
    paced,
)  # fmt: skip
from bot.slack.oauth import BOT_SCOPES, SlackOAuth, ThreadedInstallationStore
from bot.slack.people import SlackPeople
from commands.i18n import normalize_lang, translator
from commands.importing.chat import CHAT_FILE_MAX_BYTES
from commands.messages import FileUnavailable, Incoming, Outgoing, Reply

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from sqlalchemy.engine import Engine

    from bot.inbox import Inbox
    from bot.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["BOT_SCOPES", "SlackAdapter", "SlackOAuth", "Target", "build_slack", "retry_handlers"]

SEEN_EVENTS_KEPT = 10_000
LOCALE_TTL_S = 3600.0
COMMAND_FIELDS = (
    "command",
    "text",
    "user_id",
    "user_name",
    "team_id",
    "channel_id",
    "channel_name",
    "response_url",
    "trigger_id",
    "api_app_id",
    "enterprise_id",
    "is_enterprise_install",
)
"""What of a slash command's body is stored to answer it later (not the token)."""
INBOX_STORE_S = 1.0
"""Storing a command may take this long of Slack's 3 s before the ack goes without it."""
OUTBOX_EVENT = "kpibot_outbox"
"""The metadata event type on every outbox post: its payload carries the outbox key."""
SEND_TIMEOUT_S = 15
DOWNLOAD_TIMEOUT_S = 60
"""A file shared in the DM: the longest the router's thread waits for its bytes."""
UNREACHABLE = frozenset(
    {"user_not_found", "account_inactive", "user_disabled", "cannot_dm_bot", "user_is_restricted",
     "channel_not_found"}
)  # fmt: skip
"""Slack's answers that mean a person cannot get a DM from kpibot (``channel_not_found``:
``chat.postMessage`` to a user id that is no longer in the workspace)."""
REVOCATION_EVENTS = frozenset({"app_uninstalled", "tokens_revoked"})
"""Left to bolt's own listeners (with OAuth: the workspace's installation is deleted)."""
MODAL_FORMS = frozenset({"review", "peer"})
"""Forms shown on one screen (a modal); every other form is a DM conversation (the
self-review: the agent reads their own numbers first, then answers one by one)."""
BUSY_REQUESTS = 8
"""More requests than this being acknowledged at once: the adapter is busy. Acknowledging
everyone within Slack's 3 seconds comes first: a modal submission is acked at once with
"working on it" instead of waiting for the router, and the work after the acks (router,
replies) goes one request at a time until the burst is over, then all at once."""
WORKING_VIEW_MIN_S = 0.5
OPTIONS_BUDGET_S = 2.5
"""A picker's search answers within this of Slack's 3 seconds, or with no choices."""
"""A modal acked with "working on it" is updated no sooner than this after the ack: the
ack and a ``views.update`` travel apart, and an update that reached Slack first would be
hidden by the working view for good."""


class RouterLike(Protocol):
    """What the adapter needs of :class:`commands.router.Router` (sync, run in a thread)."""

    def handle(self, incoming: Incoming) -> list[Reply]: ...


Origin = Literal["command", "action", "message", "view", "outgoing"]


@dataclass(frozen=True)
class Target:
    """Where the replies to one request go."""

    origin: Origin
    user_id: str
    channel: str | None = None
    response_url: str | None = None
    trigger_id: str | None = None
    message_ts: str | None = None
    bot_dm: bool = False
    """``channel`` is the person's DM with kpibot (kpibot can post there)."""
    client: AsyncWebClient | None = field(default=None, compare=False, repr=False)
    """The request's Web API client (its workspace's bot token); ``None``: the adapter's own."""


def retry_handlers(
    *, rate_limit_retries: int = 5, server_error_retries: int = 2, pacing: SlackPacing | None = None
) -> list[Any]:
    """slack_sdk's own: wait ``Retry-After`` on 429 (when ``pacing`` is given, pausing the
    method for the whole workspace, or ``chat.postMessage`` for that channel), back off on
    500/503 and dropped connections."""
    limited: Any = (
        AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries)
        if pacing is None
        else PausingRateLimitRetryHandler(pacing, max_retry_count=rate_limit_retries)
    )
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=server_error_retries),
        limited,
        AsyncServerErrorRetryHandler(max_retry_count=server_error_retries),
    ]


class SlackAdapter:
    def __init__(
        self,
        *,
        router: RouterLike,
        bot_token: str | None,
        signing_secret: str | None,
        api_url: str = "https://slack.com/api/",
        app_token: str | None = None,
        default_lang: str = "zh",
        engine: Engine | None = None,
        ack_budget: float = 2.5,
        rate_limit_retries: int = 5,
        server_error_retries: int = 2,
        modal_forms: Iterable[str] = MODAL_FORMS,
        oauth: SlackOAuth | None = None,
        pace: bool = True,
    ) -> None:
        self.router = router
        self.oauth = oauth
        self.modal_forms = frozenset(modal_forms)
        self.people = SlackPeople(engine) if engine is not None else None
        self.default_lang = normalize_lang(default_lang)
        self.ack_budget = ack_budget
        self.app_token = app_token
        self.pacing = SlackPacing(enabled=pace)
        """Every Web API call waits for its turn under Slack's documented limits."""
        self.rate_limits = RateLimitCounter()
        """Sees every answer of every client of this adapter first (429s counted)."""
        self._retry_handlers = [
            self.rate_limits,
            *retry_handlers(
                rate_limit_retries=rate_limit_retries,
                server_error_retries=server_error_retries,
                pacing=self.pacing,
            ),
        ]
        if oauth is None and not bot_token:
            raise ValueError("Slack needs the bot token (SLACK_BOT_TOKEN) or an OAuth installation")
        self.client = PacedWebClient(
            token=bot_token if oauth is None else None,
            base_url=api_url if api_url.endswith("/") else api_url + "/",
            retry_handlers=self._retry_handlers,
            pacing=self.pacing,
        )
        if not signing_secret and not app_token:
            raise ValueError("Slack HTTP mode needs the signing secret (SLACK_SIGNING_SECRET)")
        self.http_mode = bool(signing_secret)
        extra: dict[str, Any] = {}
        if oauth is not None:
            store = oauth.installation_store
            self._installations = (
                store
                if isinstance(store, AsyncInstallationStore)
                else ThreadedInstallationStore(store)
            )
            extra["oauth_settings"] = AsyncOAuthSettings(
                client_id=oauth.client_id, client_secret=oauth.client_secret,
                scopes=list(oauth.scopes), installation_store=self._installations,
                installation_store_bot_only=True, redirect_uri=oauth.redirect_uri,
                authorization_url=oauth.authorization_url,
                state_store=StatelessOAuthStateStore(
                    expiration_seconds=oauth.state_expiration_s, signing_secret=oauth.state_secret
                ),
            )  # fmt: skip
        self.app = AsyncApp(
            **extra,
            client=self.client,
            signing_secret=signing_secret or "",
            # Socket Mode only: nothing arrives over HTTP, so there is nothing to verify;
            # routes() then offers no endpoint at all.
            request_verification_enabled=self.http_mode,
            process_before_response=False,
            raise_error_for_unhandled_request=False,
        )
        self._handler = AsyncSlackRequestHandler(self.app)
        self._verifier = SignatureVerifier(signing_secret) if signing_secret else None
        self.max_body_bytes = DEFAULT_MAX_BODY_BYTES
        self._socket: AsyncSocketModeHandler | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.in_flight = 0
        """Requests being dispatched by bolt, up to their ack (HTTP mode and Socket Mode)."""
        self._turns = asyncio.Condition()
        """Work after an ack waits here for its turn while the adapter is busy."""
        self._trickling = 0
        self._locales: dict[str, tuple[str | None, float]] = {}
        self._dms: dict[str, str] = {}
        self._live: dict[str, tuple[str, dict[str, Any]]] = {}
        self._senders: dict[str | None, tuple[asyncio.AbstractEventLoop, AsyncWebClient]] = {}
        self._session_loop: asyncio.AbstractEventLoop | None = None
        """The event loop of the request-path client's shared session (:meth:`_share_session`)."""
        """One sending client per workspace, with one HTTP session kept open (per event loop)."""
        self.inbox: Inbox | None = None
        """``bot.inbox.Inbox`` (set by the composition root): slash commands stored before the
        ack."""
        self._addresses: dict[int, tuple[str, str | None]] = {}
        """Addresses the outbox sender already looked up (:meth:`remember_address`), used once."""
        self._register()

    # -- wiring ------------------------------------------------------------------------

    def _register(self) -> None:
        commands = re.compile("^(" + "|".join(re.escape(c) for c in render.SLASH_COMMANDS) + ")$")
        self.app.command(commands)(self._on_command)
        self.app.action(re.compile(".+"))(self._on_action)
        self.app.options(re.compile(".+"))(self._on_options)
        self.app.view(render.MODAL_CALLBACK_ID)(self._on_view)
        self.app.use(self._on_event)
        dispatch = self.app.async_dispatch  # both request handlers call it; it returns the ack

        async def counted(req: Any) -> BoltResponse:
            self._request_started()
            try:
                return await dispatch(req)
            finally:
                await self._request_acked()

        self.app.async_dispatch = counted  # type: ignore[method-assign]
        self.app.error(self._on_error)
        if self.oauth is not None:
            self.app.enable_token_revocation_listeners()

    def count_rate_limits(self, on_429: Callable[[], None]) -> None:
        """Call ``on_429`` for every 429 Slack answers any of this adapter's clients."""
        self.rate_limits.on_429 = on_429

    def routes(self) -> list[BaseRoute]:
        """HTTP mode: commands, interactivity and events all on ``POST /slack/events``
        (none without a signing secret: an unverifiable endpoint is not offered)."""
        if not self.http_mode:
            return []

        async def slack(request: Request) -> Response:
            if request.method == "POST":
                refused = await self._front_door(request)
                if refused is not None:
                    return refused
            return await self._handler.handle(request)

        routes: list[BaseRoute] = [Route("/slack/events", slack, methods=["POST"])]
        if self.oauth is not None:
            routes += [
                Route("/slack/install", slack, methods=["GET"]),
                Route("/slack/oauth_redirect", slack, methods=["GET"]),
            ]
        return routes

    def _share_session(self) -> None:
        """One HTTP session, on the serving event loop, for the Web API calls made while
        serving: bolt hands each request a client carrying the app client's session, and
        without one slack_sdk opens a session and a TCP (and TLS) connection for every call
        (about a seventh of the front's CPU at month start, issue 16)."""
        loop = asyncio.get_running_loop()
        session = self.client.session
        if self._session_loop is loop and session is not None and not session.closed:
            return
        self.client.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))
        self._session_loop = loop

    async def _front_door(self, request: Request) -> Response | None:
        """Before bolt sees a request: the body capped, the signature checked on the raw bytes
        (nothing is parsed before), then the payload parsed once to refuse what bolt would
        choke on (bad JSON, a modal's private_metadata that is not ours) with 400, not 500."""
        self._share_session()
        body = await read_capped(request, self.max_body_bytes)
        if body is None:
            return PlainTextResponse("request body too large", status_code=413)
        if self._verifier is None or not self._verifier.is_valid_request(
            body, dict(request.headers)
        ):
            log.info("slack: refused a request with a missing or wrong signature")
            return PlainTextResponse("invalid request", status_code=401)
        problem = render.malformed(body, request.headers.get("content-type", ""))
        if problem:
            log.info("slack: refused a malformed signed request: %s", problem)
            return PlainTextResponse("malformed request", status_code=400)
        request._body = body  # bolt's handler reads it again through request.body()
        return None

    async def start(self) -> None:
        """Connect in Socket Mode when an app-level token is set; HTTP mode needs nothing."""
        if not self.app_token:
            return
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        self._share_session()
        self._socket = AsyncSocketModeHandler(self.app, self.app_token, web_client=self.client)
        await self._socket.connect_async()  # type: ignore[no-untyped-call]

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        await self.idle()
        await self.close_sessions()

    async def close_sessions(self) -> None:
        """Close the HTTP sessions of the sending clients (those of this event loop)."""
        loop = asyncio.get_running_loop()
        for key, (owner, client) in list(self._senders.items()):
            if owner is loop and client.session is not None and not client.session.closed:
                await client.session.close()
            self._senders.pop(key, None)
        session = self.client.session
        if self._session_loop is loop and session is not None and not session.closed:
            await session.close()
            self.client.session, self._session_loop = None, None

    async def idle(self) -> None:
        """Wait until every reply that was started has been delivered (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Start work after an ack: once the acks of a burst are out (see BUSY_REQUESTS)."""
        task = asyncio.get_running_loop().create_task(self._after_acks(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _busy(self) -> bool:
        return self.in_flight > BUSY_REQUESTS

    def _request_started(self) -> None:
        self.in_flight += 1

    async def _request_acked(self) -> None:
        self.in_flight -= 1
        if self.in_flight == BUSY_REQUESTS:  # the burst is over: everyone's turn
            async with self._turns:
                self._turns.notify_all()

    async def _after_acks(self, work: Coroutine[Any, Any, Any]) -> Any:
        """Run ``work`` now, or while the adapter is busy, when its turn comes (one at a time)."""
        if not self._busy():
            return await work
        async with self._turns:
            await self._turns.wait_for(lambda: not self._busy() or self._trickling == 0)
            trickle = self._busy()
            self._trickling += trickle
        try:
            return await work
        finally:
            if trickle:
                async with self._turns:
                    self._trickling -= 1
                    self._turns.notify(1)

    # -- listeners: ack first, then work -----------------------------------------------

    async def _on_command(self, ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        row_id = await self._store_command(body)
        await ack()
        client = self._paced(client)
        incoming = render.incoming_from_command(body)
        target = Target(
            "command", incoming.user_id, incoming.chat_id,
            response_url=body.get("response_url"), trigger_id=body.get("trigger_id"), client=client,
        )  # fmt: skip
        self._spawn(self._serve_stored(incoming, target, row_id))

    async def _store_command(self, body: dict[str, Any]) -> int | None:
        """A slash command is acked before its work: its body is stored first (the inbox),
        so that a replica dying meanwhile leaves it to another to answer."""
        if self.inbox is None or not body.get("trigger_id"):
            return None
        keep = {k: body.get(k) for k in COMMAND_FIELDS if k in body}
        try:
            return await self.inbox.store(
                "slack", str(body["trigger_id"]), keep, timeout=INBOX_STORE_S
            )
        except Exception as exc:  # noqa: BLE001 - the router will say the database is down
            log.warning("slack: command not stored before the ack (%s)", exc)
            return None

    async def _serve_stored(self, incoming: Incoming, target: Target, row_id: int | None) -> None:
        try:
            await self._serve(incoming, target)
        finally:
            if self.inbox is not None:
                await self.inbox.done(row_id)

    async def recover(self, row: Any, given_up: bool) -> None:
        """A command a replica acked and did not answer (it died): answer it now through its
        ``response_url`` (valid for 30 minutes), or say it could not be done."""
        body = dict(row.payload)
        incoming = dataclasses.replace(render.incoming_from_command(body), recovered=True)
        client = await self.client_for(body.get("team_id"))
        target = Target("command", incoming.user_id, incoming.chat_id,
                        response_url=body.get("response_url"), client=client)  # fmt: skip
        if given_up:
            _ = translator(self._lang_guess(incoming.user_id))
            text = _("Sorry, I could not finish your command ({text}). Please send it again.",
                     text=f"{body.get('command', '')} {body.get('text', '')}".strip())  # fmt: skip
            if target.response_url:
                await self._respond(
                    target.response_url, Reply(text=text, ephemeral=True), ephemeral=True
                )
            return
        self._spawn(self._serve_stored(incoming, target, row.id))

    async def _on_action(
        self, ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        if body.get("type") != "block_actions":
            return
        client = self._paced(client)
        incoming = render.incoming_from_action(body, action)
        container = body.get("container") or {}
        message = body.get("message") or {}
        bot_dm = (
            incoming.chat == "private"
            and not container.get("is_ephemeral")
            and container.get("type") != "view"
        )
        target = Target(
            "action",
            incoming.user_id,
            incoming.chat_id,
            response_url=body.get("response_url"),
            trigger_id=body.get("trigger_id"),
            message_ts=container.get("message_ts") or message.get("ts"),
            bot_dm=bot_dm,
            client=client,
        )
        pressed = None
        if bot_dm and message.get("blocks"):
            label = (
                action.get("text") or (action.get("selected_option") or {}).get("text") or {}
            ).get("text") or ""
            pressed = render.pressed_view(message, label)
        self._spawn(self._serve(incoming, target, pressed))

    async def _on_options(self, ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        """A picker's ``external_select`` asks for the people matching what was typed: the
        command that listed them runs again as this person (:attr:`Reply.relist`, so the list
        is as current and as scoped as a new ``/review``, on any replica), and the matching
        ones are the answer, within Slack's 3 seconds (none when it takes longer)."""
        found = render.picker_of(str(body.get("block_id") or ""), str(body.get("action_id") or ""))
        if body.get("type") != "block_suggestion" or found is None:
            await ack(options=[])
            return
        relist, action = found
        user = body.get("user") or {}
        incoming = Incoming(
            platform="slack", user_id=str(user.get("id") or ""), text=relist, chat="private",
            display_name=user.get("username") or user.get("name"),
        )  # fmt: skip
        try:
            async with asyncio.timeout(OPTIONS_BUDGET_S):
                replies = await self._ask_router(incoming, self._paced(client))
        except Exception:  # noqa: BLE001 - a late or failed search shows "no results", not an error
            log.warning(
                "slack: the choices of %s could not be listed in time", relist, exc_info=True
            )
            await ack(options=[])
            return
        buttons = [b for r in replies for b in r.buttons if b.action == action]
        lang = next(
            (
                render.reply_lang(r, self._lang_guess(incoming.user_id))
                for r in replies
                if r.buttons
            ),
            self._lang_guess(incoming.user_id),
        )
        await ack(**render.options_answer(buttons, str(body.get("value") or ""), lang))

    async def _on_event(
        self, body: dict[str, Any], next: Callable[[], Awaitable[Any]], client: AsyncWebClient
    ) -> BoltResponse | None:
        """A global middleware (after bolt's signature check): an Events API delivery is
        acked here and its work started before the HTTP answer leaves, so nothing of it
        is left to a listener that might run after the answer."""
        kind = (body.get("event") or {}).get("type")
        if body.get("type") != "event_callback" or kind in REVOCATION_EVENTS:
            await next()
            return None
        client = self._paced(client)
        incoming = render.incoming_from_message(body)
        if incoming is not None:
            target = Target(
                "message", incoming.user_id, incoming.chat_id, bot_dm=True, client=client
            )
            if incoming.file is not None:
                self._spawn(
                    self._serve_shared(incoming, target, client, render.shared_file_of(body) or {})
                )
            else:
                self._spawn(self._serve(incoming, target))
        return BoltResponse(status=200, body="")

    async def _serve_shared(
        self, incoming: Incoming, target: Target, client: AsyncWebClient, shown: Mapping[str, Any]
    ) -> None:
        """A file shared in the DM: its name and size from ``files.info`` when the event carried
        only its id (metadata, nothing downloaded), and a ``fetch`` the import calls if it wants
        the bytes."""
        file = incoming.file
        assert file is not None
        if not shown.get("name") or "size" not in shown:
            with contextlib.suppress(SlackApiError):
                shown = dict((await client.files_info(file=file.ref)).get("file") or {}) or shown
            file = replace(
                file, name=str(shown.get("name") or file.name), size=int(shown.get("size") or 0)
            )
        await self._serve(
            replace(incoming, file=replace(file, fetch=self._fetcher(client, shown))), target
        )

    def _fetcher(self, client: AsyncWebClient, shown: Mapping[str, Any]) -> Callable[[], bytes]:
        """Downloads a file shared in the DM, for the router's thread (it blocks until the
        adapter's event loop has the bytes)."""
        loop = asyncio.get_running_loop()

        def fetch() -> bytes:
            future = asyncio.run_coroutine_threadsafe(self._download(client, shown), loop)
            try:
                return future.result(timeout=DOWNLOAD_TIMEOUT_S)
            except FileUnavailable:
                raise
            except Exception as exc:  # a timeout, a dropped connection, Slack refusing files.info
                raise FileUnavailable(f"{type(exc).__name__}: {exc}") from exc

        return fetch

    async def _download(self, client: AsyncWebClient, shown: Mapping[str, Any]) -> bytes:
        """The bytes of a shared file as Slack gives them: ``url_private_download`` with the bot
        token in ``Authorization: Bearer`` (``files.info`` first when the event carried only the
        file's id). The token goes only to Slack's own host (or the configured API host)."""
        file = dict(shown)
        if not (file.get("url_private_download") or file.get("url_private")):
            file = dict((await client.files_info(file=str(shown["id"]))).get("file") or {})
        if int(file.get("size") or 0) > CHAT_FILE_MAX_BYTES:
            raise FileUnavailable("over the size limit")
        url = str(file.get("url_private_download") or file.get("url_private") or "")
        host = urlparse(url).hostname or ""
        if not (
            host == "files.slack.com"
            or host.endswith(".slack.com")
            or host == urlparse(client.base_url).hostname
        ):
            raise FileUnavailable(f"not a Slack file address: {host or url!r}")
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                url, headers={"Authorization": f"Bearer {client.token}"}, allow_redirects=False
            ) as answer,
        ):
            if answer.status != 200 or answer.content_type == "text/html":  # Slack's sign-in page
                raise FileUnavailable(f"Slack answered {answer.status} {answer.content_type}")
            data = bytearray()
            async for chunk in answer.content.iter_chunked(1 << 16):
                data += chunk
                if len(data) > CHAT_FILE_MAX_BYTES:
                    raise FileUnavailable("over the size limit")
            return bytes(data)

    async def _on_view(self, ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        client = self._paced(client)
        """A modal submission: inline errors if the router answers within the budget; past
        it, or at once while the replica is busy (:data:`BUSY_REQUESTS`), the modal says it
        is working on it and is updated when the answer comes."""
        incoming, meta = render.incoming_from_view(body)
        target = Target("view", incoming.user_id, meta.channel, client=client)
        view = body["view"]
        work = self._spawn(self._ask_router(incoming, client))
        done: set[asyncio.Task[list[Reply]]] = set()
        if not self._busy():  # busy: not even one turn of the event loop (a long one then)
            done, _pending = await asyncio.wait({work}, timeout=self.ack_budget)
        if not done and view.get("id"):
            lang = render.view_lang(view, self._lang_guess(incoming.user_id))
            await ack(response_action="update", view=render.working_view(view, lang))
            self._spawn(self._finish_late(work, view, lang, incoming, target))
            return
        if not done or work.exception() is not None:
            await ack()
            self._spawn(self._serve_later(work, incoming, target))
            return
        replies: list[Reply] = work.result()
        errors = render.view_errors(replies, render.input_block_ids(view))
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        form = next((r for r in replies if r.form), None)
        if form is not None:
            await ack(response_action="update", view=self._next_modal(form, meta, incoming))
            replies = [r for r in replies if r is not form]
        else:
            await ack()
        self._spawn(self._deliver_guarded(replies, target, incoming))

    async def _on_error(self, error: Exception, body: dict[str, Any]) -> None:
        ref = uuid.uuid4().hex[:8]
        log.error(
            "slack request %s failed before it reached kpibot (type=%s)",
            ref,
            body.get("type"),
            exc_info=error,
        )

    # -- the work after the ack --------------------------------------------------------

    async def _serve(
        self, incoming: Incoming, target: Target, pressed: dict[str, Any] | None = None
    ) -> None:
        if self._duplicate(incoming.event_id):
            log.info("slack: dropped a repeated delivery %s", incoming.event_id)
            return
        try:
            replies = await self._ask_router(incoming, self._client(target))
            replaced = any(r.replace and not r.private for r in replies)
            if pressed is not None and target.channel and target.message_ts and not replaced:
                if await self._replace_pressed(replies, target, pressed):
                    return
                if self._live.get(target.channel, ("",))[0] == target.message_ts:
                    del self._live[target.channel]  # it is tidied below, with what was chosen
                await self.deliver(replies, target)
                # the next question went first; showing what was pressed is tidying (Tier 3)
                self._spawn(
                    self._show_pressed(
                        self._client(target), target.channel, target.message_ts, pressed
                    )
                )
                return
            await self.deliver(replies, target)
        except Exception:
            await self._apologise(incoming, target)

    async def _replace_pressed(
        self, replies: Sequence[Reply], target: Target, pressed: dict[str, Any]
    ) -> bool:
        """Answer a press in the DM by replacing the pressed message through the press's
        ``response_url`` (``replace_original``): what was chosen, then the next question, in
        one call. An edit in place is not a new post, so the next question does not wait for
        Slack's one post a second in the DM, and the pressed buttons need no ``chat.update``
        (Tier 3). ``False`` when it cannot be done that way (no ``response_url``, a modal to
        open, more than one message holds, Slack refused it): the caller posts instead."""
        channel, ts = target.channel, target.message_ts
        if not (target.response_url and channel and ts):
            return False
        if self._modal_index(replies, target) is not None:
            return False
        message = render.pressed_and_next(pressed, replies)
        if message is None:
            return False
        session = self._client(target).session
        webhook = AsyncWebhookClient(
            target.response_url,
            timeout=SEND_TIMEOUT_S,
            session=session if session is not None and not session.closed else None,
            retry_handlers=[self.rate_limits],  # a 429 is counted; posting is the fallback
        )
        payload = {"replace_original": True, "response_type": "in_channel", **message}
        try:
            answer = await webhook.send_dict(payload)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("slack: the pressed message %s was not replaced (%r); posting", ts, exc)
            return False
        if answer.status_code != 200:
            log.info(
                "slack: the pressed message %s was not replaced (%s %s); posting",
                ts, answer.status_code, answer.body,
            )  # fmt: skip
            return False
        old = self._live.pop(channel, None)
        if any(b.get("type") == "actions" for b in message["blocks"]):
            self._live[channel] = (ts, message)
        if old is not None and old[0] != ts:  # an older question still has its buttons
            self._spawn(self._retire_buttons(self._client(target), channel, old))
        return True

    async def _serve_later(
        self, work: asyncio.Task[list[Reply]], incoming: Incoming, target: Target
    ) -> None:
        try:
            replies = await work
            await self.deliver(replies, target)
        except Exception:
            await self._apologise(incoming, target)

    async def _finish_late(
        self,
        work: asyncio.Task[list[Reply]],
        view: dict[str, Any],
        lang: str,
        incoming: Incoming,
        target: Target,
    ) -> None:
        """The answer to a modal submission acked with :func:`render.working_view`: the
        modal shows it (the form again with its errors, the next form, or what was said)
        and the DM gets what it gets in time; when the modal cannot be updated (the person
        closed it) every reply, errors too, goes to the DM."""
        acked = time.monotonic()
        try:
            replies = await work
        except Exception:
            apology = await self._apologise(incoming, target)
            await self._update_view(target, view, render.result_view(view, [apology], lang), acked)
            return
        try:
            rest = await self._show_late(replies, view, lang, incoming, target, acked)
        except Exception:  # a view kpibot could not make: the DM still gets every answer
            log.exception("slack: the answer to modal %s could not be shown in it", view["id"])
            rest = [render.errors_in_words(r, view) for r in replies]
        await self._deliver_guarded(rest, target, incoming)

    async def _show_late(
        self,
        replies: list[Reply],
        view: dict[str, Any],
        lang: str,
        incoming: Incoming,
        target: Target,
        acked: float,
    ) -> list[Reply]:
        """Show the router's answer in the submitted modal; the replies left for the DM."""
        errors = render.view_errors(replies, render.input_block_ids(view))
        form = next((r for r in replies if r.form), None)
        if errors:
            shown = await self._update_view(target, view, render.form_again(view, errors), acked)
            return [] if shown else [render.errors_in_words(r, view) for r in replies]
        if form is not None:
            meta = render.ModalMeta.load(view.get("private_metadata"))
            next_modal = self._next_modal(form, meta, incoming)
            shown = await self._update_view(target, view, next_modal, acked)
            return [r for r in replies if r is not form] if shown else replies
        texts = [r.text for r in replies if r.text.strip()]
        buttons = any(r.buttons for r in replies)
        result = render.result_view(view, texts, lang, buttons_in_dm=buttons)
        await self._update_view(target, view, result, acked)
        return replies  # the DM stays the record

    async def _update_view(
        self, target: Target, submitted: dict[str, Any], view: dict[str, Any], acked: float
    ) -> bool:
        """``views.update`` of a submitted modal; ``False`` when Slack refuses (the person
        closed it: ``not_found``) or cannot be reached, and the caller says it in the DM."""
        wait = acked + WORKING_VIEW_MIN_S - time.monotonic()
        if wait > 0:  # the ack's own update must land first, or it would hide the answer
            await asyncio.sleep(wait)
        try:
            await self._client(target).views_update(view_id=submitted["id"], view=view)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            error = exc.response.get("error") if isinstance(exc, SlackApiError) else repr(exc)
            log.info(
                "slack: modal %s not updated (%s); answering in the DM", submitted["id"], error
            )
            return False
        return True

    def _next_modal(
        self, form: Reply, meta: render.ModalMeta, incoming: Incoming
    ) -> dict[str, Any]:
        lang = render.reply_lang(form, self._lang_guess(incoming.user_id))
        return render.modal(form, self._meta(form, meta.channel), lang)

    async def _deliver_guarded(
        self, replies: Sequence[Reply], target: Target, incoming: Incoming
    ) -> None:
        try:
            await self.deliver(replies, target)
        except Exception:
            await self._apologise(incoming, target)

    def _paced(self, client: AsyncWebClient) -> AsyncWebClient:
        """Bolt's client for this request (its workspace's token), taking turns like ours."""
        return paced(client, self.pacing)

    def _client(self, target: Target) -> AsyncWebClient:
        return target.client or self.client

    async def _ask_router(self, incoming: Incoming, client: AsyncWebClient) -> list[Reply]:
        incoming = replace(incoming, lang_hint=await self._locale(client, incoming.user_id))
        replies = await ask_router(self.router, incoming)
        if render.asks_for_help(incoming):
            replies = [render.help_as_typed(r) for r in replies]
        return replies

    def _duplicate(self, event_id: str | None) -> bool:
        """Slack's retries (``X-Slack-Retry-Num``) and duplicates: the first one wins here;
        across replicas the router's ``processed_event`` table drops the rest."""
        if not event_id:
            return False
        if event_id in self._seen:
            return True
        self._seen[event_id] = None
        while len(self._seen) > SEEN_EVENTS_KEPT:
            self._seen.popitem(last=False)
        return False

    async def _locale(self, client: AsyncWebClient, user_id: str) -> str | None:
        """The person's Slack locale (``users.info``), a hint for people kpibot does not know
        yet; a linked member whose language kpibot keeps costs no ``users.info`` (Tier 4)."""
        cached = self._locales.get(user_id)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        lang: str | None = None
        if self.people is not None:
            try:
                lang = await asyncio.to_thread(self.people.lang_of, user_id)
            except Exception:
                log.warning("slack: the stored language of %s could not be read", user_id)
        if lang is None:
            try:
                answer = await client.users_info(user=user_id, include_locale=True)
                locale = (answer.get("user") or {}).get("locale")
                lang = normalize_lang(locale, self.default_lang) if locale else None
            except SlackApiError as exc:
                log.info("slack: no locale for %s (%s)", user_id, exc.response.get("error"))
        self._locales[user_id] = (lang, time.monotonic() + LOCALE_TTL_S)
        return lang

    def _lang_guess(self, user_id: str) -> str:
        cached = self._locales.get(user_id)
        return (cached[0] if cached else None) or self.default_lang

    async def _apologise(self, incoming: Incoming, target: Target) -> str:
        """The one error handler: log with a reference, tell the person that reference
        (the text said is returned)."""
        ref = uuid.uuid4().hex[:8]
        log.exception(
            "slack request %s failed (user=%s text=%r action=%r)",
            ref, incoming.user_id, incoming.text[:80], incoming.action,
        )  # fmt: skip
        lang: str | None = None
        if self.people is not None:
            try:
                lang = await asyncio.to_thread(self.people.lang_of, incoming.user_id)
            except Exception:  # the database may be what failed
                log.warning("slack request %s: the member's language is unknown", ref)
        _ = translator(lang or self._lang_guess(incoming.user_id))
        text = _(
            "Sorry, something went wrong on our side. Please try again; if it keeps happening, "
            "give the admin this reference: {ref}",
            ref=ref,
        )
        try:
            await self.deliver([Reply(text=text, ephemeral=True)], target)
        except Exception:
            log.exception("slack request %s: the apology could not be delivered either", ref)
        return text

    # -- delivering replies ------------------------------------------------------------

    async def deliver(self, replies: Sequence[Reply], target: Target) -> None:
        """Say each reply, in order, where it belongs; a one-screen form opens as a modal
        (with what was said just before it on top) while the trigger is fresh."""
        replies = list(replies)
        at = self._modal_index(replies, target)
        if at is not None:
            intro = [r for r in replies[:at] if render.text_only(r)]
            if await self._open_modal(replies[at], target, [r.text for r in intro]):
                replies = [r for r in replies[:at] if not render.text_only(r)] + replies[at + 1 :]
        for reply in replies:
            ready = await ready_to_say(self.router, reply)  # a chart: drawn after the text went
            if ready is not None:
                await self._say(ready, target)

    def _modal_index(self, replies: Sequence[Reply], target: Target) -> int | None:
        if not target.trigger_id or target.origin == "view":
            return None
        for i, reply in enumerate(replies):
            if reply.form and reply.form[0].form_id in self.modal_forms:
                return i
        return None

    async def _say(self, reply: Reply, target: Target) -> None:
        client = self._client(target)
        if reply.image is not None or reply.file is not None:
            await self._upload(client, reply, target)
        elif reply.replace and target.message_ts and target.channel and not reply.private:
            first, *rest = render.messages(reply)
            await client.chat_update(channel=target.channel, ts=target.message_ts, **first)
            for part in rest:
                await client.chat_postMessage(
                    channel=target.channel, unfurl_links=False, unfurl_media=False, **part
                )
        elif reply.private or target.origin in ("view", "outgoing"):
            await self._post(client, self._dm_address(target.user_id), reply)
        elif target.bot_dm and target.channel:
            await self._post(client, target.channel, reply)
        elif target.response_url:
            ephemeral = reply.ephemeral or target.origin == "action"
            await self._respond(target.response_url, reply, ephemeral=ephemeral)
        elif target.channel:
            await self._post(client, target.channel, reply)

    async def send(
        self, user_id: str, reply: Reply, *, team_id: str | None = None, key: str | None = None
    ) -> str | None:
        """Say something on kpibot's own initiative (a reminder, a broadcast) in a person's
        DM; returns the message ref ``"<channel>:<ts>"`` (``None`` for a file). ``team_id``
        picks the workspace when kpibot is installed in several (OAuth). ``key`` (the outbox
        row's) goes with the message as metadata, for :meth:`find_delivered`."""
        client = await self.client_for(team_id)
        if reply.image is not None or reply.file is not None:
            channel = await self._dm(client, user_id)
            target = Target("outgoing", user_id, channel, bot_dm=True, client=client)
            await self._upload(client, reply, target)
            return None
        metadata = {"event_type": OUTBOX_EVENT, "event_payload": {"key": key}} if key else None
        answer = await self._post(client, self._dm_address(user_id), reply, metadata=metadata)
        return f"{answer['channel']}:{answer['ts']}"

    async def find_delivered(self, outgoing: Outgoing, since: datetime) -> str | None:
        """The delivery check of a send in doubt: the ref of the message carrying this outbox
        key in the person's DM since ``since`` (``conversations.history`` with metadata), or
        ``None`` when it is not there (it did not arrive: it may be sent). Raises when Slack
        cannot be asked now."""
        found = self._addresses.pop(outgoing.member_id, None)
        if found is None:
            if self.people is None:
                raise RuntimeError(
                    "find_delivered needs the storage engine (build_slack(engine=...))"
                )
            found = await asyncio.to_thread(self.people.user_of, outgoing.member_id)
        if found is None:
            return None
        user_id, team_id = found
        client = await self.client_for(team_id)
        channel = await self._dm(client, user_id)
        cursor: str | None = None
        oldest = f"{max(since.timestamp() - 60.0, 0.0):.6f}"  # a minute of clock skew
        while True:
            answer = await client.conversations_history(
                channel=channel, oldest=oldest, include_all_metadata=True, limit=200, cursor=cursor
            )
            for message in answer.get("messages") or []:
                meta = message.get("metadata") or {}
                if (
                    meta.get("event_type") == OUTBOX_EVENT
                    and (meta.get("event_payload") or {}).get("key") == outgoing.key
                ):
                    return f"{channel}:{message['ts']}"
            cursor = ((answer.get("response_metadata") or {}).get("next_cursor")) or None
            if not answer.get("has_more") or not cursor:
                return None

    def remember_address(self, member_id: int, user_id: str, team_id: str | None) -> None:
        """The outbox sender already read the member's Slack user id and workspace while
        claiming: the next :meth:`send_outgoing` to them skips its own database lookup."""
        self._addresses[member_id] = (user_id, team_id)

    async def send_outgoing(self, outgoing: Outgoing) -> str | None:
        """Send a reminder or broadcast to a member by id (the outbox calls this); the
        message ref, or ``None`` when the member has no Slack account or Slack refuses
        to reach them (deactivated, gone); that is logged, not retried."""
        found = self._addresses.pop(outgoing.member_id, None)
        if found is None:
            if self.people is None:
                raise RuntimeError(
                    "send_outgoing needs the storage engine (build_slack(engine=...))"
                )
            found = await asyncio.to_thread(self.people.user_of, outgoing.member_id)
        if found is None:
            return None
        user_id, team_id = found
        try:
            return await self.send(user_id, outgoing.reply, team_id=team_id, key=outgoing.key)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error not in UNREACHABLE:
                raise
            log.warning(
                "slack: member %s (%s) cannot be reached: %s", outgoing.member_id, user_id, error
            )
            return None

    async def client_for(self, team_id: str | None) -> AsyncWebClient:
        """The Web API client of one workspace (the bot token, or its OAuth installation),
        made once per workspace with an HTTP session kept open: without one, slack_sdk
        opens and closes an aiohttp session (and a connection) for every call."""
        key = None if self.oauth is None else team_id
        loop = asyncio.get_running_loop()
        known = self._senders.get(key)
        session = known[1].session if known is not None else None
        if known is not None and known[0] is loop and session is not None and not session.closed:
            return known[1]
        if self.oauth is None:
            token = self.client.token
        else:
            if not team_id:
                raise ValueError("with several workspaces (OAuth) a message needs the team id")
            bot = await self._installations.async_find_bot(enterprise_id=None, team_id=team_id)
            if bot is None or not bot.bot_token:
                raise LookupError(f"kpibot is not installed in the Slack workspace {team_id}")
            token = bot.bot_token
        # No retry of a dropped connection here: the request may have been carried out, and
        # the outbox settles that (find_delivered) instead of posting it twice. A send ends
        # well within the outbox lease (SEND_TIMEOUT_S).
        sending = [
            h for h in self._retry_handlers if not isinstance(h, AsyncConnectionErrorRetryHandler)
        ]
        client = PacedWebClient(
            token=token,
            base_url=self.client.base_url,
            retry_handlers=sending,
            timeout=SEND_TIMEOUT_S,
            session=aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)),
            pacing=self.pacing,
        )
        if self.oauth is not None:
            # a token revoked or rotated is read again within a minute
            loop.call_later(60.0, self._forget_sender, key, client)
        self._senders[key] = (loop, client)
        return client

    def _forget_sender(self, key: str | None, client: AsyncWebClient) -> None:
        known = self._senders.get(key)
        if known is not None and known[1] is client:
            del self._senders[key]
        if client.session is not None and not client.session.closed:
            asyncio.get_running_loop().create_task(client.session.close())

    async def _dm(self, client: AsyncWebClient, user_id: str) -> str:
        """The person's DM channel id (for a file upload, which needs one):
        ``conversations.open`` (Tier 3) only when no message went there yet."""
        if user_id not in self._dms:
            answer = await client.conversations_open(users=user_id)
            self._dms[user_id] = str(answer["channel"]["id"])
        return self._dms[user_id]

    def _dm_address(self, user_id: str) -> str:
        """Where a DM is posted: its channel id once known, else the user id itself
        (``chat.postMessage`` to a user id posts in the app's DM with them and answers with
        the channel id), so no ``conversations.open`` is spent on a message."""
        return self._dms.get(user_id, user_id)

    async def _post(
        self,
        client: AsyncWebClient,
        channel: str,
        reply: Reply,
        *,
        metadata: dict[str, Any] | None = None,
    ) -> Any:
        """``chat.postMessage`` (several when the reply is longer than one message holds);
        in a DM only the newest message keeps its buttons (the form engine refuses an old
        button anyway): the next question goes out first, the old buttons are taken off
        afterwards, best-effort, without holding anything up."""
        payloads = render.messages(reply)
        if metadata is not None:  # the outbox key, on every part (find_delivered looks for it)
            payloads = [{**p, "metadata": metadata} for p in payloads]
        answer: Any = None
        for payload in payloads:
            answer = await client.chat_postMessage(
                channel=channel, unfurl_links=False, unfurl_media=False, **payload
            )
            if channel[:1] in ("U", "W") and answer.get("channel"):
                channel = self._dms.setdefault(channel, str(answer["channel"]))
        if bool(reply.buttons) and channel.startswith("D") and answer.get("ts"):
            old = self._live.pop(channel, None)
            self._live[channel] = (str(answer["ts"]), payloads[-1])
            if old is not None:
                self._spawn(self._retire_buttons(client, channel, old))
        return answer

    async def _show_pressed(
        self, client: AsyncWebClient, channel: str, ts: str, pressed: dict[str, Any]
    ) -> None:
        """The pressed message loses its buttons and shows what was chosen (best-effort)."""
        try:
            with best_effort():
                await client.chat_update(channel=channel, ts=ts, **pressed)
        except (SlackApiError, aiohttp.ClientError, TimeoutError, TurnTooFar) as exc:
            error = exc.response.get("error") if isinstance(exc, SlackApiError) else repr(exc)
            log.info("slack: could not show what was pressed on %s (%s)", ts, error)
        if self._live.get(channel, ("",))[0] == ts:
            del self._live[channel]

    async def _retire_buttons(
        self, client: AsyncWebClient, channel: str, old: tuple[str, dict[str, Any]]
    ) -> None:
        ts, payload = old
        blocks = [b for b in payload["blocks"] if b.get("type") != "actions"]
        try:
            with best_effort():
                await client.chat_update(
                    channel=channel, ts=ts, text=payload["text"], blocks=blocks
                )
        except (SlackApiError, aiohttp.ClientError, TimeoutError, TurnTooFar) as exc:  # tidying
            error = exc.response.get("error") if isinstance(exc, SlackApiError) else repr(exc)
            log.info("slack: could not take the old buttons off %s (%s)", ts, error)

    async def _respond(self, response_url: str, reply: Reply, *, ephemeral: bool) -> None:
        webhook = AsyncWebhookClient(response_url, retry_handlers=self._retry_handlers)
        payload = {
            "response_type": "ephemeral" if ephemeral else "in_channel",
            "replace_original": bool(reply.replace),
            "unfurl_links": False,
            "unfurl_media": False,
        }
        for i, part in enumerate(render.messages(reply)):  # a long reply: in several messages
            first = {"replace_original": False} if i else {}
            answer = await webhook.send_dict({**payload, **part, **first})
            if answer.status_code != 200:
                raise RuntimeError(f"response_url answered {answer.status_code}: {answer.body}")

    async def _upload(self, client: AsyncWebClient, reply: Reply, target: Target) -> None:
        """files upload v2 into the channel the request came from, or the DM when the reply
        is private or kpibot is not a member of that channel."""
        item = reply.image or reply.file
        assert item is not None
        alt = reply.image.alt if reply.image is not None else item.filename
        shared = not reply.private and target.origin in ("command", "message", "action")
        if shared and target.channel:
            channel = target.channel
        else:
            channel = await self._dm(client, target.user_id)
        upload: dict[str, Any] = {
            "file": item.data,
            "filename": item.filename,
            "title": alt or item.filename,
            "alt_txt": alt or None,
            "initial_comment": reply.text or None,
        }
        try:
            await client.files_upload_v2(channel=channel, **upload)
        except SlackApiError as exc:
            if exc.response.get("error") not in {"not_in_channel", "channel_not_found"}:
                raise
            channel = await self._dm(client, target.user_id)
            await client.files_upload_v2(channel=channel, **upload)
        if reply.buttons:
            await self._post(client, channel, replace(reply, text="", image=None, file=None))

    async def _open_modal(self, reply: Reply, target: Target, intro: Sequence[str]) -> bool:
        """``views.open``; ``False`` when the trigger expired (Slack allows 3 s), and the form
        is then asked in messages, question by question."""
        lang = render.reply_lang(reply, self._lang_guess(target.user_id))
        view = render.modal(reply, self._meta(reply, target.channel), lang, intro)
        try:
            await self._client(target).views_open(trigger_id=target.trigger_id, view=view)
        except SlackApiError as exc:
            if exc.response.get("error") not in {"expired_trigger_id", "invalid_trigger_id"}:
                raise
            log.info("slack: the trigger expired before the modal opened; asking in messages")
            return False
        return True

    @staticmethod
    def _meta(reply: Reply, channel: str | None) -> render.ModalMeta:
        first = reply.form[0]
        return render.ModalMeta(first.conversation_id, first.step, first.form_id, channel)


def build_slack(
    settings: Settings,
    router: RouterLike,
    *,
    engine: Engine | None = None,
    oauth: SlackOAuth | None = None,
    ack_budget: float = 2.5,
    rate_limit_retries: int = 5,
    server_error_retries: int = 2,
    modal_forms: Iterable[str] = MODAL_FORMS,
    pace: bool = True,
) -> SlackAdapter:
    """The adapter from the settings: ``SLACK_BOT_TOKEN`` (one workspace) or ``oauth``
    (several), ``SLACK_SIGNING_SECRET`` (HTTP mode) and/or ``SLACK_APP_TOKEN`` (Socket
    Mode), ``SLACK_API_URL``. ``engine`` lets it send :class:`Outgoing` messages by member
    id and apologise in the member's own language."""
    if settings.slack_bot_token is None and oauth is None:
        raise ValueError("Slack needs SLACK_BOT_TOKEN")
    if settings.slack_signing_secret is None and settings.slack_app_token is None:
        raise ValueError(
            "Slack needs SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode)"
        )
    secret, token, app_token = (
        settings.slack_signing_secret, settings.slack_bot_token, settings.slack_app_token
    )  # fmt: skip
    return SlackAdapter(
        router=router,
        bot_token=token.get_secret_value() if token is not None else None,
        signing_secret=secret.get_secret_value() if secret is not None else None,
        api_url=settings.slack_api_url,
        app_token=app_token.get_secret_value() if app_token is not None else None,
        default_lang=settings.default_lang,
        engine=engine,
        ack_budget=ack_budget,
        rate_limit_retries=rate_limit_retries,
        server_error_retries=server_error_retries,
        modal_forms=modal_forms,
        oauth=oauth,
        pace=pace,
    )
