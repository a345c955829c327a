from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from sqlalchemy.engine import Engine

from commands.context import AppConfig, Command, Context
from commands.messages import Incoming, Reply
from commands.permissions import ALL, LEADERS, N_
from commands.router import Router, split_command
from tests.conftest import Clock

REFUSAL = N_(
    "The command /review is not available to you: only managers and admins review agents. Use "
    "/selfreview for your own review."
)


def _echo(ctx: Context, args: str) -> list[Reply]:
    return [
        Reply(
            text=ctx._("{n} agents", n=len(args.split())) + f" |{ctx.actor.name}|{ctx.lang}|{args}"
        )
    ]


def _boom(ctx: Context, args: str) -> list[Reply]:
    raise RuntimeError("kaput")


def _press(ctx: Context, value: str) -> list[Reply]:
    return [Reply(text=f"pressed {ctx.incoming.action} {value}")]


def _hear(ctx: Context, text: str) -> list[Reply]:
    return [Reply(text=f"heard {text}")] if text.startswith("hey") else []


FAKE = SimpleNamespace(
    __name__="fake",
    COMMANDS=(Command("echo", _echo, ALL), Command("boom", _boom, ALL)),
    ACTIONS={"thing": _press},
    ACTION_IDS={"thing:go": ("text",)},
    TEXT_HANDLER=_hear,
)


@pytest.fixture
def router(db: Engine, clock: Clock, people: dict[str, int]) -> Router:
    return Router(db, AppConfig(), clock, modules=[FAKE])  # type: ignore[list-item]


def _say(router: Router, user: str, text: str = "", platform: str = "test", **kw: object) -> str:
    replies = router.handle(Incoming(platform=platform, user_id=user, text=text, **kw))  # type: ignore[arg-type]
    return "\n".join(r.text for r in replies)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("/rank demo 2026-10", ("rank", "demo 2026-10")), ("/RANK@kpibot", ("rank", "")),
     ("／rank  demo", ("rank", "demo")), ("rank", None), ("/", None), ("", None)],
)  # fmt: skip
def test_a_command_line_splits_into_name_and_arguments(
    text: str, expected: tuple[str, str] | None
) -> None:
    assert split_command(text) == expected


def test_slack_telegram_and_console_people_resolve_to_the_same_member(router: Router) -> None:
    assert "|李娜|zh|" in _say(router, "U1", "/echo a", platform="slack")
    assert "|李娜|zh|" in _say(router, "77", "/echo a", platform="telegram")
    assert "|李娜|zh|" in _say(router, "李娜", "/echo a", platform="console")
    assert "|李娜|zh|" in _say(router, "demo/李娜", "/echo a", platform="console")


def test_the_language_is_the_members_else_the_teams(router: Router) -> None:
    assert _say(router, "Alice", "/echo a b") == "2 agents |Alice|en|a b"
    assert _say(router, "李娜", "/echo a b").startswith("|李娜|zh|") is False


def test_an_unknown_person_is_told_how_to_get_linked_in_their_language_and_nothing_else(
    router: Router,
) -> None:
    english = _say(router, "U999", "/echo", platform="slack", lang_hint="en-US")
    assert "U999" in english and "kpibot member add" in english and "--slack U999" in english
    chinese = _say(router, "555", "/echo", platform="telegram", lang_hint="zh-CN")
    assert "555" in chinese and "--telegram 555" in chinese and "管理员" in chinese
    assert "李娜" not in english + chinese


def test_an_inactive_member_is_told_so(router: Router) -> None:
    assert "inactive" in _say(router, "Ghost", "/echo", lang_hint="en")


def test_a_replayed_delivery_is_dropped(router: Router) -> None:
    first = router.handle(Incoming(platform="slack", user_id="U1", text="/echo a", event_id="Ev1"))
    again = router.handle(Incoming(platform="slack", user_id="U1", text="/echo a", event_id="Ev1"))
    other_platform = router.handle(
        Incoming(platform="telegram", user_id="77", text="/echo a", event_id="Ev1")
    )
    assert len(first) == 1 and again == [] and len(other_platform) == 1


def test_a_failed_request_is_not_remembered_as_processed(router: Router) -> None:
    assert "reference" in _say(router, "Alice", "/boom", event_id="E2")
    assert "reference" in _say(router, "Alice", "/boom", event_id="E2")


def test_an_internal_error_is_logged_with_a_reference_the_person_sees(
    router: Router, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="commands.router"):
        text = _say(router, "Alice", "/boom")
    ref = text.rsplit(" ", 1)[-1]
    assert len(ref) == 8 and "kaput" not in text
    assert any(ref in r.getMessage() and r.exc_info for r in caplog.records)


def test_the_apology_is_in_the_members_language(router: Router) -> None:
    assert "抱歉" in _say(router, "李娜", "/boom", lang_hint="en")


def test_buttons_go_to_the_action_named_before_the_colon(router: Router) -> None:
    assert _say(router, "Alice", action="thing:go", value="12:3") == "pressed thing:go 12:3"


def test_plain_text_goes_to_the_text_handlers_and_else_gets_a_pointer_to_help(
    router: Router,
) -> None:
    assert _say(router, "Alice", "hey you") == "heard hey you"
    assert "/help" in _say(router, "Alice", "what?")
    assert _say(router, "Alice", "what?", chat="group") == ""


def test_an_unknown_command_points_to_help(router: Router) -> None:
    assert "/nope" in _say(router, "Alice", "/nope") and "/help" in _say(router, "Alice", "/nope")


def test_a_command_refused_for_the_role_says_why(
    db: Engine, clock: Clock, people: dict[str, int]
) -> None:
    review = SimpleNamespace(
        __name__="r", COMMANDS=(Command("review", _echo, LEADERS, refusal=REFUSAL),)
    )
    router = Router(db, AppConfig(), clock, modules=[review])  # type: ignore[list-item]
    text = _say(router, "Alice", "/review x")
    assert "/review is not available to you" in text and "Alice" not in text


def test_two_modules_claiming_one_command_fail_at_start_up(db: Engine) -> None:
    a = SimpleNamespace(__name__="a", COMMANDS=(Command("echo", _echo, ALL),))
    b = SimpleNamespace(__name__="b", COMMANDS=(Command("echo", _echo, ALL),))
    with pytest.raises(ValueError, match="echo"):
        Router(db, AppConfig(), modules=[a, b])  # type: ignore[list-item]
