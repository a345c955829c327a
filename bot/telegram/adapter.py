"""Telegram: kpibot inside Telegram chats, through python-telegram-bot.

The composition root builds it and runs it:

    adapter = build_telegram(settings, router, engine=engine)
    app = build_web_app(routes=[*adapter.routes(), ...])   # webhook mode needs the route
    await adapter.start()       # long polling, or setWebhook when TELEGRAM_WEBHOOK_URL is set
    ...
    await adapter.stop()

One PTB handler receives every update; :mod:`bot.telegram.render` turns it into an
:class:`~commands.messages.Incoming`, the router (synchronous, run in a worker thread)
answers with :class:`~commands.messages.Reply` objects, and this module sends them:
inline keyboards, the question message edited in place when a reply says
``replace``, charts as photos, private replies from a group moved to the private
chat (or a deep link when the person has not opened one), every callback query
answered. Conversation state stays in kpibot's database; PTB keeps none.

A 403 "blocked" marks the member unreachable and tells their manager once, instead of
retrying. 429 ``retry_after`` is waited out by the rate limiter (``max_retries``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import logging
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot import picker_search
from bot.messenger import ask_router, ready_to_say
from bot.telegram import render as tr
from bot.telegram.limits import Bounded, KpibotRateLimiter
from bot.telegram.people import TelegramPeople
from bot.telegram.request import AiohttpRequest
from commands import registry
from commands.context import Command
from commands.i18n import normalize_lang, translator
from commands.importing.chat import CHAT_FILE_MAX_BYTES
from commands.messages import Button, FileUnavailable, Incoming, Outgoing, Reply
from commands.permissions import role_may_use

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bot.inbox import Inbox
    from bot.settings import Settings

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
DOWNLOAD_TIMEOUT_S = 60
"""A document sent to kpibot: the longest the router's thread waits for its bytes."""
PICKERS_KEPT = 10_000
SEARCH_MAX = 64
"""A typed name longer than this is cut (nobody's name is that long)."""
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
"""On every text kpibot sends or edits: a survey link is for the customer, not a preview card."""


def menu_commands(commands: Mapping[str, Command] | None = None) -> list[Command]:
    """The commands Telegram's ``/`` menu offers (those declared with a ``menu`` line, in
    ``menu_rank`` order), of the router's commands or, for a router that lists none, of every
    module of :data:`commands.registry.MODULES`."""
    known = registry.commands() if commands is None else commands
    return sorted((c for c in known.values() if c.menu), key=lambda c: c.menu_rank)


class RouterLike(Protocol):
    """What the adapter needs of :class:`commands.router.Router`."""

    def handle(self, incoming: Incoming) -> list[Reply]: ...


@dataclass(frozen=True)
class _Picker:
    """A long picker open in a private chat, for a name typed there."""

    choices: tuple[Button, ...]
    others: tuple[Button, ...]
    lang: str


@dataclass(frozen=True)
class _Source:
    """Where an update came from: what replies are sent to, and what may be edited."""

    incoming: Incoming
    user_id: int
    chat_id: int
    message_id: int | None = None
    """The person's message (a group reply quotes it)."""
    callback_chat_id: int | None = None
    callback_message_id: int | None = None
    """The bot message whose button was pressed (edited in place for ``replace``)."""


