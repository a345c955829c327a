"""Turns an :class:`Incoming` into replies: resolves the member, finds the handler, owns the unit
of work.

Command modules declare what they serve in module-level tables:

    COMMANDS: tuple[Command, ...]  # "/rank demo 2026-10" -> the "rank" Command's handler(ctx,
    "demo 2026-10")
    ACTIONS: dict[str, Handler]    # button action "form:answer" -> ACTIONS["form"](ctx, value)
    ACTION_IDS: dict[str, tuple[str, ...]]  # every action name -> the kinds of id its value carries
    TEXT_HANDLER: Handler          # optional: plain text while a conversation is active
    UNLINKED_COMMANDS: dict[str, UnlinkedHandler]  # optional: what a not-yet-linked person may run
    FORM: FormDefinition           # optional: a form the engine walks (found by its form_id)

The router serves the modules of :data:`commands.registry.MODULES` (or those it is given). A
command is a :class:`commands.context.Command` with its roles: a bare handler is refused at
start-up, so no command can exist without saying who may run it.

Usage (an adapter, from a worker thread; ``handle`` is synchronous):

    router = build_router(engine, AppConfig(...))            # or Router(engine, config, clock)
    replies = router.handle(Incoming(platform="slack", user_id="U123", text="/rank demo"))

What ``handle`` does, in order:

1. drops a replayed delivery (same ``platform`` + ``event_id`` seen before, table
   ``processed_event``) by returning no reply at all;
2. resolves the member: ``console``/``test`` by member name or id, ``slack`` by
   ``slack_user_id``, ``telegram`` by ``telegram_user_id``; an unknown person is told,
   in ``incoming.lang_hint``'s language, how to get linked, and nothing else;
3. opens one unit of work (commit when the handler returns, rollback when it raises);
4. picks the language: the member's setting, else the team's, else the default;
5. dispatches ``/cmd args`` to its declared command (after the role check of
   ``commands.permissions.can_use``), a button to ``ACTIONS`` by the action's prefix
   before ``:`` (the handler reads the rest from ``ctx.incoming.action``) once
   ``commands.scope.check_action`` has found every id of its value in the actor's scope
   (an action not declared in ``ACTION_IDS`` is refused), plain text to
   each ``TEXT_HANDLER`` in module order until one answers (the form engine answers
   when the person has an active conversation);
6. a request that lost a race with a concurrent one (a unique key taken meanwhile, a
   serialization failure, SQLite busy) is rolled back and run again, up to 3 times;
7. an internal error is logged with a short request id, and the person gets a short
   apology quoting that id.

A reply with a chart still to draw (``Reply.chart``, a ranking's chart) comes back undrawn:
the adapter says the replies before it, then has it drawn with ``router.draw(reply)`` (in a
router worker), so the text never waits for the picture.

A handler refuses with ``permissions.require(decision)`` (the one permission guard): the router
answers a :class:`commands.permissions.Refused` with the refusal, only to the asker, exactly as
if the handler had returned it.
"""

from __future__ import annotations

import logging
import unicodedata
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError, OperationalError

from commands import outbox_charts, permissions, registry, scope
from commands.context import (
    AppConfig,
    Command,
    Context,
    Handler,
    UnlinkedContext,
    UnlinkedHandler,
)
from commands.forms.spec import FormDefinition
from commands.i18n import Translate, normalize_lang, translator
from commands.messages import Incoming, Reply
from commands.outbox import reply_from_json, reply_to_json
from storage import conversations as repo
from storage.db import unit_of_work
from storage.models import NAMED_BY_NAME

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

log = logging.getLogger(__name__)


Clock = Callable[[], datetime]
RETRIES = 3


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Registry:
    commands: Mapping[str, Command]
    actions: Mapping[str, Handler]
    action_ids: Mapping[str, tuple[str, ...]]
    text_handlers: Sequence[Handler]
    unlinked: Mapping[str, UnlinkedHandler]
    forms: Mapping[str, FormDefinition]


