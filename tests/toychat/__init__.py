"""A toy messenger, whole in this one package (issue 19's proof of the seam): kpibot speaks it
once :data:`MESSENGER` is one more line of ``bot.messengers.MESSENGERS``, nothing else.

Its wire format is as small as a messenger's can be: ``POST /toychat/message`` with
``{"user": <the person's toychat id>, "text": ...}`` is answered with the replies as text;
what the outbox sends is kept in :attr:`ToyAdapter.sent`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.messenger import Limits, Messenger, RouterLike
from commands.messages import Incoming, Outgoing, Reply

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bot.metrics import Metrics
    from bot.settings import Settings
    from commands.i18n import Translate

PLATFORM = "toychat"


class ToySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOYCHAT_")
    enabled: bool = True


def render(reply: Reply) -> str:
    """A reply as the toy shows it: the text, then each button's label in brackets."""
    labels = " ".join(f"[{b.label}]" for b in reply.buttons)
    return f"{reply.text}\n{labels}".strip()


class ToyAdapter:
    def __init__(self, router: RouterLike) -> None:
        self.router = router
        self.sent: list[Outgoing] = []
        self.started = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.started = False

    def routes(self) -> list[BaseRoute]:
        return [Route(f"/{PLATFORM}/message", self.message, methods=["POST"])]

    async def message(self, request: Request) -> Response:
        body = await request.json()
        incoming = Incoming(
            platform=PLATFORM, user_id=str(body["user"]), text=str(body["text"]), lang_hint="en"
        )
        replies = await asyncio.to_thread(self.router.handle, incoming)
        return JSONResponse({"replies": [render(r) for r in replies]})

    async def send_outgoing(self, outgoing: Outgoing) -> str | None:
        self.sent.append(outgoing)
        return f"toy-{len(self.sent)}"


def build(settings: Settings, router: RouterLike, engine: Engine, metrics: Metrics) -> ToyAdapter:
    return ToyAdapter(router)


def problems(settings: Settings, _: Translate) -> list[str]:
    return []


MESSENGER = Messenger(
    platform=PLATFORM,
    name="Toy chat",
    settings=ToySettings,
    enabled=lambda settings: ToySettings().enabled,
    build=build,
    limits=Limits(overall=7.0, per_chat=1.0),
    problems=problems,
    path_prefix=f"/{PLATFORM}/",
)
