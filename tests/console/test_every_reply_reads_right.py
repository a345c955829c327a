"""Every reply kpibot can send reads right (issue 17, 'Done when'): the demo month is walked in
the terminal chat as its admin, its manager and an agent, in Chinese and in English: every
command of the catalogue (commands.registry) bare and with typical arguments, the month's
publication, and every message that then waits for each person (their arrivals and /inbox).
Each text fails on

* an internal id: ``remind.1``, ``member:2``, ``manager_missing``, ``self``/``kpi`` as a part's
  name, a scheme key (``refund_ratio``) where the reader's name belongs;
* a raw English word in a Chinese reply (the product words and typed syntax of
  ``tests/unit/test_chinese_wording.py`` and people's names aside);
* a number printed with more decimals than it is shown at: points at the scheme's precision,
  money and everything else at two at most, never ``5.83e+04``.

The static check of the catalogues (tests/unit/test_chinese_wording.py) reads every msgstr;
this one reads what people get, placeholders filled."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.console import ConsoleChat
from commands import registry
from commands.context import AppConfig
from commands.demo import ADMIN, AGENTS, MANAGER
from commands.inbox_view import arrivals
from commands.messages import Reply
from commands.router import Router
from scoring.scheme_parser import parse_scheme
from storage import repo
from storage.db import unit_of_work
from storage.models import Team
from tests.conftest import DEMO_NOW
from tests.unit.test_chinese_wording import CJK, TYPED, english_words

ROOT = Path(__file__).resolve().parents[2]
PRECISION = parse_scheme((ROOT / "schemes/online_shop.toml").read_text(encoding="utf-8")).precision
PEOPLE = ("周敏", "陈静", "吴婷")
"""The demo's admin, its manager and an agent (README: who is who in the demo)."""
WITH_ARGUMENTS = (
    "/me",
    "/me 2026-10",
    "/rank",
    "/rank demo 2026-10",
    "/status",
    "/status demo 2026-11",
    "/scheme",
    "/scheme demo",
    "/simulate 退款比例=3%",
    "/simulate refund=3%",
    "/simulate",
    "/review 吴婷",
    "/appeal",
    "/improve",
    "/feedback",
    "/inbox",
    "/inbox 吴婷",
    "/schedule demo",
    "/peer",
    "/survey",
    "/survey 3",
    "/export demo 2026-10",
    "/member list demo",
    "/import list demo",
    "/help",
    "/calibrate demo 2026-11",
    "/runstep remind.1 demo 2026-12",
    "/runstep publish demo 2026-11",
)
"""Commands as people type them; /runstep publish last, then what it sent is read too."""

INTERNAL_ID = re.compile(
    r"\b(?:remind|open|close|publish|result|appeal|plan|feedback)\.[a-z0-9_.]+"  # outbox kinds
    r"|\b(?:member|chat|console|peer):\d+"  # who ran a step, as stored
    r"|\b[a-z]+_[a-z_]+\b"  # a scheme key or a counter: refund_ratio, manager_missing
    r"|\b(?:self|kpi|manager)\.[a-z_]+"  # a review dimension by its id: manager.collaboration
)
TYPED_IDS = {"remind.1", "online_shop", "qianniu_performance", "shop_zh"}
"""Ids people type, shown as what to type: a step of /runstep, a scheme key, a mapping name."""
TOO_PRECISE = re.compile(r"\d\.\d{3,}|\d(?:\.\d+)?e[+-]\d+")
POINTS = re.compile(r"(\d+\.(\d+)) ?(?:分|points?\b)")
NAMES = {"Zhou", "Min", "Chen", "Jing", "Wang", "Xiaohong", "Li", "Ming", "Zhang", "Wei",
         "Liu", "Yang", "Zhao", "Sun", "Hao", "Fan", "Wu", "Ting"}  # fmt: skip


DEMO_NAMES = (ADMIN[0], MANAGER[0], *(a[0] for a in AGENTS))
SPACED_NAME = re.compile(rf"[{CJK}] (?:{'|'.join(DEMO_NAMES)})|(?:{'|'.join(DEMO_NAMES)}) [{CJK}]")
"""A Chinese name set off by a space from the Chinese around it (``的 张伟``; the one spacing
rule: ``commands.i18n.spaced_format``); Latin names keep theirs (``的 Alice``)."""


