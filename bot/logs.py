"""Logs: one JSON object a line (or plain text on a terminal), never a secret.

    from bot.logs import configure, request_context
    configure(settings)                      # once, in `kpibot run`
    with request_context(request_id="ab12cd34", platform="slack", team="demo"):
        log.info("...")                      # the line carries request_id, platform, team

What a line never holds:

* **tokens and secrets.** Every formatted line (message, arguments, traceback) goes
  through :func:`redact`: the values of the secrets in the settings (bot tokens, the
  signing secret, ``KPIBOT_SECRET``, the database password …) and anything shaped like
  a Slack token (``xoxb-…``, ``xapp-…``), a Feishu access token (``t-…``, ``u-…``) or a
  Telegram bot token (``123456:ABC…``, also
  inside ``/bot<token>/`` URLs) are replaced by ``[redacted]``;
* **what people typed** (a survey comment, a review answer): ``text='…'`` /
  ``comment='…'`` fields in a message are replaced by ``[redacted]`` as well, so a
  failure logged with "the request that failed" shows the command, not its words.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

REDACTED = "[redacted]"
CONTEXT_FIELDS = ("request_id", "platform", "team")

_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar(
    "kpibot_log_context",
    default={},  # noqa: B039 - never mutated
)

TOKEN_PATTERNS = (
    re.compile(r"\bxox[abposre]-[A-Za-z0-9-]+"),  # Slack bot/user/config tokens
    re.compile(r"\bxapp-[A-Za-z0-9-]+"),  # Slack app-level token
    re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}"),  # Telegram bot token
    re.compile(r"\b[tu]-[A-Za-z0-9]{30,}"),  # Feishu tenant and user access tokens (t-…, u-…)
    re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),  # user:password@ in a URL
)
TYPED_TEXT = re.compile(
    r"""\b(text|comment|comments|answers|values)=(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\{[^}]*\})"""
)


@contextmanager
def request_context(**fields: str | None) -> Iterator[None]:
    """Fields added to every log line inside the block (and in threads started from it
    with ``asyncio.to_thread``, which copies the context)."""
    merged = {**_context.get(), **{k: str(v) for k, v in fields.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> dict[str, str]:
    return dict(_context.get())


class Redactor:
    """Replaces known secret values and token-shaped strings."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        for value in secrets:
            if value and len(value) >= 6 and value not in self.secrets:
                self.secrets.append(value)
        self.secrets.sort(key=len, reverse=True)  # a longer secret containing a shorter one first

    def __call__(self, text: str) -> str:
        for value in self.secrets:
            if value in text:
                text = text.replace(value, REDACTED)
        for pattern in TOKEN_PATTERNS:
            text = pattern.sub(REDACTED, text)
        return TYPED_TEXT.sub(_typed, text)


def _typed(match: re.Match[str]) -> str:
    """``text='/review 李娜 great work'`` → ``text='/review [redacted]'``: the command stays."""
    name, quoted = match.group(1), match.group(0).split("=", 1)[1]
    body = quoted[1:-1]
    if body.startswith("/"):
        command = body.split(maxsplit=1)[0]
        rest = " " + REDACTED if len(body) > len(command) else ""
        return f"{name}={quoted[0]}{command}{rest}{quoted[-1]}"
    return f"{name}={REDACTED}"


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", "request_id", "platform", "team", "exc"}``."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redact = redactor

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        context = _context.get()
        for name in CONTEXT_FIELDS:
            if name in context:
                line[name] = context[name]
        if record.exc_info:
            line["exc"] = self.redact(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exc"] = self.redact(record.exc_text)
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """For a person at a terminal; redacted the same way."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(kpibot_ctx)s %(message)s")
        self.redact = redactor

    def format(self, record: logging.LogRecord) -> str:
        context = _context.get()
        record.kpibot_ctx = "".join(f" {k}={context[k]}" for k in CONTEXT_FIELDS if k in context)
        return self.redact(super().format(record))


def secret_values(settings: Any) -> list[str]:
    """Every secret value in a settings object (``SecretStr`` fields, the database password)."""
    values: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name, None)
        if isinstance(value, SecretStr):
            values.append(value.get_secret_value())
    url = getattr(settings, "database_url", "") or ""
    try:
        from sqlalchemy.engine import make_url

        password = make_url(url).password
        if password:
            values.append(str(password))
    except Exception:  # a bad URL is reported by the configuration check
        pass
    return values


def use_json(log_format: str, stream: Any = None) -> bool:
    if log_format == "json":
        return True
    if log_format == "text":
        return False
    stream = stream or sys.stderr
    return not (hasattr(stream, "isatty") and stream.isatty())


def configure(
    settings: Any, *, stream: Any = None, extra_secrets: Iterable[str] = ()
) -> logging.Handler:
    """Route every log record (kpibot's, uvicorn's, the SDKs') through one redacting handler."""
    redactor = Redactor([*secret_values(settings), *extra_secrets])
    handler = logging.StreamHandler(stream or sys.stderr)
    fmt = getattr(settings, "log_format", "auto")
    handler.setFormatter(
        JsonFormatter(redactor) if use_json(fmt, stream) else TextFormatter(redactor)
    )
    handler.set_name("kpibot")
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == "kpibot":
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(str(getattr(settings, "log_level", "INFO")).upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # httpx logs every request URL at INFO; Telegram's URL holds the bot token (redacted
    # anyway, and far too chatty for a broadcast of thousands of messages).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return handler
