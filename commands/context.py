"""What every command handler receives: who is asking, in which language, and the ports.

A handler is a plain function ``handler(ctx, args) -> list[Reply]``. It reads and
writes through ``ctx.session`` (one unit of work owned by the router: commit on
success, rollback on error; handlers never commit) and says things through
``ctx._`` (the asker's language). ``ctx.now`` is the clock, passed in so tests
can freeze it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from commands.i18n import Translate
from commands.messages import Incoming, Reply
from commands.permissions import Role

if TYPE_CHECKING:
    from sqlmodel import Session

    from commands.forms.spec import FormDefinition
    from storage.models import Member


@dataclass(frozen=True)
class AppConfig:
    """The few settings commands need, copied from bot.settings.Settings by the composition root."""

    public_url: str = "http://localhost:8080"
    secret: str = "development-only-secret"
    default_lang: str = "zh"
    schemes_dir: str = "schemes"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def messengers(self) -> Mapping[str, str]:
        """Each messenger kpibot speaks, platform → name (``extra["messengers"]``, filled from the
        registry ``bot.messengers`` by the composition root); empty where nobody said (tests)."""
        return self.extra.get("messengers") or {}


@dataclass
class Context:
    session: Session
    actor: Member
    lang: str
    _: Translate
    now: datetime
    incoming: Incoming
    config: AppConfig
    commands: Mapping[str, Command] = field(default_factory=dict)
    """Every command the router serves (``/help`` lists those the actor may use)."""
    forms: Mapping[str, FormDefinition] = field(default_factory=dict)
    """Every form the router serves by its id (the ``FORM`` of its modules): the form engine
    finds a stored conversation's form here."""


Handler = Callable[[Context, str], list[Reply]]


@dataclass(frozen=True)
class Command:
    """One chat command, declared once next to its handler (``COMMANDS`` of a command module).

    ``roles`` may run it (required: a command without a role declaration cannot be built, and an
    unknown role fails at start-up); ``what`` and ``example`` are its ``/help`` line (English
    msgids, Chinese in the catalogue; a control word typed inside a form has neither and is not
    listed); ``refusal`` says why another role may not run it (default: a generic refusal);
    ``menu`` is its line in a platform's ``/`` menu, ``menu_rank`` its place there.
    """

    name: str
    handler: Handler
    roles: Collection[Role | str]
    what: str = ""
    example: str = ""
    refusal: str = ""
    menu: str = ""
    menu_rank: int = 0

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.lower() or " " in self.name:
            raise ValueError(f"command {self.name!r}: a name is one lower-case word")
        known = {r.value for r in Role}
        unknown = sorted(str(r) for r in self.roles if str(r) not in known)
        if unknown or not self.roles:
            raise ValueError(f"/{self.name}: roles {unknown or 'missing'} (known: {sorted(known)})")
        object.__setattr__(self, "roles", frozenset(Role(str(r)) for r in self.roles))
        if bool(self.what) != bool(self.example):
            raise ValueError(f"/{self.name}: a help line needs both what it does and an example")


@dataclass
class UnlinkedContext:
    """What a command for a not-yet-linked person gets (e.g. Telegram ``/start CODE``)."""

    session: Session
    lang: str
    _: Translate
    now: datetime
    incoming: Incoming
    config: AppConfig


UnlinkedHandler = Callable[[UnlinkedContext, str], list[Reply]]
