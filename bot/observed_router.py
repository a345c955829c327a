"""The router as the adapters see it (:class:`ObservedRouter`): timed by command in the
metrics, logged with the request's context, run a few at a time after the ack (a modal
submission, whose ack waits for it, never queues behind them), in the router's worker
processes when there is a pool, and answering at once, in the person's language, while the
database is down (:class:`bot.database_watch.DatabaseWatch`).

The adapters ask it from their event loop (:func:`bot.messenger.ask_router`): a call
answered after the ack waits for its turn *there*, holding no thread. Waiting in a thread
of the event loop's executor (``asyncio.to_thread(router.handle, ...)``), a burst's backlog
of router calls took every thread of it, and whatever an ack needs a thread for queued
behind the whole backlog: a Slack slash command's inbox row, stored before its ack, waited
up to its 1 s budget and was then acked unstored, and stored later with nobody renewing
its claim (issue 16, ``bench/ack_bench.py``: commands p99 472 ms against 123 ms for button
presses; in a run at load 9, 344 commands acked unstored).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from typing import Any

from bot.database_watch import DatabaseWatch
from bot.logs import current_context, request_context
from bot.metrics import Metrics
from bot.router_pool import RouterPool
from commands.i18n import normalize_lang, translator
from commands.messages import Incoming, Reply
from commands.router import Router, split_command

log = logging.getLogger(__name__)

BACKGROUND_ROUTER_CALLS = 3
"""Router calls whose answer goes out after the ack (commands, buttons, messages) run at most
this many at a time; a modal submission, whose ack waits for the router, never waits for them."""

LANG_MEMO_S = 600.0
DATABASE_DOWN = (
    "kpibot cannot reach its database right now, so nothing was saved. Please try again in a few "
    "minutes."
)
APOLOGY = (
    "Sorry, something went wrong on our side. Please try again; if it keeps happening, give the "
    "admin this reference: {ref}"
)


class ObservedRouter:
    """The router as the adapters see it: timed, logged with the request's context, and
    answering at once while the database is down. Everything else is the router's."""

    def __init__(
        self,
        router: Router,
        metrics: Metrics,
        watch: DatabaseWatch,
        default_lang: str,
        *,
        background: int | None = None,
        pool: RouterPool | None = None,
    ) -> None:
        self.router = router
        self.metrics = metrics
        self.watch = watch
        self.default_lang = default_lang
        self.pool = pool
        if background is None:
            background = pool.processes if pool is not None else BACKGROUND_ROUTER_CALLS
        self.background = background
        self._background = threading.BoundedSemaphore(background)
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        """The same turns, taken on an event loop (:meth:`ask`) before a thread is."""
        self._langs: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()
        """The language each person was last answered in: "the database is down" in their
        language even then (read once per person and LANG_MEMO_S, while it is up)."""

    def lang_for(self, incoming: Incoming) -> str:
        """The person's language: as stored (remembered from when the database answered),
        else the platform's hint, else the default."""
        known = self._langs.get((incoming.platform, incoming.user_id))
        if known is not None:
            return known[0]
        return normalize_lang(incoming.lang_hint, self.default_lang)

    def _learn_lang(self, incoming: Incoming) -> None:
        key = (incoming.platform, incoming.user_id)
        known = self._langs.get(key)
        if known is not None and time.monotonic() - known[1] < LANG_MEMO_S:
            return
        stored = self.router._lang_after_failure(incoming)  # noqa: SLF001 - one read, reused
        if stored is None:
            return
        self._langs[key] = (normalize_lang(stored, self.default_lang), time.monotonic())
        self._langs.move_to_end(key)
        while len(self._langs) > 50_000:
            self._langs.popitem(last=False)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.router, name)

    def kind(self, incoming: Incoming) -> str:
        """A bounded label: a known command or button prefix, ``text``, or ``other``."""
        if incoming.action:
            prefix = incoming.action.split(":", 1)[0]
            return f"button:{prefix}" if prefix in self.router.registry.actions else "button:other"
        if incoming.values:
            return "form"
        parsed = split_command(incoming.text)
        if parsed is None:
            return "text"
        return f"/{parsed[0]}" if parsed[0] in self.router.commands else "/other"

    def handle(self, incoming: Incoming) -> list[Reply]:
        context = current_context()
        request_id = context.get("request_id") or uuid.uuid4().hex[:12]
        with request_context(request_id=request_id, platform=incoming.platform):
            lang = self.lang_for(incoming)
            if not self.watch.available():
                return [Reply(text=translator(lang)(DATABASE_DOWN), ephemeral=True)]
            started = time.perf_counter()
            try:
                if incoming.values:  # a modal submission: Slack's ack waits for this answer
                    replies, lost = self._run(incoming, lang)
                else:  # answered after the ack: a few at a time, so a submission never queues
                    with self._background:
                        replies, lost = self._run(incoming, lang)
            finally:
                self.metrics.command(
                    incoming.platform, self.kind(incoming), time.perf_counter() - started
                )
            if lost and is_apology(replies):
                # The router rolled the request back whole; say why instead of "something went
                # wrong".
                return [Reply(text=translator(lang)(DATABASE_DOWN), ephemeral=True)]
            if not lost:
                with contextlib.suppress(Exception):  # a memo only
                    self._learn_lang(incoming)
            return replies

    def draw(self, reply: Reply) -> Reply | None:
        """A reply's chart drawn (``Router.draw``), in a worker process when there is a pool;
        ``None`` when it cannot be drawn (the person has the text already)."""
        if reply.chart is None:
            return reply
        with self._background:  # like an answer after the ack: a submission never queues behind it
            if self.pool is None:
                return self.router.draw(reply)
            try:
                return self.pool.draw(reply, current_context())
            except Exception:  # a worker died: the chart is left out, the text was said
                log.exception("the router worker failed drawing the chart %s", reply.chart.name)
                return None

    async def ask(self, incoming: Incoming) -> list[Reply]:
        """:meth:`handle` from the event loop: a call answered after the ack waits for its turn
        here, holding no thread, then runs in one; a modal submission (its ack waits for the
        answer) takes no turn. Callers in threads (:meth:`handle`) share the same turns."""
        if incoming.values:
            return await asyncio.to_thread(self.handle, incoming)
        async with self._turn():
            return await asyncio.to_thread(self.handle, incoming)

    async def ask_draw(self, reply: Reply) -> Reply | None:
        """:meth:`draw` from the event loop, its turn taken here like :meth:`ask`'s."""
        if reply.chart is None:
            return reply
        async with self._turn():
            return await asyncio.to_thread(self.draw, reply)

    def _turn(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        turns = self._turns.get(loop)
        if turns is None:
            turns = self._turns[loop] = asyncio.Semaphore(self.background)
        return turns

    def _run(self, incoming: Incoming, lang: str) -> tuple[list[Reply], bool]:
        """The router's replies, in a worker process when there is a pool, and whether the
        database connection was lost meanwhile."""
        if self.pool is None:
            self.watch.begin_request()
            replies = self.router.handle(incoming)
            return replies, self.watch.lost_during_request()
        try:
            replies, lost = self.pool.handle(incoming, current_context())
        except Exception:  # a worker died, or a reply could not cross the process boundary
            ref = uuid.uuid4().hex[:8]
            log.exception(
                "request %s: the router worker failed (text=%r action=%r)",
                ref,
                incoming.text[:80],
                incoming.action,
            )
            return [Reply(text=translator(lang)(APOLOGY, ref=ref), ephemeral=True)], False
        if lost:
            self.watch.mark_down()
        return replies, lost


def is_apology(replies: list[Reply]) -> bool:
    if len(replies) != 1:
        return False
    heads = {translator(lang)(APOLOGY, ref="\0").split("\0")[0] for lang in ("zh", "en")}
    return any(replies[0].text.startswith(h) for h in heads)
