"""The signing key for survey links and forms (``KPIBOT_SECRET``), checked once at start-up.

* With platform tokens set (a real deployment) the key must be given and strong; a
  missing, short, placeholder or low-variety key is refused with :class:`SecretError`,
  so a guessable key never signs a customer link.
* Without platform tokens (trying kpibot locally) a missing key is replaced by a
  development key generated once and kept in ``<data_dir>/dev-secret`` (mode 0600),
  so links stay valid across restarts; a warning says so. A weak key given on
  purpose is used with a warning.

    from bot.secrets import resolve_secret
    secret = resolve_secret(settings)
"""

from __future__ import annotations

import logging
import os
import secrets as _random
from pathlib import Path
from typing import Protocol

from pydantic import SecretStr

log = logging.getLogger(__name__)

MIN_LENGTH = 32
MIN_DISTINCT = 12
DEV_SECRET_FILE = "dev-secret"
PLACEHOLDERS = frozenset(
    {
        "changeme",
        "change-me",
        "change_me",
        "secret",
        "password",
        "development-only-secret",
        "your-secret-here",
        "kpibot",
        "kpibot-secret",
        "test",
        "xxx",
    }
)


class SecretError(ValueError):
    """The signing key cannot be used; the message says why and what to do."""


class _HasSecret(Protocol):
    @property
    def kpibot_secret(self) -> SecretStr | None: ...

    @property
    def data_dir(self) -> Path: ...

    @property
    def has_platform_tokens(self) -> bool: ...


def weakness(value: str) -> str | None:
    """Why ``value`` is too weak to sign links, or ``None`` when it is fine."""
    stripped = value.strip()
    lowered = stripped.lower()
    if not stripped:
        return "it is empty"
    if lowered in PLACEHOLDERS or any(p in lowered for p in ("changeme", "change-me", "example")):
        return "it is a placeholder"
    if len(stripped) < MIN_LENGTH:
        return f"it has {len(stripped)} characters; at least {MIN_LENGTH} are needed"
    if len(set(stripped)) < MIN_DISTINCT:
        return f"it uses fewer than {MIN_DISTINCT} different characters"
    return None


def generate_secret() -> str:
    """A fresh random key (256 bits, URL-safe text)."""
    return _random.token_urlsafe(32)


def resolve_secret(settings: _HasSecret) -> str:
    """The key to sign survey links with, or :class:`SecretError` when start-up must stop."""
    given = settings.kpibot_secret.get_secret_value() if settings.kpibot_secret else ""
    production = settings.has_platform_tokens
    if given:
        problem = weakness(given)
        if problem is None:
            return given.strip()
        if production:
            raise SecretError(
                f"KPIBOT_SECRET is too weak ({problem}). Set it to a random value of at "
                f"least {MIN_LENGTH} characters, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
            )
        log.warning("KPIBOT_SECRET is weak (%s); acceptable only for local trials.", problem)
        return given.strip()
    if production:
        raise SecretError(
            "KPIBOT_SECRET is not set. Platform tokens are set, so survey links need a "
            f"strong signing key: a random value of at least {MIN_LENGTH} characters, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
        )
    return _development_secret(Path(settings.data_dir))


def _messengers() -> str:
    """``Slack, Telegram or Feishu``: every messenger of the registry, for the operator's log."""
    from bot import messengers
    from commands.linking import messengers_named

    return messengers_named(messengers.names(), "en")


def _development_secret(data_dir: Path) -> str:
    path = data_dir / DEV_SECRET_FILE
    if path.is_file():
        stored = path.read_text(encoding="utf-8").strip()
        if weakness(stored) is None:
            log.warning(
                "KPIBOT_SECRET is not set; using the development key in %s. "
                "Set KPIBOT_SECRET before connecting %s.",
                path,
                _messengers(),
            )
            return stored
    data_dir.mkdir(parents=True, exist_ok=True)
    value = generate_secret()
    # Create with 0600 from the start; replace an unusable file atomically.
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    os.replace(tmp, path)
    log.warning(
        "KPIBOT_SECRET is not set; generated a development key in %s. "
        "Set KPIBOT_SECRET before connecting %s.",
        path,
        _messengers(),
    )
    return value
