"""The customer survey page: ``GET /s/{token}`` renders, ``POST /s/{token}`` stores.

Chat link previews (Slack's unfurler, Telegram's preview) fetch every URL posted, so a
GET never writes anything. The page is one small HTML document with its CSS inline:
no JavaScript at all, no external resource, usable with JavaScript off and on a slow
phone, in Chinese or English (``Accept-Language``, ``?lang=`` switch).

Answers to hostile input:

* forged, altered or truncated token → 404, nothing stored;
* expired link → 410 with a kind page, nothing stored;
* stars outside 1–5, a comment over :data:`MAX_COMMENT` characters, a missing or invalid
  form token, a foreign ``Origin`` → 400 with the form again and a message;
* a body over :data:`MAX_BODY` bytes → 413 without reading further;
* more than ``survey_rate_limit`` requests a minute from one address (IPv6: one /64) →
  429 with ``Retry-After``; other addresses are not affected. The count is kept in the
  database (:class:`SharedLimiter`), so every replica shares one limit per address.

The form token (CSRF) is signed with the secret, bound to the link's token id and
dated (valid :data:`FORM_MAX_AGE_S`). No cookie is needed: a customer has no session
to ride on, so the token proves that a POST comes from a page this server rendered
for this link, which is what a cookie would add here as well, and it keeps the page
working in in-app browsers that drop cookies.
"""

from __future__ import annotations

import base64
import hashlib
import html
import ipaddress
import logging
import math
import time
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bot.bodies import read_capped
from commands import ratings
from commands.context import AppConfig
from commands.i18n import Translate, normalize_lang, translator
from commands.plain import printable
from commands.survey_tokens import BadToken, SurveyClaims, read_token
from storage.db import unit_of_work

log = logging.getLogger(__name__)

MAX_COMMENT = ratings.MAX_COMMENT
MAX_BODY = 16 * 1024
FORM_MAX_AGE_S = 2 * 24 * 3600
FORM_SALT = "kpibot.survey.form.v1"
DEFAULT_RATE_LIMIT = 30
RATE_WINDOW_S = 60.0
POLICY_TTL_S = 60.0
STATIC_CSS = Path(__file__).with_name("static") / "survey.css"

Clock = Callable[[], datetime]


# ---------------------------------------------------------------- rate limiting