def collect(modules: Iterable[ModuleType]) -> Registry:
    """Merge the modules' tables; two modules claiming the same name is a start-up error, and so
    are a command that is not a :class:`Command` (no roles declared) and an action prefix without
    declared ids (or ids declared for no action)."""
    commands: dict[str, Command] = {}
    actions: dict[str, Handler] = {}
    action_ids: dict[str, tuple[str, ...]] = {}
    unlinked: dict[str, UnlinkedHandler] = {}
    texts: list[Handler] = []
    forms: dict[str, FormDefinition] = {}
    for module in modules:
        declared: Any = getattr(module, "COMMANDS", ())
        if isinstance(declared, Mapping) or not all(isinstance(c, Command) for c in declared):
            raise ValueError(
                f"{module.__name__}: COMMANDS must be Command declarations (handler, roles, help)"
            )
        for command in declared:
            if command.name in commands:
                raise ValueError(
                    f"{module.__name__}: COMMANDS {command.name!r} is already registered"
                )
            commands[command.name] = command
        tables = (
            (actions, "ACTIONS"),
            (action_ids, "ACTION_IDS"),
            (unlinked, "UNLINKED_COMMANDS"),
        )
        for target, attr in tables:
            table: Mapping[str, Any] = getattr(module, attr, {})
            for name, handler in table.items():
                if name in target:
                    raise ValueError(f"{module.__name__}: {attr} {name!r} is already registered")
                target[name] = handler
        text_handler = getattr(module, "TEXT_HANDLER", None)
        if text_handler is not None:
            texts.append(text_handler)
        form = getattr(module, "FORM", None)
        if form is not None:
            if not isinstance(form, FormDefinition):
                raise ValueError(f"{module.__name__}: FORM must be a FormDefinition")
            if form.form_id in forms:
                raise ValueError(f"{module.__name__}: FORM {form.form_id!r} is already registered")
            forms[form.form_id] = form
    prefixes = {name.split(":", 1)[0] for name in action_ids}
    if prefixes != set(actions):
        raise ValueError(
            f"actions without declared ids {sorted(set(actions) - prefixes)}, "
            f"ids of no action {sorted(prefixes - set(actions))} (ACTION_IDS, commands.scope)"
        )
    unknown = (
        {kind for kinds in action_ids.values() for kind in kinds}
        - set(scope.KINDS)
        - set(scope.NOT_AN_ID)
    )
    if unknown:
        raise ValueError(f"ACTION_IDS name unknown kinds of id: {sorted(unknown)}")
    return Registry(commands, actions, action_ids, texts, unlinked, forms)


