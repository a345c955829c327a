"""What people type in an answer is kept as typed (issue 17 item 4): full-width punctuation in a
Chinese comment stays full-width (``（目标30秒以内）`` was stored as ``(目标30秒以内)``), while a
full-width digit still counts as a score."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from bot.console import ConsoleChat
from commands.router import Router
from storage import repo
from storage.db import unit_of_work


def _comments(engine: Engine, team: str, agent: str) -> dict[str, str]:
    with unit_of_work(engine) as session:
        t = repo.get_team_by_name(session=session, name=team)
        assert t is not None
        period = repo.get_period(session=session, team=t, key="2026-10")
        member = repo.get_member_by_name(session=session, team=t, name=agent)
        (review,) = repo.list_reviews(
            session=session, period=period, kind="manager", subject=member
        )
        return dict(review.comments or {})


def test_a_chinese_comment_keeps_its_full_width_punctuation_in_the_terminal(
    router: Router, world_db: Engine, media: Path
) -> None:
    wang = ConsoleChat(router, "王经理", media)
    wang.send("/review 李娜")
    wang.send("５")  # a full-width 5 is still the score 5
    typed = "回复很快（目标30秒以内），态度好：值得表扬！"
    wang.send(typed)
    for score in ("4", "4"):
        wang.send(score)
    shown = wang.send("继续保持；下月争取更好。")
    assert typed in shown and "继续保持；下月争取更好。" in shown
    assert "已提交" in wang.send("提交")
    comments = _comments(world_db, "demo", "李娜")
    assert typed in comments.values() and "继续保持；下月争取更好。" in comments.values()


def test_an_english_comment_keeps_what_was_typed_in_the_terminal(
    router: Router, world_db: Engine, media: Path
) -> None:
    mary = ConsoleChat(router, "Mary", media)
    mary.send("/review Alice")
    mary.send("1")
    typed = "Slow replies — ＡＢＣ order #１２ waited 3 min (target: 30 s)."
    mary.send(typed)
    for score in ("3", "3"):
        mary.send(score)
    assert typed in mary.send("skip")
    assert "submitted" in mary.send("submit")
    assert typed in _comments(world_db, "london", "Alice").values()