class TelegramAdapter:
    """The running Telegram side of kpibot. Build it with :func:`build_telegram`."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        router: RouterLike,
        *,
        people: TelegramPeople | None,
        webhook_url: str | None,
        webhook_secret: str | None,
        poll_timeout: float,
        default_lang: str,
    ) -> None:
        self.application = application
        self.router = router
        self.people = people
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.poll_timeout = poll_timeout
        self.default_lang = default_lang
        self.codec = tr.CallbackCodec()
        self.bot_username = ""
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self._running = False
        self.handled = 0
        """Updates handled so far (tests wait on it)."""
        self._last_keyboard: Bounded = Bounded(10_000)
        self.inbox: Inbox | None = None
        """``bot.inbox.Inbox`` (set by the composition root): a webhook update is stored
        there before the 200, and answered from there after a crash."""
        self._inbox_rows: dict[int, int] = {}
        self._recovered: set[int] = set()
        """Updates taken over from the inbox (their work may be done, their reply not sent)."""
        """update_id → its inbox row, while it is being handled."""
        self._addresses: dict[int, int] = {}
        self._pickers: OrderedDict[int, _Picker] = OrderedDict()
        """Private chat → the long picker open there (a typed name searches it)."""
        """Chats the outbox sender already looked up (:meth:`remember_address`), used once."""
        """Private chat → the bot message whose keyboard is live (cosmetic: old ones are
        removed)."""
        application.add_handler(TypeHandler(Update, self._on_update))
        application.add_error_handler(self._on_error)

    @property
    def bot(self) -> Bot:
        bot: Bot = self.application.bot
        return bot

    @property
    def mode(self) -> str:
        return "webhook" if self.webhook_url else "polling"

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Connect (``getMe``), then poll or register the webhook."""
        await self.application.initialize()
        self.bot_username = self.bot.username
        await self.application.start()
        if self.webhook_url:
            await self.bot.set_webhook(
                self.webhook_url,
                secret_token=self.webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            )
        else:
            updater = self.application.updater
            assert updater is not None
            await updater.start_polling(
                timeout=int(self.poll_timeout),
                poll_interval=0,
                allowed_updates=ALLOWED_UPDATES,
            )
        self._running = True
        await self._set_menu()
        log.info("telegram: @%s running in %s mode", self.bot_username, self.mode)

    async def _set_menu(self) -> None:
        """The ``/`` menu, in English and in Chinese: everyone sees the commands an agent may
        use; each linked manager and admin sees theirs (``/review`` …) in their own chat."""
        offered = menu_commands(getattr(self.router, "commands", None))
        if not offered:
            return

        def menu(lang: str, role: str) -> list[BotCommand]:
            _ = translator(lang)
            return [BotCommand(c.name, _(c.menu)) for c in offered if role_may_use(role, c)]

        try:
            for lang, code in (("en", None), ("zh", "zh")):
                await self.bot.set_my_commands(menu(lang, "agent"), language_code=code)
            leaders = (
                await asyncio.to_thread(self.people.leaders) if self.people is not None else []
            )
            for chat_id, role, lang in leaders:
                scope = BotCommandScopeChat(chat_id)
                await self.bot.set_my_commands(
                    menu(normalize_lang(lang, self.default_lang), role), scope=scope
                )
        except TelegramError as err:
            log.warning("telegram: could not set the command menu: %s", err)

    async def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        await self.application.stop()
        await self.application.shutdown()

    # ------------------------------------------------------------------ webhook
    def count_rate_limits(self, on_429: Callable[[], None]) -> None:
        """Call ``on_429`` for every ``RetryAfter`` (429) the bot's rate limiter sees."""
        limiter = getattr(self.application.bot, "rate_limiter", None)
        if isinstance(limiter, KpibotRateLimiter):
            limiter.on_429 = on_429

    def routes(self) -> list[BaseRoute]:
        """``POST /telegram/webhook`` for the one Starlette app."""
        return [Route(WEBHOOK_PATH, self._webhook, methods=["POST"])]

    async def _webhook(self, request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not self.webhook_secret or not hmac.compare_digest(
            given.encode(), self.webhook_secret.encode()
        ):
            log.warning("telegram webhook: refused a request with a wrong secret token")
            return JSONResponse({"ok": False}, status_code=403)
        try:
            data = await request.json()
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("an update is a JSON object with an update_id")
            update = Update.de_json(data, self.bot)
        except (ValueError, KeyError, TypeError, AttributeError):
            log.info("telegram webhook: refused a malformed update")
            return JSONResponse({"ok": False}, status_code=400)
        if not self._running:
            return JSONResponse({"ok": False}, status_code=503)
        if self.inbox is not None:
            # Acknowledged means stored: a 200 only once the update is a row (Telegram
            # delivers it again after a 503); a redelivery of a stored one is a no-op.
            try:
                row_id = await self.inbox.store("telegram", str(update.update_id), data)
            except Exception as exc:  # noqa: BLE001 - the database: not acknowledged
                log.warning(
                    "telegram webhook: update %s not stored (%s); answered 503",
                    update.update_id,
                    exc,
                )
                return JSONResponse({"ok": False}, status_code=503)
            if row_id is None:
                log.info(
                    "telegram webhook: update %s was delivered again; already stored",
                    update.update_id,
                )
                return JSONResponse({"ok": True})
            self._inbox_rows[update.update_id] = row_id
        await self.application.update_queue.put(update)
        return JSONResponse({"ok": True})

    async def recover(self, row: Any, given_up: bool) -> None:
        """An update a replica stored and did not finish (it died): handle it now. Given up
        (it failed each time): tell the person it could not be answered."""
        update = Update.de_json(dict(row.payload), self.bot)
        if given_up:
            incoming = tr.to_incoming(update, self.bot_username, self.codec)
            if incoming is not None:
                _ = translator(await self._lang_of(int(incoming.user_id), incoming.lang_hint))
                text = _(
                    'Sorry, I could not answer your message ("{text}"). Please send it again.',
                    text=incoming.text[:60] or incoming.action or "…",
                )
                with contextlib.suppress(TelegramError):
                    await self.bot.send_message(int(incoming.chat_id or incoming.user_id), text)
            return
        self._inbox_rows[update.update_id] = row.id
        self._recovered.add(update.update_id)
        await self.application.update_queue.put(update)

    async def wait_handled(self, count: int, *, timeout: float = 10.0) -> None:
        """Wait until ``count`` updates have been handled in all (for tests and tools)."""
        async with asyncio.timeout(timeout):
            while self.handled < count:
                await asyncio.sleep(0.01)

    # ------------------------------------------------------------------ updates
    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is not None:  # first: the spinner stops and the query cannot grow too old
            with contextlib.suppress(TelegramError):
                await query.answer()
        try:
            if update.my_chat_member is not None:
                await self._on_membership(update)
                return
            incoming = tr.to_incoming(update, self.bot_username, self.codec)
            if incoming is None:
                return
            incoming = tr.expand_deep_link(incoming)
            if incoming.file is not None:
                incoming = replace(
                    incoming, file=replace(incoming.file, fetch=self._fetcher(incoming.file.ref))
                )
            if update.update_id in self._recovered:
                incoming = dataclasses.replace(incoming, recovered=True)
            source = _source_of(update, incoming)
            async with self._lock_for(source.user_id):
                if incoming.action == tr.PAGE_ACTION:
                    await self._show_page(source, incoming.value or "")
                    return
                if self._searches(incoming, source):
                    await self._search(incoming, source)
                    return
                self._pickers.pop(source.chat_id, None)  # anything else: the picker is left
                if incoming.action == tr.EXPIRED_ACTION:
                    replies = [Reply(text=self._expired_text(incoming))]
                else:
                    replies = await ask_router(self.router, incoming)
                await self._send_replies(source, replies)
                if incoming.chat == "private" and self.people is not None:
                    await asyncio.to_thread(self.people.mark_reachable, source.user_id)
        finally:
            self._recovered.discard(update.update_id)
            if self.inbox is not None:
                await self.inbox.done(self._inbox_rows.pop(update.update_id, None))
            self.handled += 1

    def _fetcher(self, file_id: str) -> Callable[[], bytes]:
        """Downloads a document sent to kpibot, for the router's thread: ``getFile`` (Telegram
        hands bots files up to 20 MB), then ``/file/bot<token>/<file_path>``."""
        loop = asyncio.get_running_loop()

        async def download() -> bytes:
            file = await self.bot.get_file(file_id)
            if (file.file_size or 0) > CHAT_FILE_MAX_BYTES:
                raise FileUnavailable("over the size limit")
            return bytes(await file.download_as_bytearray())

        def fetch() -> bytes:
            try:
                return asyncio.run_coroutine_threadsafe(download(), loop).result(
                    timeout=DOWNLOAD_TIMEOUT_S
                )
            except FileUnavailable:
                raise
            except (
                Exception
            ) as exc:  # BadRequest "file is too big", a timeout, a dropped connection
                raise FileUnavailable(f"{type(exc).__name__}: {exc}") from exc

        return fetch

    def _searches(self, incoming: Incoming, source: _Source) -> bool:
        """A name typed in a private chat while a long picker is open there (not a command)."""
        return (
            incoming.action is None
            and incoming.file is None
            and incoming.chat == "private"
            and bool(incoming.text.strip())
            and not incoming.text.lstrip().startswith("/")
            and source.chat_id in self._pickers
        )

    async def _search(self, incoming: Incoming, source: _Source) -> None:
        """The people of the open picker matching the typed name: the one it means is picked
        (as if pressed: the router checks it like any press); several are shown as buttons
        (paged when more than a page); none is said. The picker stays open for another name."""
        picker = self._pickers[source.chat_id]
        self._pickers.move_to_end(source.chat_id)
        typed = " ".join(incoming.text.split())[:SEARCH_MAX]
        one = picker_search.the_one(picker.choices, typed)
        if one is not None:
            del self._pickers[source.chat_id]
            chosen = replace(incoming, text="", action=one.action, value=one.value)
            replies = await ask_router(self.router, chosen)
            await self._send_replies(source, replies)
            return
        found = tuple(picker_search.search(picker.choices, typed))
        if found:
            rendered = tr.Rendered(
                text=tr.found_text(typed, len(found), picker.lang),
                keyboard=tr.matches_keyboard(found, picker.others, self.codec),
            )
        else:
            rendered = tr.Rendered(text=tr.nobody_text(typed, picker.lang))
        try:
            await self._send_new(source.chat_id, rendered, None)
        except RetryAfter as err:
            await self._send_after(source.chat_id, rendered, err)
        except BadRequest as err:
            log.error("telegram: chat %s refused a search answer: %s", source.chat_id, err.message)

    def _open_picker(self, chat_id: int, rendered: tr.Rendered) -> None:
        """A long picker was shown in a private chat: a name typed there now searches it."""
        if chat_id <= 0 or not rendered.choices:
            return
        self._pickers[chat_id] = _Picker(
            rendered.choices, rendered.others, tr.text_lang(rendered.text)
        )
        self._pickers.move_to_end(chat_id)
        while len(self._pickers) > PICKERS_KEPT:
            self._pickers.popitem(last=False)

    async def _show_page(self, source: _Source, value: str) -> None:
        """◀ / ▶ on a long picker: the same message shows the other page."""
        markup = self.codec.page(value)
        chat_id, message_id = source.callback_chat_id, source.callback_message_id
        if chat_id is None or message_id is None:
            return
        if markup is None:
            await self._send_replies(source, [Reply(text=self._expired_text(source.incoming))])
            return
        try:
            await self.bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
        except BadRequest as err:
            log.debug("telegram: page %s not shown: %s", value, err.message)

    async def _on_membership(self, update: Update) -> None:
        """A person blocks (``kicked``) or unblocks the bot in their private chat."""
        change = update.my_chat_member
        if change is None or change.chat.type != "private" or self.people is None:
            return
        status = change.new_chat_member.status
        if status == "kicked":
            await self._note_blocked(change.from_user.id)
        elif status == "member":
            await asyncio.to_thread(self.people.mark_reachable, change.from_user.id)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        update_id = getattr(update, "update_id", None)
        log.error("telegram: update %s failed", update_id, exc_info=context.error)

    def _lock_for(self, user_id: int) -> asyncio.Lock:
        lock = self._locks.get(user_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[user_id] = lock
        return lock

    def _expired_text(self, incoming: Incoming) -> str:
        _ = translator(normalize_lang(incoming.lang_hint, self.default_lang))
        return _("That button has expired. Please send the command again.")

    # ------------------------------------------------------------------ sending
    async def _send_replies(self, source: _Source, replies: Sequence[Reply]) -> None:
        """Send the router's replies where they belong.

        After a button press, when the first reply for that chat is interactive (buttons
        or a question) or asks to ``replace``, it becomes the pressed message (edited in
        place); otherwise the pressed message loses its keyboard and replies come anew.
        """
        in_group = source.incoming.chat == "group"
        pressed = source.callback_message_id
        private_refused = False
        for index, reply in enumerate(replies):
            target = source.user_id if (in_group and reply.private) else source.chat_id
            if private_refused and target == source.user_id and in_group:
                continue
            drawn = await ready_to_say(self.router, reply)  # a chart: drawn after the text went
            if drawn is None:
                continue
            reply = drawn
            rendered = tr.render(reply, self.codec)
            if not rendered.text.strip() and rendered.image is None and rendered.file is None:
                continue  # nothing a person could see
            try:
                if pressed is not None and source.callback_chat_id == target:
                    editable = (
                        rendered.image is None
                        and rendered.file is None
                        and not rendered.extra_texts
                    )
                    interactive = bool(reply.buttons or reply.question or reply.replace)
                    if editable and interactive and index == 0:
                        await self._edit(target, pressed, rendered)
                        self._last_keyboard[target] = pressed
                        self._open_picker(target, rendered)
                        pressed = None
                        continue
                    await self._strip_keyboard(target, pressed)
                    pressed = None
                quote = source.message_id if (in_group and target == source.chat_id) else None
                await self._send_new(target, rendered, quote)
                self._open_picker(target, rendered)
            except Forbidden as err:
                if target != source.user_id:
                    log.warning("telegram: cannot write to chat %s: %s", target, err.message)
                    continue
                private_refused = True
                await self._private_refused(source, err)
            except (
                RetryAfter
            ) as err:  # the limiter's retries ran out: wait for this chat, once more
                await self._send_after(target, rendered, err)
            except BadRequest as err:  # one reply Telegram refuses must not swallow the rest
                log.error("telegram: chat %s refused a reply: %s", target, err.message)
        if pressed is not None and source.callback_chat_id is not None:
            await self._strip_keyboard(source.callback_chat_id, pressed)

    async def _send_after(self, chat_id: int, rendered: tr.Rendered, err: RetryAfter) -> None:
        """Telegram said "retry after N s" more often than the limiter retries: wait for
        this chat only (other chats' replies go on meanwhile) and send it once more."""
        wait = (
            err.retry_after.total_seconds()
            if hasattr(err.retry_after, "total_seconds")
            else err.retry_after
        )
        log.warning("telegram: chat %s is flood-limited; sending again in %s s", chat_id, wait)
        await asyncio.sleep(float(wait))
        try:
            await self.send_rendered(chat_id, rendered)
        except TelegramError as again:
            log.error("telegram: chat %s refused a reply after waiting: %s", chat_id, again)

    async def _send_new(self, chat_id: int, rendered: tr.Rendered, quote: int | None) -> None:
        """Send; a new keyboard in a private chat takes the keyboard off the previous one."""
        message = await self.send_rendered(chat_id, rendered, reply_to=quote)
        if rendered.keyboard is None or chat_id < 0:
            return
        previous = self._last_keyboard.get(chat_id)
        self._last_keyboard[chat_id] = message.message_id
        if previous is not None and previous != message.message_id:
            await self._strip_keyboard(chat_id, previous)

    async def _strip_keyboard(self, chat_id: int, message_id: int) -> None:
        if self._last_keyboard.get(chat_id) == message_id:
            del self._last_keyboard[chat_id]
        try:
            await self.bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=message_id, reply_markup=None
            )
        except BadRequest as err:
            log.debug(
                "telegram: keyboard of %s/%s not removed: %s", chat_id, message_id, err.message
            )

    async def _edit(self, chat_id: int, message_id: int, rendered: tr.Rendered) -> None:
        try:
            await self.bot.edit_message_text(
                rendered.text, chat_id=chat_id, message_id=message_id,
                reply_markup=rendered.keyboard, link_preview_options=NO_PREVIEW,
            )  # fmt: skip
        except BadRequest as err:
            if "not modified" in err.message.lower():
                return
            log.info(
                "telegram: could not edit %s/%s (%s); sending anew",
                chat_id,
                message_id,
                err.message,
            )
            await self.send_rendered(chat_id, rendered)

    async def send_rendered(
        self, chat_id: int, rendered: tr.Rendered, *, reply_to: int | None = None
    ) -> Message:
        """Send one rendered reply; text that did not fit goes first as plain messages."""
        for piece in rendered.extra_texts:
            await self.bot.send_message(chat_id, piece, link_preview_options=NO_PREVIEW)
        if rendered.image is not None:
            return await self.bot.send_photo(
                chat_id,
                InputFile(rendered.image.data, filename=rendered.image.filename),
                caption=rendered.text or None,
                reply_markup=rendered.keyboard,
                reply_parameters=_quoting(reply_to),
            )
        if rendered.file is not None:
            return await self.bot.send_document(
                chat_id,
                InputFile(rendered.file.data, filename=rendered.file.filename),
                caption=rendered.text or None,
                reply_markup=rendered.keyboard,
                reply_parameters=_quoting(reply_to),
            )
        return await self.bot.send_message(
            chat_id,
            rendered.text,
            reply_markup=rendered.keyboard,
            reply_parameters=_quoting(reply_to),
            link_preview_options=NO_PREVIEW,
        )

    async def _private_refused(self, source: _Source, err: Forbidden) -> None:
        """The person's private chat refused us: point them there from the group; note a block."""
        blocked = _is_blocked(err)
        if blocked:
            await self._note_blocked(source.user_id)
        if source.incoming.chat != "group":
            return
        lang = await self._lang_of(source.user_id, source.incoming.lang_hint)
        _ = translator(lang)
        link = f"https://t.me/{self.bot_username}?start={tr.deep_link_payload(source.incoming)}"
        name = source.incoming.display_name or ""
        text = _(
            "{name}, I can only answer this in a private chat. Open it here and press Start:",
            name=name,
        ).strip(", ")
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(_("Open private chat"), url=link)]])
        try:
            await self.bot.send_message(
                source.chat_id, f"{text}\n{link}", reply_markup=markup,
                reply_parameters=_quoting(source.message_id), link_preview_options=NO_PREVIEW,
            )  # fmt: skip
        except TelegramError as group_err:
            log.warning(
                "telegram: could not post the deep link in %s: %s", source.chat_id, group_err
            )

    async def _note_blocked(self, telegram_user_id: int) -> None:
        """Mark the member unreachable (once) and tell their manager."""
        if self.people is None:
            log.warning(
                "telegram: user %s blocked the bot (no storage to note it)", telegram_user_id
            )
            return
        notice = await asyncio.to_thread(self.people.mark_unreachable, telegram_user_id)
        if notice is None:
            return
        try:
            await self.send_rendered(notice.manager_chat_id, tr.Rendered(text=notice.text))
        except TelegramError as err:
            log.warning("telegram: could not tell the manager %s: %s", notice.manager_chat_id, err)

    async def _lang_of(self, telegram_user_id: int, hint: str | None) -> str:
        if self.people is not None:
            lang = await asyncio.to_thread(self.people.lang_of, telegram_user_id)
            if lang:
                return lang
        return normalize_lang(hint, self.default_lang)

    # ------------------------------------------------------------------ messages kpibot starts
    def remember_address(self, member_id: int, chat_id: int) -> None:
        """The outbox sender already read the member's Telegram id while claiming: the next
        :meth:`send_outgoing` to them skips its own database lookup."""
        self._addresses[member_id] = chat_id

    async def send_outgoing(self, outgoing: Outgoing) -> str | None:
        """Send a reminder or a broadcast to a member; the platform's message ref, or ``None``.

        ``None`` when the member has no Telegram account or cannot be reached (a 403 marks
        them unreachable and tells their manager once; it is not retried).
        """
        chat_id: int | None = self._addresses.pop(outgoing.member_id, None)
        if chat_id is None:
            if self.people is None:
                raise RuntimeError(
                    "send_outgoing needs the storage engine (build_telegram(engine=...))"
                )
            chat_id = await asyncio.to_thread(self.people.chat_of, outgoing.member_id)
        if chat_id is None:
            return None
        rendered = tr.render(outgoing.reply, self.codec)
        self._pickers.pop(chat_id, None)  # what arrives now is what a typed line answers
        self._open_picker(chat_id, rendered)  # a long picker of its own: a name typed searches it
        try:
            if rendered.image is None and rendered.file is None and not rendered.extra_texts:
                return await self._send_text(chat_id, rendered)
            message = await self.send_rendered(chat_id, rendered)
        except Forbidden as err:
            if _is_blocked(err) or "initiate" in err.message:
                await self._note_blocked(chat_id)
            return None
        return f"{message.chat_id}:{message.message_id}"

    async def _send_text(self, chat_id: int, rendered: tr.Rendered) -> str:
        """``sendMessage`` for one text (with its keyboard), the ref from the raw answer: the
        same request, errors and rate limiter as ``bot.send_message``, without building a
        ``Message`` object from the answer (a broadcast only needs its id)."""
        data: dict[str, Any] = {"chat_id": chat_id, "text": rendered.text,
                                "link_preview_options": NO_PREVIEW}  # fmt: skip
        if rendered.keyboard is not None:
            data["reply_markup"] = rendered.keyboard
        answer = await self.bot._post("sendMessage", data)  # noqa: SLF001 - see the docstring
        return f"{answer['chat']['id']}:{answer['message_id']}"


