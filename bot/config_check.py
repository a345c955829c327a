"""Start-up refuses a configuration that cannot work: every problem at once, one line each.

    from bot.config_check import problems
    found = problems(settings)          # [] when kpibot can start
    for line in found: print(line)      # in DEFAULT_LANG (zh or en)

``kpibot run`` prints the lines and exits with code 2. The checks look at what a
replica needs before it takes any traffic: the secrets that go with each platform
token (each messenger's own check, :mod:`bot.messengers`), the public address in production, the
signing key (:mod:`bot.secrets`), and the database answering.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from bot import messengers
from bot.secrets import MIN_LENGTH, weakness
from bot.settings import Settings
from commands.i18n import LANGUAGES, Translate, translator

ENVIRONMENTS = ("development", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("auto", "json", "text")
DATABASE_TIMEOUT_S = 5


def problems(settings: Settings, *, check_database: bool = True) -> list[str]:
    """What stops this configuration from running, in the configured language."""
    _ = translator(settings.default_lang)
    found: list[str] = []
    for check in CHECKS:
        found += check(settings, _)
    if check_database:
        found += database_problems(settings, _)
    return found


def _basics(s: Settings, _: Translate) -> list[str]:
    found = []
    if s.environment not in ENVIRONMENTS:
        found.append(
            _("ENVIRONMENT is {value!r}; use development or production.", value=s.environment)
        )
    if s.default_lang not in LANGUAGES:
        found.append(_("DEFAULT_LANG is {value!r}; use zh or en.", value=s.default_lang))
    if s.log_level.upper() not in LOG_LEVELS:
        found.append(
            _("LOG_LEVEL is {value!r}; use DEBUG, INFO, WARNING or ERROR.", value=s.log_level)
        )
    if s.log_format not in LOG_FORMATS:
        found.append(_("LOG_FORMAT is {value!r}; use auto, json or text.", value=s.log_format))
    if not 1 <= s.port <= 65535:
        found.append(_("PORT is {value}; use a port between 1 and 65535.", value=s.port))
    return found


def _public_url(s: Settings, _: Translate) -> list[str]:
    parts = urlsplit(s.public_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return [
            _(
                "PUBLIC_URL {url!r} is not a web address (https://kpi.example.com).",
                url=s.public_url,
            )
        ]
    if s.environment == "production" and parts.scheme != "https":
        return [
            _(
                "PUBLIC_URL {url!r} is not https. In production survey links and platform "
                "callbacks must use https.",
                url=s.public_url,
            )
        ]
    return []


def _messengers(s: Settings, _: Translate) -> list[str]:
    """Each messenger's own check (``bot/<messenger>/settings.py``)."""
    return [line for m in messengers.MESSENGERS for line in m.problems(s, _)]


def _secret(s: Settings, _: Translate) -> list[str]:
    """The same rule as :func:`bot.secrets.resolve_secret`, said in the person's language."""
    if not s.has_platform_tokens and s.environment != "production":
        return []
    given = s.kpibot_secret.get_secret_value() if s.kpibot_secret else ""
    hint = _("Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    if not given:
        return [
            _(
                "KPIBOT_SECRET is not set; with platform tokens (or in production) survey links "
                "need a strong signing key."
            )
            + " "
            + hint
        ]
    if weakness(given) is None:
        return []
    return [
        _(
            "KPIBOT_SECRET is too weak: it must be a random value of at least {n} characters, not "
            "a placeholder.",
            n=MIN_LENGTH,
        )
        + " "
        + hint
    ]


def database_problems(settings: Settings, _: Translate | None = None) -> list[str]:
    """The database answers ``SELECT 1`` within a few seconds, or one line saying why not."""
    from sqlalchemy import text
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError
    from sqlalchemy.pool import NullPool

    from storage.db import make_engine

    _ = _ or translator(settings.default_lang)
    url = settings.database_url
    try:
        backend = _backend(url)
        extra = (
            {"connect_args": {"connect_timeout": DATABASE_TIMEOUT_S}}
            if backend == "postgresql"
            else {}
        )
        engine = make_engine(url, poolclass=NullPool, **extra)
    except (ArgumentError, ValueError, ImportError):
        return [
            _(
                "DATABASE_URL is not a database URL (sqlite:///kpibot.db or "
                "postgresql://user:password@host/db)."
            )
        ]
    shown = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip()
        reason = detail.splitlines()[0] if detail else type(exc).__name__
        return [_("The database {url} cannot be reached: {reason}", url=shown, reason=reason)]
    finally:
        engine.dispose()
    return []


def _backend(url: str) -> str:
    from sqlalchemy.engine import make_url

    from storage.db import normalize_url

    return make_url(normalize_url(url)).get_backend_name()


CHECKS: tuple[Callable[[Settings, Translate], list[str]], ...] = (
    _basics,
    _public_url,
    _messengers,
    _secret,
)
