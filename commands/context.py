"""What every command handler receives: who is asking, in which language, and the ports.

A handler is a plain function ``handler(ctx, args) -> list[Reply]``. It reads and
writes through ``ctx.session`` (one unit of work owned by the router: commit on
success, rollback on error; handlers never commit) and says things through
``ctx._`` (the asker's language). ``ctx.now`` is the clock, passed in so tests
can freeze it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from commands.i18n import Translate
from commands.messages import Incoming, Reply

if TYPE_CHECKING:
    from sqlmodel import Session

    from storage.models import Member


@dataclass(frozen=True)
class AppConfig:
    """The few settings commands need, copied from bot.settings.Settings by the composition root."""

    public_url: str = "http://localhost:8080"
    secret: str = "development-only-secret"
    default_lang: str = "zh"
    schemes_dir: str = "schemes"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    session: Session
    actor: Member
    lang: str
    _: Translate
    now: datetime
    incoming: Incoming
    config: AppConfig


Handler = Callable[[Context, str], list[Reply]]