# ---------------------------------------------------------------------- helpers


def _quoting(message_id: int | None) -> ReplyParameters | None:
    """Quote the command in a group, and still answer if it was deleted meanwhile."""
    if message_id is None:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


def _is_blocked(err: Forbidden) -> bool:
    text = err.message.lower()
    return "blocked" in text or "deactivated" in text


def _source_of(update: Update, incoming: Incoming) -> _Source:
    user_id = int(incoming.user_id)
    chat_id = int(incoming.chat_id) if incoming.chat_id else user_id
    query = update.callback_query
    if query is not None and query.message is not None:
        return _Source(
            incoming,
            user_id,
            chat_id,
            callback_chat_id=query.message.chat.id,
            callback_message_id=query.message.message_id,
        )
    message_id = update.message.message_id if update.message is not None else None
    return _Source(incoming, user_id, chat_id, message_id=message_id)


def _file_base(api_url: str) -> str | None:
    if "/bot" not in api_url:
        return None
    return api_url.replace("/bot", "/file/bot", 1)


def build_telegram(
    settings: Settings,
    router: RouterLike,
    *,
    engine: Engine | None = None,
    poll_timeout: float = 10.0,
    max_retries: int = 3,
    private_burst: int = 4,
) -> TelegramAdapter:
    """The Telegram adapter from the settings; nothing connects until
    :meth:`~TelegramAdapter.start`.

    ``engine`` lets the adapter mark a member who blocked the bot unreachable, tell the
    manager, and send :class:`~commands.messages.Outgoing` messages by member id.
    """
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    token = settings.telegram_bot_token.get_secret_value()
    secret = (
        settings.telegram_webhook_secret.get_secret_value()
        if settings.telegram_webhook_secret
        else None
    )
    if settings.telegram_webhook_url and not secret:
        raise ValueError("TELEGRAM_WEBHOOK_URL is set: TELEGRAM_WEBHOOK_SECRET must be set too")
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_api_url)
        .rate_limiter(KpibotRateLimiter(max_retries=max_retries, private_burst=private_burst))
        .concurrent_updates(16)
        .get_updates_read_timeout(poll_timeout + 10)
        # One kept-open aiohttp session for sending: httpx's pool measured ~2.5x slower per
        # message in bench/broadcast_bench.py. Long polling keeps PTB's own transport.
        .request(AiohttpRequest(connection_pool_size=64))
    )
    file_base = _file_base(settings.telegram_api_url)
    if file_base:
        builder = builder.base_file_url(file_base)
    application = builder.build()
    people = TelegramPeople(engine) if engine is not None else None
    return TelegramAdapter(
        application,
        router,
        people=people,
        webhook_url=settings.telegram_webhook_url,
        webhook_secret=secret,
        poll_timeout=poll_timeout,
        default_lang=settings.default_lang,
    )
