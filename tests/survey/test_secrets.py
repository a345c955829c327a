"""The signing key: refused when weak in production, generated once for local trials."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from bot.secrets import DEV_SECRET_FILE, SecretError, resolve_secret, weakness
from bot.settings import load_settings

STRONG = "Zq3v-8Rk_2pWn5Yt7Lc9Hs4Jd6Fb1Mx0Ge"


def settings(tmp_path: Path, **kw: object):  # type: ignore[no-untyped-def]
    return load_settings(data_dir=tmp_path / "data", _env_file=None, **kw)


@pytest.mark.parametrize("token_field", ["slack_bot_token", "telegram_bot_token"])
def test_a_missing_key_is_refused_when_platform_tokens_are_set(
    tmp_path: Path, token_field: str
) -> None:
    with pytest.raises(SecretError, match="KPIBOT_SECRET is not set"):
        resolve_secret(settings(tmp_path, **{token_field: "xoxb-1"}))
    assert not (tmp_path / "data" / DEV_SECRET_FILE).exists()


@pytest.mark.parametrize(
    "weak",
    [
        "changeme",
        "secret",
        "short-but-random-7Gq",
        "a" * 64,
        "abababababababababababababababababab",
        "development-only-secret",
        "please-changeme-0123456789abcdefghijkl",
    ],
)
def test_a_weak_key_is_refused_when_platform_tokens_are_set(tmp_path: Path, weak: str) -> None:
    with pytest.raises(SecretError, match="too weak"):
        resolve_secret(settings(tmp_path, telegram_bot_token="123:abc", kpibot_secret=weak))


def test_a_strong_key_is_used_as_given(tmp_path: Path) -> None:
    s = settings(tmp_path, slack_bot_token="xoxb-1", kpibot_secret=STRONG)
    assert resolve_secret(s) == STRONG
    assert weakness(STRONG) is None


def test_without_tokens_a_development_key_is_generated_once_and_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.secrets"):
        first = resolve_secret(settings(tmp_path))
    assert "development key" in caplog.text
    assert (
        "before connecting Slack, Telegram or Feishu." in caplog.text
    )  # the registry's messengers
    assert weakness(first) is None
    path = tmp_path / "data" / DEV_SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert resolve_secret(settings(tmp_path)) == first


def test_a_damaged_development_key_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / DEV_SECRET_FILE).write_text("x\n")
    key = resolve_secret(settings(tmp_path))
    assert weakness(key) is None
    assert (tmp_path / "data" / DEV_SECRET_FILE).read_text().strip() == key


def test_two_installations_get_different_development_keys(tmp_path: Path) -> None:
    assert resolve_secret(settings(tmp_path / "a")) != resolve_secret(settings(tmp_path / "b"))


def test_a_weak_key_without_tokens_is_used_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.secrets"):
        assert resolve_secret(settings(tmp_path, kpibot_secret="changeme")) == "changeme"
    assert "weak" in caplog.text
