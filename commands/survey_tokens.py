"""What a customer survey link says: a signed token naming the agent, team, period and expiry.

A link is ``PUBLIC_URL/s/<token>``. The token is short (about 55 characters),
unguessable and signed with itsdangerous (HMAC, key ``KPIBOT_SECRET``)::

    <token id>.<agent>.<team>.<period>.<expires>[.<ref>].<signature>

``token id`` is 72 random bits (the ``customer_rating.token_id`` a rating is stored
under, so one link rates once); agent, team and period of issue are database ids and
``expires`` Unix seconds, all base 36; ``ref`` is the optional ticket or order
reference, base64url. Nothing in the token is trusted before the signature is
checked; changing any character makes it a different, invalid token (a 404).

A leaf: the ``/survey`` command (``commands.survey``) makes tokens, the survey page reads
them and ``commands.ratings`` stores a rating under one; this module imports neither.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, Signer

from commands.plain import one_line

TOKEN_SALT = "kpibot.survey.link.v1"
TOKEN_ID_BYTES = 9
MAX_REF_LENGTH = 64
DEFAULT_EXPIRY_DAYS = 7


class BadToken(ValueError):
    """The token is not one kpibot signed (forged, altered, truncated)."""


@dataclass(frozen=True)
class SurveyClaims:
    """What a valid survey link says: whose customer rates, for which period, until when."""

    token_id: str
    member_id: int
    team_id: int
    period_id: int
    expires_at: datetime
    ref: str | None = None

    def expired(self, now: datetime) -> bool:
        return _aware(now) >= self.expires_at


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _b36(number: int) -> str:
    if number < 0:
        raise ValueError("ids are never negative")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def _signer(secret: str) -> Signer:
    return Signer(secret, salt=TOKEN_SALT, key_derivation="hmac")


def clean_ref(ref: str | None) -> str | None:
    """A reference as stored: trimmed, at most :data:`MAX_REF_LENGTH` characters, or None."""
    if ref is None:
        return None
    text = one_line(ref)
    return text[:MAX_REF_LENGTH] or None


def make_token(
    secret: str,
    *,
    member_id: int,
    team_id: int,
    period_id: int,
    expires_at: datetime,
    ref: str | None = None,
    token_id: str | None = None,
) -> str:
    """Sign a new survey token; a fresh random token id unless one is given (tests)."""
    tid = token_id or secrets.token_urlsafe(TOKEN_ID_BYTES)
    fields = [
        tid,
        _b36(member_id),
        _b36(team_id),
        _b36(period_id),
        _b36(int(_aware(expires_at).timestamp())),
    ]
    ref = clean_ref(ref)
    if ref:
        fields.append(base64.urlsafe_b64encode(ref.encode("utf-8")).decode("ascii").rstrip("="))
    return _signer(secret).sign(".".join(fields)).decode("ascii")


def read_token(secret: str, token: str) -> SurveyClaims:
    """The claims of a token kpibot signed, else :class:`BadToken`. Expiry is not checked here."""
    if not token or len(token) > 400 or not token.isascii():
        raise BadToken("malformed")
    signer = _signer(secret)
    try:
        payload = signer.unsign(token).decode("ascii")
    except BadSignature as exc:
        raise BadToken("bad signature") from exc
    if signer.sign(payload).decode("ascii") != token:
        # base64 decoding ignores the spare low bits of the last character; only the
        # canonical spelling of a token is accepted, so one link has one address.
        raise BadToken("not canonical")
    parts = payload.split(".")
    if len(parts) not in (5, 6):
        raise BadToken("bad shape")
    try:
        member, team, period, expires = (int(p, 36) for p in parts[1:5])
        ref = None
        if len(parts) == 6:
            padded = parts[5] + "=" * (-len(parts[5]) % 4)
            ref = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadToken("bad field") from exc
    return SurveyClaims(
        token_id=parts[0],
        member_id=member,
        team_id=team,
        period_id=period,
        expires_at=datetime.fromtimestamp(expires, tz=UTC),
        ref=ref,
    )


def survey_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/s/{token}"


def expiry_from(now: datetime, days: int | None) -> datetime:
    return _aware(now) + timedelta(days=days if days and days > 0 else DEFAULT_EXPIRY_DAYS)