class AddressLimiter:
    """At most ``limit`` requests per ``window_s`` per client address (sliding estimate).

    Two fixed windows (the current and the previous one) weighted by overlap, so
    memory is bounded by the addresses seen in the last two windows and a burst at a
    window edge cannot double the rate.
    """

    def __init__(
        self,
        limit: int,
        window_s: float = RATE_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = max(1, limit)
        self.window_s = window_s
        self._clock = clock
        self._window = -1
        self._current: dict[str, int] = {}
        self._previous: dict[str, int] = {}

    def hit(self, address: str) -> int:
        """Count one request; 0 when allowed, else the seconds to wait (``Retry-After``)."""
        now = self._clock()
        window = int(now // self.window_s)
        if window != self._window:
            self._previous = self._current if window == self._window + 1 else {}
            self._current = {}
            self._window = window
        elapsed = (now % self.window_s) / self.window_s
        estimate = self._previous.get(address, 0) * (1 - elapsed) + self._current.get(address, 0)
        if estimate + 1 > self.limit:
            return max(1, math.ceil(self.window_s * (1 - elapsed)))
        self._current[address] = self._current.get(address, 0) + 1
        return 0


class SharedLimiter:
    """:class:`AddressLimiter`'s rule counted in the database (``survey_rate_hit``), so that
    every replica on one database shares one limit per client address.

    The windows are numbered from the epoch by the wall clock (replicas share it, not their
    monotonic clocks). A request is counted only if the count stays within the limit, in one
    statement, so replicas counting the same address at once never let more through. When
    the database does not answer, the replica falls back to counting in its own memory
    (the limit then holds per replica) rather than refusing every customer.
    """

    blocking = True

    def __init__(
        self,
        engine: Engine,
        limit: int,
        window_s: float = RATE_WINDOW_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.limit = max(1, limit)
        self.window_s = window_s
        self._clock = clock
        self._forgotten = -1
        self._fallback = AddressLimiter(limit, window_s, clock)

    def hit(self, address: str) -> int:
        """Count one request; 0 when allowed, else the seconds to wait (``Retry-After``)."""
        from storage import survey as survey_store

        now = self._clock()
        window = int(now // self.window_s)
        elapsed = (now % self.window_s) / self.window_s
        try:
            with unit_of_work(self.engine) as session:
                if window != self._forgotten:
                    survey_store.forget_rate_hits(session=session, before_window=window - 1)
                    self._forgotten = window
                previous = survey_store.rate_hits(
                    session=session, address=address, window=window - 1
                )
                room = self.limit - previous * (1 - elapsed)
                taken = survey_store.take_rate_hit(
                    session=session, address=address, window=window, room=room
                )
        except OperationalError:
            log.warning("survey rate limit: the database did not answer; counting in memory")
            return self._fallback.hit(address)
        if taken:
            return 0
        return max(1, math.ceil(self.window_s * (1 - elapsed)))


Limiter = AddressLimiter | SharedLimiter


def client_key(request: Request) -> str:
    """The address a limit applies to: the IPv4 address, or the /64 of an IPv6 address."""
    host = request.client.host if request.client else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped
        if mapped is not None:
            return str(mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


# ---------------------------------------------------------------- language


def pick_lang(request: Request, default: str) -> str:
    """``?lang=`` first, then the best of zh/en in ``Accept-Language``, then the default."""
    asked = request.query_params.get("lang")
    if asked in ("zh", "en"):
        return asked
    best, best_q = None, 0.0
    for part in request.headers.get("accept-language", "").split(",")[:20]:
        name, _sep, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        code = normalize_lang(name, default="")
        if code and q > best_q:
            best, best_q = code, q
    return best or normalize_lang(default)


# ---------------------------------------------------------------- rendering


@lru_cache(maxsize=1)
def _css() -> tuple[str, str]:
    text = STATIC_CSS.read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return text, f"'sha256-{digest}'"


def _headers() -> dict[str, str]:
    _text, css_hash = _css()
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src {css_hash}; img-src data:; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        ),
        # The link is the credential: never send it to another site in a Referer.
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
        "X-Robots-Tag": "noindex, nofollow",
        "Cache-Control": "no-store",
    }


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _star_labels(_: Translate) -> list[str]:
    return [
        _("Very dissatisfied"),
        _("Dissatisfied"),
        _("Neutral"),
        _("Satisfied"),
        _("Very satisfied"),
    ]


def _page(lang: str, title: str, body: str, *, switch: str = "") -> str:
    css, _hash = _css()
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (
        f'<!doctype html><html lang="{html_lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex,nofollow">'
        '<meta name="referrer" content="same-origin">'
        f"<title>{_e(title)}</title><style>{css}</style></head>"
        f'<body><main>{switch}<div class="card">{body}</div></main></body></html>'
    )


def _switch(lang: str, path: str) -> str:
    zh = '<a href="{}?lang=zh" lang="zh-CN" hreflang="zh-CN"{}>中文</a>'.format(
        _e(path), ' aria-current="true"' if lang == "zh" else ""
    )
    en = '<a href="{}?lang=en" lang="en" hreflang="en"{}>English</a>'.format(
        _e(path), ' aria-current="true"' if lang == "en" else ""
    )
    label = "语言 / Language"
    return f'<nav class="top" aria-label="{label}">{zh}{en}</nav>'


@dataclass
class FormState:
    stars: str = ""
    comment: str = ""
    resolved: str = ""
    error: str = ""
    error_field: str = ""
    note: str = ""


def render_form(lang: str, path: str, csrf: str, state: FormState) -> str:
    _ = translator(lang)
    labels = _star_labels(_)
    parts: list[str] = [
        f"<h1>{_e(_('How satisfied are you with the service you received?'))}</h1>",
        '<p class="muted">'
        f"{_e(_('It takes ten seconds and goes to the agent who helped you.'))}</p>",
    ]
    if state.note:
        parts.append(f'<p class="muted">{_e(state.note)}</p>')
    if state.error:
        parts.append(f'<div class="error" role="alert" id="form-error">{_e(state.error)}</div>')
    parts.append(f'<form method="post" action="{_e(path)}" accept-charset="utf-8">')
    parts.append(f'<input type="hidden" name="csrf" value="{_e(csrf)}">')
    parts.append(f'<input type="hidden" name="lang" value="{_e(lang)}">')
    invalid = (
        ' aria-invalid="true" aria-describedby="form-error"' if state.error_field == "stars" else ""
    )
    parts.append(
        f"<fieldset{invalid}><legend>{_e(_('Your rating'))} "
        f'<span class="req">({_e(_("required"))})</span></legend><div class="opts">'
    )
    for value, label in enumerate(labels, start=1):
        checked = " checked" if state.stars == str(value) else ""
        parts.append(
            f'<div class="opt"><input type="radio" id="stars-{value}" name="stars" '
            f'value="{value}" required{checked}><label for="stars-{value}">'
            f'<span class="n" aria-hidden="true">{value}</span>'
            f'<span>{_e(label)}<span class="sr"> ({value}/5)</span></span></label></div>'
        )
    parts.append("</div></fieldset>")
    parts.append(
        f"<fieldset><legend>{_e(_('Was your problem solved?'))} "
        f'<span class="req">({_e(_("optional"))})</span></legend><div class="opts row">'
    )
    for answer, label in (("yes", _("Yes, solved")), ("no", _("No, not solved"))):
        checked = " checked" if state.resolved == answer else ""
        parts.append(
            f'<div class="opt"><input type="radio" id="resolved-{answer}" name="resolved" '
            f'value="{answer}"{checked}><label for="resolved-{answer}">{_e(label)}</label></div>'
        )
    parts.append("</div></fieldset>")
    invalid = ' aria-invalid="true"' if state.error_field == "comment" else ""
    parts.append(
        f'<label class="block" for="comment">{_e(_("Anything to add?"))} '
        f'<span class="req">({_e(_("optional"))})</span></label>'
        f'<textarea id="comment" name="comment" maxlength="{MAX_COMMENT}" rows="4" '
        f'aria-describedby="comment-hint"{invalid}>{_e(state.comment)}</textarea>'
        f'<p class="hint" id="comment-hint">'
        f"{_e(_('Up to {n} characters.', n=MAX_COMMENT))}</p>"
    )
    parts.append(f'<button type="submit">{_e(_("Send rating"))}</button></form>')
    return _page(lang, _("Rate our service"), "".join(parts), switch=_switch(lang, path))


def render_message(lang: str, path: str | None, title: str, text: str, icon: str = "") -> str:
    big = f'<p class="big" aria-hidden="true">{icon}</p>' if icon else ""
    body = f"{big}<h1>{_e(title)}</h1><p>{_e(text)}</p>"
    return _page(lang, title, body, switch=_switch(lang, path) if path else "")


# ---------------------------------------------------------------- the routes


@dataclass
class _PolicyCache:
    ttl_s: float = POLICY_TTL_S
    entries: dict[int, tuple[float, ratings.RepeatPolicy]] = field(default_factory=dict)

    def get(self, team_id: int) -> ratings.RepeatPolicy | None:
        hit = self.entries.get(team_id)
        if hit and time.monotonic() - hit[0] < self.ttl_s:
            return hit[1]
        return None

    def put(self, team_id: int, policy: ratings.RepeatPolicy) -> None:
        if len(self.entries) > 10_000:
            self.entries.clear()
        self.entries[team_id] = (time.monotonic(), policy)


@dataclass(frozen=True)
class Submission:
    stars: int
    comment: str | None
    resolved: bool | None


def clean_comment(text: str) -> str:
    """NFC, unified newlines, no control characters but newline and tab, trimmed."""
    return printable(unicodedata.normalize("NFC", text)).strip()


def parse_submission(
    fields: dict[str, list[str]], _: Translate
) -> tuple[Submission | None, FormState]:
    """Validate the posted fields; the state to re-render (with a message) when invalid."""

    def one(name: str) -> str:
        values = fields.get(name, [])
        return values[0] if len(values) == 1 else ("" if not values else "\x00many")

    state = FormState(stars=one("stars"), comment=one("comment"), resolved=one("resolved"))
    if state.comment == "\x00many":
        state.comment = ""
    comment = clean_comment(state.comment)
    if state.stars not in {"1", "2", "3", "4", "5"}:
        bad = state.stars
        state.stars = ""
        state.error_field = "stars"
        state.error = (
            _("Please choose a rating from 1 to 5.")
            if not bad
            else _("A rating must be a whole number from 1 to 5.")
        )
        return None, state
    if len(comment) > MAX_COMMENT:
        state.error_field = "comment"
        state.error = _(
            "Your comment has {count} characters; please shorten it to {n}.",
            count=len(comment),
            n=MAX_COMMENT,
        )
        return None, state
    if state.resolved not in {"", "yes", "no"}:
        state.resolved = ""
        state.error = _("Please answer yes or no, or leave the question out.")
        return None, state
    resolved = None if not state.resolved else state.resolved == "yes"
    return Submission(int(state.stars), comment or None, resolved), state


class SurveyPage:
    """The survey page of one replica, bound to one engine and the signing secret:
    :meth:`routes` are ``GET /s/{token}`` (:meth:`show`) and ``POST /s/{token}``
    (:meth:`submit`), each answering 503 with a kind page while the database is away."""

    def __init__(
        self,
        engine: Engine,
        config: AppConfig,
        *,
        clock: Clock | None = None,
        limiter: Limiter | None = None,
    ) -> None:
        self.engine = engine
        self.secret = config.secret
        self.default_lang = config.default_lang
        self.public_origin = _origin(config.public_url)
        self.now: Clock = clock or (lambda: datetime.now(UTC))
        limit = int(config.extra.get("survey_rate_limit", DEFAULT_RATE_LIMIT))
        self.flood: Limiter = limiter or SharedLimiter(engine, limit)
        self.form_signer = _ClockedSigner(self.secret, salt=FORM_SALT, key_derivation="hmac")
        self.form_signer.clock = self.now
        self.policies = _PolicyCache()

    def routes(self) -> list[Route]:
        return [
            Route(
                "/s/{token}", self._guarded(self.show), methods=["GET", "HEAD"], name="survey_show"
            ),
            Route("/s/{token}", self._guarded(self.submit), methods=["POST"], name="survey_submit"),
        ]

    # -- the two pages ------------------------------------------------------------------

    async def show(self, request: Request) -> Response:
        lang = pick_lang(request, self.default_lang)
        wait = await self.flooded(request)
        if wait:
            return self.too_many(lang, wait)
        claims = self.claims_of(request)
        if claims is None:
            return self.not_found(lang)
        path = request.url.path
        if claims.expired(self.now()):
            return self.expired(lang, path)
        existing = await run_in_threadpool(self.read_existing, claims)
        state = FormState()
        if existing is not None:
            policy = await run_in_threadpool(self.policy_for, claims.team_id)
            if policy == "refuse":
                return respond(_already(lang, path), 200)
            state = _state_of(existing, translator(lang))
        return respond(render_form(lang, path, self.form_token(claims), state))

    async def submit(self, request: Request) -> Response:
        wait = await self.flooded(request)
        lang = pick_lang(request, self.default_lang)
        if wait:
            return self.too_many(lang, wait)
        claims = self.claims_of(request)
        if claims is None:
            return self.not_found(lang)
        path = request.url.path
        body = await _read_body(request)
        if body is None:
            _ = translator(lang)
            return respond(
                render_message(
                    lang, path, _("That was too much text"), _("Please go back and shorten it.")
                ),
                413,
            )
        fields = _parse_form(request, body)
        posted_lang = (fields.get("lang") or [""])[0]
        if posted_lang in ("zh", "en") and "lang" not in request.query_params:
            lang = posted_lang
        _ = translator(lang)
        if claims.expired(self.now()):
            return self.expired(lang, path)
        if not self.from_this_page(request, fields, claims):
            return self.form_again(lang, path, claims, fields)
        submission, state = parse_submission(fields, _)
        if submission is None:
            return respond(render_form(lang, path, self.form_token(claims), state), 400)
        return await self.store(lang, path, claims, submission)

    async def store(
        self, lang: str, path: str, claims: SurveyClaims, submission: Submission
    ) -> Response:
        """Record a valid submission and say so (or why not)."""
        _ = translator(lang)
        policy = self.policies.get(claims.team_id)
        outcome = await run_in_threadpool(
            _store, self.engine, claims, submission, self.now(), policy, self.policies
        )
        policy = self.policies.get(claims.team_id) or policy
        if outcome == "missing":
            return self.not_found(lang)
        if outcome == "refused":
            return respond(_already(lang, path), 409)
        if policy == "replace":
            text = _(
                "Your rating has been recorded. You can change it with the same link until it "
                "expires."
            )
        else:
            text = _("Your rating has been recorded.")
        return respond(render_message(lang, None, _("Thank you!"), text, "✓"))

    def from_this_page(
        self, request: Request, fields: dict[str, list[str]], claims: SurveyClaims
    ) -> bool:
        """A well-formed form, its token this link's and fresh, and no foreign ``Origin``."""
        origin = request.headers.get("origin")
        # "null": browsers under a strict referrer policy send no origin; the form
        # token still has to match.
        own = {self.public_origin, _origin(str(request.base_url)), "null"}
        csrf_ok = self.form_token_ok((fields.get("csrf") or [""])[0], claims)
        return fields is not _BAD_FORM and csrf_ok and not (origin and origin not in own)

    def form_again(
        self, lang: str, path: str, claims: SurveyClaims, fields: dict[str, list[str]]
    ) -> Response:
        """400: the form once more, with what was typed, for a POST not from this page."""
        _ = translator(lang)
        state = FormState(
            error=_("This form has expired or was not sent from this page. Please try again.")
        )
        if fields is not _BAD_FORM:
            _sub, keep = parse_submission(fields, _)
            state.stars, state.comment, state.resolved = keep.stars, keep.comment, keep.resolved
        return respond(render_form(lang, path, self.form_token(claims), state), 400)

    # -- what the pages ask ---------------------------------------------------------------

    async def flooded(self, request: Request) -> int:
        """Seconds to wait before this address may ask again (0: go ahead)."""
        key = client_key(request)
        if getattr(self.flood, "blocking", False):
            return await run_in_threadpool(self.flood.hit, key)
        return self.flood.hit(key)

    def policy_for(self, team_id: int) -> ratings.RepeatPolicy:
        cached = self.policies.get(team_id)
        if cached is None:
            with unit_of_work(self.engine) as session:
                cached = ratings.repeat_policy(session, team_id=team_id)
            self.policies.put(team_id, cached)
        return cached

    def claims_of(self, request: Request) -> SurveyClaims | None:
        try:
            return read_token(self.secret, request.path_params["token"])
        except BadToken:
            return None

    def form_token(self, claims: SurveyClaims) -> str:
        return self.form_signer.sign(claims.token_id).decode("ascii")

    def form_token_ok(self, value: str, claims: SurveyClaims) -> bool:
        if not value or len(value) > 200:
            return False
        try:
            signed = self.form_signer.unsign(value, max_age=FORM_MAX_AGE_S)
        except (SignatureExpired, BadSignature):
            return False
        return signed.decode("ascii", "replace") == claims.token_id

    def read_existing(self, claims: SurveyClaims) -> ratings.RatingView | None:
        with unit_of_work(self.engine) as session:
            return ratings.find_rating(session, token_id=claims.token_id)

    # -- the answers that are not the form --------------------------------------------------

    @staticmethod
    def not_found(lang: str) -> Response:
        _ = translator(lang)
        return respond(
            render_message(
                lang,
                None,
                _("This link is not valid"),
                _("Please check that the whole link was copied, or ask for a new one."),
            ),
            404,
        )

    @staticmethod
    def too_many(lang: str, wait: int) -> Response:
        _ = translator(lang)
        return respond(
            render_message(
                lang,
                None,
                _("Too many requests"),
                _("Please wait a minute and try again."),
            ),
            429,
            **{"Retry-After": str(wait)},
        )

    @staticmethod
    def expired(lang: str, path: str) -> Response:
        _ = translator(lang)
        return respond(
            render_message(
                lang,
                path,
                _("This survey link has expired"),
                _(
                    "Thank you for wanting to tell us how we did. Survey links are open for a "
                    "limited time; if you still need help, please contact us again."
                ),
            ),
            410,
        )

    def _guarded(
        self, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except OperationalError:
                log.exception("survey page: the database is unavailable")
                lang = pick_lang(request, self.default_lang)
                _ = translator(lang)
                return respond(
                    render_message(
                        lang,
                        None,
                        _("We cannot take ratings right now"),
                        _("Please try again in a few minutes; your link still works."),
                    ),
                    503,
                    **{"Retry-After": "60"},
                )

        return run


def survey_routes(
    engine: Engine,
    config: AppConfig,
    *,
    clock: Clock | None = None,
    limiter: Limiter | None = None,
) -> list[Route]:
    """The two routes of the survey page, bound to one engine and the signing secret."""
    return SurveyPage(engine, config, clock=clock, limiter=limiter).routes()


def respond(body: str, status: int = 200, **extra: str) -> Response:
    return HTMLResponse(body, status_code=status, headers={**_headers(), **extra})


def _state_of(existing: ratings.RatingView, _: Translate) -> FormState:
    """The form filled with the rating given before (sending again replaces it)."""
    return FormState(
        stars=str(existing.stars),
        comment=existing.comment or "",
        resolved="" if existing.resolved is None else ("yes" if existing.resolved else "no"),
        note=_("You have rated this already; sending again replaces your rating."),
    )


class _ClockedSigner(TimestampSigner):
    """Form tokens dated by the page's clock (tests move it), not the wall clock."""

    clock: Clock = staticmethod(lambda: datetime.now(UTC))

    def get_timestamp(self) -> int:
        return int(self.clock().timestamp())


def _already(lang: str, path: str) -> str:
    _ = translator(lang)
    return render_message(
        lang,
        path,
        _("You have already rated this service"),
        _("Thank you! Each link can be used once; your first rating stands."),
        "✓",
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


_BAD_FORM: dict[str, list[str]] = {}


def _parse_form(request: Request, body: bytes) -> dict[str, list[str]]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return _BAD_FORM
    try:
        text = body.decode("utf-8")
        return parse_qs(text, keep_blank_values=True, strict_parsing=False, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return _BAD_FORM


async def _read_body(request: Request) -> bytes | None:
    """The body, or None when it is over :data:`MAX_BODY` bytes (declared or streamed)."""
    return await read_capped(request, MAX_BODY)


def _store(
    engine: Engine,
    claims: SurveyClaims,
    submission: Submission,
    now: datetime,
    policy: ratings.RepeatPolicy | None,
    policies: _PolicyCache | None = None,
) -> Literal["stored", "replaced", "refused", "missing"]:
    """One rating, in one worker thread: first a plain insert (the common case, one
    statement); when the database refuses it (the link was rated before, a race, or the
    agent is gone), the transaction is rolled back and the rating is recorded again
    knowing that: replaced, refused, or ``missing``."""
    kwargs: dict[str, Any] = {
        "claims": claims,
        "stars": submission.stars,
        "comment": submission.comment,
        "resolved": submission.resolved,
        "now": now,
    }
    for first_try in (True, False):
        try:
            with unit_of_work(engine) as session:
                if policy is None:
                    policy = ratings.repeat_policy(session, team_id=claims.team_id)
                    if policies is not None:
                        policies.put(claims.team_id, policy)
                outcome = ratings.record_rating(
                    session, repeat=policy, first_try=first_try, **kwargs
                )
                if outcome in ("stored", "replaced") and ratings.low_rating(
                    submission.stars, submission.comment
                ):
                    # the manager hears of it the same day; the key names the rating,
                    # so a replaced rating never alerts twice
                    ratings.queue_rating_alerts(session, token_id=claims.token_id, now=now)
                return outcome
        except IntegrityError:
            if not first_try:
                log.warning("survey rating for token %s refused by the database", claims.token_id)
    return "missing"
