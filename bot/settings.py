"""One settings object, read from the environment (and an optional .env) once at start-up.

Each messenger brings its own fields (:attr:`bot.messenger.Messenger.settings`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot import messengers


class Settings(*(m.settings for m in messengers.MESSENGERS), BaseSettings):  # type: ignore[misc]
    """kpibot's own settings, and every messenger's (``bot/<messenger>/settings.py``)."""

    # An empty variable (``SLACK_BOT_TOKEN=`` in a compose .env file) counts as not set.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    database_url: str = "sqlite:///kpibot.db"
    data_dir: Path = Path("data")
    port: int = 8080
    public_url: str = Field(
        default="",
        description="where people reach kpibot (survey links); default http://localhost:PORT",
    )
    environment: str = Field(default="development", description="development | production")
    cycle_enabled: bool | None = Field(
        default=None,
        description="run the monthly schedule (open, remind, close, publish); default: only in "
        "production",
    )
    default_lang: str = "zh"
    log_level: str = "INFO"
    log_format: str = Field(
        default="auto", description="auto (JSON unless on a terminal) | json | text"
    )
    router_processes: int | None = Field(
        default=None,
        ge=0,
        description="worker processes for commands (the router), so acks never wait for them; "
        "default: one per core but one (1 to 4); 0: threads of the replica's own process",
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="proxies whose X-Forwarded-For / X-Forwarded-Proto are trusted "
        "(comma-separated "
        "addresses or networks, passed to uvicorn); behind deploy/compose.yml set the proxy's "
        "network, "
        "e.g. 172.16.0.0/12; a client outside it is known by its own address",
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="largest request body (Slack, Telegram, survey posts); a bigger one gets 413 "
        "unread",
    )
    survey_rate_limit: int = Field(
        default=30,
        ge=1,
        description="survey page requests a minute from one client address (IPv6: one /64), "
        "counted across every replica sharing the database",
    )
    shutdown_grace_s: float = Field(
        default=20.0,
        gt=0,
        description="SIGTERM: the process ends within this many seconds, whatever hangs",
    )
    lease_s: float = Field(
        default=30.0,
        gt=0,
        description="a replica that stops renewing its claims (outbox rows, stored requests) for "
        "this "
        "long is taken to be dead: another one takes them over",
    )

    kpibot_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _public_url_follows_the_port(self) -> Settings:
        """Without PUBLIC_URL, kpibot is reached on this machine at its own PORT (the banner of
        ``kpibot run`` and the survey links say the port it listens on, not always 8080)."""
        if not self.public_url:
            self.public_url = f"http://localhost:{self.port}"
        return self

    @property
    def has_platform_tokens(self) -> bool:
        return any(m.enabled(self) for m in messengers.MESSENGERS)


def load_settings(**overrides: object) -> Settings:
    """Read the settings; tests pass overrides instead of touching the environment."""
    return Settings(**overrides)  # type: ignore[arg-type]
