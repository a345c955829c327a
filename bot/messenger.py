"""The messenger seam: what a chat platform brings to kpibot, declared once.

A messenger is one package under ``bot/`` (``bot/slack/``, ``bot/telegram/``): its adapter,
renderer, outbox limits and settings, described by one :class:`Messenger` that the package
exports as ``MESSENGER`` and :mod:`bot.messengers` lists. Everything else reads that table:
the settings (each messenger's fields), the start-up check, the composition root (which
adapters run, how they are counted), the outbox (where a message may go, how fast), the web
app's request logs (the platform by path). Adding a messenger is its package, one line in
:data:`bot.messengers.MESSENGERS`, its docs and its tests.

This module is a leaf: it imports no platform SDK and nothing of the packages that use it.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from starlette.routing import BaseRoute

    from bot.metrics import Metrics
    from bot.settings import Settings
    from commands.i18n import Translate
    from commands.messages import Incoming, Outgoing, Reply


@dataclass(frozen=True)
class Limits:
    """Messages a second: ``overall`` for the whole bot (Telegram), ``per_workspace`` (Slack),
    ``per_chat`` for one chat or channel. ``margin`` keeps the pace a hair under the limit."""

    overall: float | None = None
    per_workspace: float | None = None
    per_chat: float = 1.0
    chat_burst: int = 1
    margin: float = 0.99

    def scaled(self, factor: float) -> Limits:
        return replace(
            self,
            overall=self.overall * factor if self.overall else None,
            per_workspace=self.per_workspace * factor if self.per_workspace else None,
            per_chat=self.per_chat * factor,
        )


class RouterLike(Protocol):
    """What an adapter needs of :class:`commands.router.Router` (sync, run in a thread); a
    router that draws charts also has ``draw(reply) -> Reply | None`` (:func:`ready_to_say`)."""

    def handle(self, incoming: Incoming) -> list[Reply]: ...


async def ask_router(router: RouterLike, incoming: Incoming) -> list[Reply]:
    """An adapter asks the router from its event loop: through the router's own ``ask`` when it
    has one (:meth:`bot.observed_router.ObservedRouter.ask`: a call answered after the ack
    waits for its turn holding no thread of the loop's executor, which the acks need), else
    ``handle`` in a thread (a router without turns: the tests' scripted ones)."""
    ask = getattr(router, "ask", None)
    if ask is not None and inspect.iscoroutinefunction(ask):
        replies: list[Reply] = await ask(incoming)
        return replies
    return await asyncio.to_thread(router.handle, incoming)


async def ready_to_say(router: Any, reply: Reply) -> Reply | None:
    """``reply`` as an adapter says it: a chart still to draw (``Reply.chart``) is drawn now,
    by the router's ``draw`` in a thread (a router worker), after the replies before it were
    said, so the text never waits for the picture; ``None`` when it cannot be drawn. Through
    the router's ``ask_draw`` when it has one: the drawing waits for its turn holding no
    thread (:func:`ask_router`)."""
    if reply.chart is None:
        return reply
    ask_draw = getattr(router, "ask_draw", None)
    if ask_draw is not None and inspect.iscoroutinefunction(ask_draw):
        asked: Reply | None = await ask_draw(reply)
        return asked
    draw = getattr(router, "draw", None)
    if draw is None:
        return None
    drawn: Reply | None = await asyncio.to_thread(draw, reply)
    return drawn


class Adapter(Protocol):
    """A running messenger: started and stopped by the service, serving its routes on the
    one web app, sending the outbox's messages."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def routes(self) -> list[BaseRoute]: ...

    async def send_outgoing(self, outgoing: Outgoing) -> str | None: ...


def _no_problems(_settings: Settings, _: Translate) -> list[str]:
    return []


def _stores_requests(_adapter: Any) -> bool:
    return False


def always(_adapter: Any) -> bool:
    return True


@dataclass(frozen=True)
class Messenger:
    """One chat platform, as the rest of kpibot sees it."""

    platform: str
    """``Incoming.platform``, the outbox's and the inbox's platform, the metrics label:
    lower-case and stable (it is stored)."""
    name: str
    """As people read it: ``Slack``, ``Telegram``."""
    settings: type[Any]
    """A pydantic ``BaseSettings`` class with this messenger's fields (``SLACK_BOT_TOKEN`` …);
    :class:`bot.settings.Settings` inherits every messenger's."""
    enabled: Callable[[Settings], bool]
    """Whether this replica runs the messenger (its token is set)."""
    build: Callable[[Settings, RouterLike, Engine, Metrics], Adapter]
    """The adapter, its platform's 429s counted in ``metrics``; the package imports its SDK
    only here, so a replica without the messenger never loads it."""
    limits: Limits
    """How fast the outbox may send through it (:mod:`bot.sender`)."""
    problems: Callable[[Settings, Translate], list[str]] = _no_problems
    """What in its settings stops kpibot from starting (:mod:`bot.config_check`), one line each."""
    path_prefix: str | None = None
    """Its routes' common prefix (``/slack/``): request log lines carry the platform."""
    stores_requests: Callable[[Any], bool] = _stores_requests
    id_pattern: str | None = None
    """What a person's id there looks like (a regular expression), checked when an admin links
    someone by hand (``kpibot member link``); ``None``: any non-empty id."""
    id_example: str = ""
    """Whether the running adapter stores what it acknowledges in the inbox (:mod:`bot.inbox`)
    and answers it again after a crash; such an adapter has an ``inbox`` attribute and a
    ``recover`` coroutine. Default: it does not."""