def split_command(text: str) -> tuple[str, str] | None:
    """``"/rank demo 2026-10"`` → ``("rank", "demo 2026-10")``; ``"/rank@kpibot"`` → ``("rank",
    "")``."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "/／":
        return None
    head, _sep, rest = stripped[1:].partition(" ")
    name = unicodedata.normalize("NFKC", head).split("@", 1)[0].lower()
    if not name:
        return None
    return name, rest.strip()


class Router:
    """``Router(engine, config, clock)``; ``modules`` defaults to
    :data:`commands.registry.MODULES`."""

    def __init__(
        self,
        engine: Engine,
        config: AppConfig | None = None,
        clock: Clock | None = None,
        *,
        modules: Sequence[ModuleType] | None = None,
        platforms: Collection[str] | None = None,
    ) -> None:
        self.engine = engine
        self.platforms = None if platforms is None else frozenset(platforms)
        """The platforms a request may come from (``bot.messengers.platforms()``); any other
        is refused before anything is read. ``None``: not checked (a router built by a test)."""
        self.config = config or AppConfig()
        self.clock: Clock = clock or utc_now
        self.registry = collect(registry.MODULES if modules is None else modules)

    @property
    def commands(self) -> Mapping[str, Command]:
        return self.registry.commands

    def handle(self, incoming: Incoming) -> list[Reply]:
        request_id = uuid.uuid4().hex[:8]
        lang = normalize_lang(incoming.lang_hint, self.config.default_lang)
        if self.platforms is not None and incoming.platform not in self.platforms:
            log.warning("refused a request from an unknown platform %r", incoming.platform[:40])
            return [Reply(text=unknown_platform_text(incoming, translator(lang)), ephemeral=True)]
        try:
            return self._with_retries(incoming, request_id)
        except Exception:
            log.exception(
                "request %s failed (platform=%s user=%s text=%r action=%r)",
                request_id,
                incoming.platform,
                incoming.user_id,
                incoming.text[:80],
                incoming.action,
            )
            lang = self._lang_after_failure(incoming) or lang
            _ = translator(lang)
            return [
                Reply(
                    text=_(
                        "Sorry, something went wrong on our side. Please try again; if it keeps "
                        "happening, give the admin this reference: {ref}",
                        ref=request_id,
                    ),
                    ephemeral=True,
                )
            ]

    def draw(self, reply: Reply) -> Reply | None:
        """A reply's chart (``Reply.chart``) drawn, for the adapter to say after the replies
        before it: the reply with its image, or ``None`` when it cannot be drawn (the person
        has the text already). One unit of work of its own, off the request that made it."""
        if reply.chart is None:
            return reply
        try:
            with unit_of_work(self.engine) as session:
                return outbox_charts.draw(session, reply)
        except Exception:
            log.exception("the chart %s could not be drawn", reply.chart.name)
            return None

    def _with_retries(self, incoming: Incoming, request_id: str) -> list[Reply]:
        """One unit of work; run again when it lost a race with a concurrent request.

        Two deliveries of the same tap can both read "not submitted yet"; the loser's
        write hits a unique key (or SQLite's lock). Its transaction is rolled back whole,
        so running it again is safe, and the second run sees the winner's result.
        """
        for attempt in range(1, RETRIES + 1):
            try:
                with unit_of_work(self.engine) as session:
                    return self._handle(session, incoming, request_id)
            except (IntegrityError, OperationalError) as exc:
                if attempt == RETRIES or not _lost_a_race(exc):
                    raise
                log.info(
                    "request %s: lost a race (%s), running it again", request_id, type(exc).__name__
                )
        raise AssertionError("unreachable")

    def _lang_after_failure(self, incoming: Incoming) -> str | None:
        try:
            with unit_of_work(self.engine) as session:
                member = repo.find_member(incoming.platform, incoming.user_id, session=session)
                return repo.member_lang(member, session=session) if member else None
        except Exception:  # the database itself may be what failed
            return None

    def _handle(self, session: Session, incoming: Incoming, request_id: str) -> list[Reply]:
        now = self.clock()
        if incoming.event_id and not repo.claim_event(
            incoming.platform, incoming.event_id, now, session=session
        ):
            if incoming.recovered:
                return self._answer_again(session, incoming, request_id)
            log.info("request %s: dropped replayed event %s", request_id, incoming.event_id)
            return []
        replies = self._handle_new(session, incoming, now)
        if incoming.event_id:
            repo.record_replies(
                incoming.platform, incoming.event_id, _kept(replies), session=session
            )
        return replies

    def _answer_again(self, session: Session, incoming: Incoming, request_id: str) -> list[Reply]:
        """A request recovered from the inbox whose work was committed before the replica
        that took it stopped: its reply may never have been sent. It gets the replies kept
        with the work, or (none kept) word that it was done."""
        kept = repo.recorded_replies(incoming.platform, incoming.event_id or "", session=session)
        log.warning(
            "request %s: recovered event %s had been handled; answering it again (%s)",
            request_id,
            incoming.event_id,
            "kept replies" if kept is not None else "none kept",
        )
        if kept is not None:
            return [reply_from_json(r) for r in kept]
        member = repo.find_member(incoming.platform, incoming.user_id, session=session)
        lang = (
            repo.member_lang(member, session=session) if member is not None else incoming.lang_hint
        )
        _ = translator(normalize_lang(lang, self.config.default_lang))
        asked = incoming.text[:60] or incoming.action or "…"
        return [
            Reply(
                text=_(
                    'I did what you asked ("{text}"), but my answer to it was lost in a restart. '
                    "Send /help to see what you can do next.",
                    text=asked,
                ),
                ephemeral=True,
            )
        ]

    def _handle_new(self, session: Session, incoming: Incoming, now: datetime) -> list[Reply]:
        member = repo.find_member(incoming.platform, incoming.user_id, session=session)
        if member is None or not member.active:
            return self._unlinked(session, incoming, now, known=member is not None)
        lang = normalize_lang(repo.member_lang(member, session=session), self.config.default_lang)
        ctx = Context(
            session=session,
            actor=member,
            lang=lang,
            _=translator(lang),
            now=now,
            incoming=incoming,
            config=self.config,
            commands=self.registry.commands,
            forms=self.registry.forms,
        )
        try:
            return self._dispatch(ctx)
        except permissions.Refused as refused:
            return [permissions.refusal(refused.decision, ctx._)]

    def _unlinked(
        self, session: Session, incoming: Incoming, now: datetime, *, known: bool
    ) -> list[Reply]:
        lang = normalize_lang(incoming.lang_hint, self.config.default_lang)
        _ = translator(lang)
        parsed = split_command(incoming.text) if incoming.action is None else None
        if parsed and parsed[0] in self.registry.unlinked and not known:
            uctx = UnlinkedContext(session, lang, _, now, incoming, self.config)
            return self.registry.unlinked[parsed[0]](uctx, parsed[1])
        if known:
            return [Reply(text=_(permissions.INACTIVE), ephemeral=True)]
        names = self.config.extra.get("messengers") or {}
        messenger = _(str(names.get(incoming.platform, incoming.platform)))
        return [Reply(text=unlinked_text(incoming, _, messenger), ephemeral=True)]

    def _dispatch(self, ctx: Context) -> list[Reply]:
        incoming, _ = ctx.incoming, ctx._
        if incoming.action:
            prefix = incoming.action.split(":", 1)[0]
            action = self.registry.actions.get(prefix)
            kinds = self.registry.action_ids.get(incoming.action)
            if action is None or kinds is None:
                return [
                    Reply(
                        text=_("That button no longer works. Send /help to see what you can do."),
                        ephemeral=True,
                    )
                ]
            refused = scope.check_action(ctx, kinds, incoming.value or "")
            if refused is not None:
                log.info("refused %s with an id outside the actor's scope", incoming.action)
                return [refused]
            return action(ctx, incoming.value or "")
        parsed = split_command(incoming.text)
        if (
            incoming.file is not None
        ):  # a file sent to kpibot is an import; its caption says of what
            parsed = (
                "import",
                parsed[1] if parsed is not None and parsed[0] == "import" else incoming.text,
            )
        if parsed is not None:
            name, args = parsed
            command = self.registry.commands.get(name)
            if command is None:
                return [
                    Reply(
                        text=_(
                            "I don't know the command /{command}. Send /help to see what you can "
                            "use.",
                            command=name,
                        ),
                        ephemeral=True,
                    )
                ]
            permissions.require(permissions.can_use(ctx.actor, command))
            return command.handler(ctx, args)
        if not incoming.text.strip():
            return []
        for text_handler in self.registry.text_handlers:
            replies = text_handler(ctx, incoming.text)
            if replies:
                return replies
        if incoming.chat == "group":
            return []
        return [Reply(text=_("I did not understand that. Send /help to see what you can do."))]


KEEP_REPLIES_BYTES = 64_000
"""Replies larger than this (an export's file) are not kept for a second answer."""


def _kept(replies: list[Reply]) -> list[dict[str, Any]] | None:
    """The replies as kept with the work, ``None`` when too big to keep."""
    import json

    data = [reply_to_json(r) for r in replies]
    return data if len(json.dumps(data, ensure_ascii=False)) <= KEEP_REPLIES_BYTES else None


def _lost_a_race(exc: Exception) -> bool:
    """A unique key taken meanwhile, a serialization failure, a deadlock, or SQLite busy."""
    if isinstance(exc, IntegrityError):
        return True
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    text = str(exc).lower()
    return code in ("40001", "40P01") or "database is locked" in text or "busy" in text


def unlinked_text(incoming: Incoming, _: Translate, messenger: str | None = None) -> str:
    """How a person the bot does not know gets linked; says nothing about any member.
    ``messenger``: the platform's name as people read it (``飞书``)."""
    if incoming.platform == "slack":
        return _(
            "I don't know you yet. Ask your kpibot admin to add you with your Slack user id "
            "{user_id}, for example: kpibot member add --team TEAM --name NAME --role agent "
            "--slack {user_id}",
            user_id=incoming.user_id,
        )
    if incoming.platform == "telegram":
        return _(
            "I don't know you yet. Ask your kpibot admin for a one-time link code and send it to "
            "me here: /start CODE. Or the admin can add you with your Telegram user id {user_id}: "
            "kpibot member add --team TEAM --name NAME --role agent --telegram {user_id}",
            user_id=incoming.user_id,
        )
    if incoming.platform not in NAMED_BY_NAME:
        return _(
            "I don't know you yet. Ask your kpibot admin for a one-time link code and send it to "
            "me here: /start CODE. Or the admin can link your {messenger} account (your id there "
            "is {user_id}): kpibot member link --team TEAM --name NAME --platform {platform} --id "
            "{user_id}",
            messenger=messenger or incoming.platform,
            platform=incoming.platform,
            user_id=incoming.user_id,
        )
    return _(
        "There is no member called {name}. Ask your kpibot admin to add you: kpibot member add "
        "--team TEAM --name NAME --role agent",
        name=incoming.user_id,
    )


def unknown_platform_text(incoming: Incoming, _: Translate) -> str:
    return _(
        "kpibot is not set up for {platform}, so nothing was done.",
        platform=incoming.platform,
    )


def build_router(
    engine: Engine,
    config: AppConfig | None = None,
    clock: Clock | None = None,
    *,
    platforms: Collection[str] | None = None,
) -> Router:
    """The router with every module of :data:`commands.registry.MODULES`, taking requests
    from ``platforms`` only (when given)."""
    return Router(engine, config, clock, platforms=platforms)