def problems(text: str, lang: str) -> list[str]:
    """What is wrong in one reply (empty when it reads right)."""
    bare = re.sub(r"https?://\S+|/s/\S+|\S+\.(?:png|csv|xlsx|zip|toml|md)\b", " ", text)
    said = TYPED.sub(" ", bare)  # a command with its arguments, key=value: typed as it is
    found = [
        f"id {m.group(0)!r}" for m in INTERNAL_ID.finditer(said) if m.group(0) not in TYPED_IDS
    ]
    found += [f"float {m.group(0)!r}" for m in TOO_PRECISE.finditer(bare)]
    found += [
        f"points {m.group(1)!r}" for m in POINTS.finditer(bare) if len(m.group(2)) > PRECISION
    ]
    if lang == "zh":
        found += [f"English {w!r}" for w in english_words(bare) if w not in NAMES]
        found += [f"spaced name {m.group(0)!r}" for m in SPACED_NAME.finditer(bare)]
    return found


@pytest.fixture
def router(demo_engine: Engine) -> Router:
    return Router(demo_engine, AppConfig(), lambda: DEMO_NOW + timedelta(days=14))


def _chat(router: Router, name: str, media: Path) -> ConsoleChat:
    with unit_of_work(router.engine) as session:
        member = repo.get_member_by_name(session=session, team=_demo(session), name=name)
        assert member is not None
        member_id = member.id or 0

    def waiting() -> list[Reply]:
        with unit_of_work(router.engine) as session:
            return arrivals(session, member_id, datetime.now(UTC))

    return ConsoleChat(router, name, media, arrivals=waiting)


def _demo(session: Session) -> Team:
    team = repo.get_team_by_name(session=session, name="demo")
    assert team is not None
    return team


def _walk(chat: ConsoleChat) -> Iterator[tuple[str, str]]:
    """(what was typed, what kpibot said) for every command, bare and with arguments."""
    for line in [f"/{name}" for name in registry.commands()] + list(WITH_ARGUMENTS):
        yield line, chat.send(line)
        chat.send("/cancel")  # a form it started ends here; nothing else minds
    yield "(arrivals)", chat.check()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_reply_in_the_demo_month_reads_right(router: Router, media: Path, lang: str) -> None:
    said: list[tuple[str, str, str]] = []
    for name in PEOPLE:
        chat = _chat(router, name, media)
        chat.send(f"/lang {lang}")
        said += [(name, line, text) for line, text in _walk(chat)]
    admin = _chat(router, "周敏", media)
    admin.send(f"/lang {lang}")
    said += [("周敏", f"/inbox {n}", admin.send(f"/inbox {n}")) for n in ("陈静", "吴婷", "王小红")]
    assert sum(len(text) for _n, _l, text in said) > 20_000  # the walk did reach kpibot
    wrong = [f"{who} {line}: {issue}\n    {text[:300]!r}"
             for who, line, text in said for issue in problems(text, lang)]  # fmt: skip
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("text", "lang", "found"),
    [
        ("已执行 remind.2（member:2）", "zh", ["id 'remind.2'", "id 'member:2'"]),
        ("manager_missing 7", "en", ["id 'manager_missing'"]),
        ("从 5.83e+04 到 200000", "zh", ["float '5.83e+04'"]),
        ("总分 87.25 分", "zh", ["points '87.25'"] if PRECISION < 2 else []),
        ("¥58,278.304", "en", ["float '8.304'"]),
        ("你的 scores 已 published", "zh", ["English 'scores'", "English 'published'"]),
        ("总分 87.3 分，¥58,278.30，23.5%，Wu Ting", "zh", []),
        (
            "已提醒 吴婷、张伟 的主管 陈静",
            "zh",
            ["spaced name '醒 吴婷'", "spaced name '张伟 的'", "spaced name '管 陈静'"],
        ),
        ("已提醒吴婷、张伟的主管陈静，以及 Wu Ting", "zh", []),
        ("Total 87.3 points, ¥58,278.30, see /s/abc.def_ghi", "en", []),
    ],
)
def test_the_check_finds_what_it_should_and_nothing_else(
    text: str, lang: str, found: list[str]
) -> None:
    assert problems(text, lang) == found
