"""Managers export their own teams (``/export``); admins every team; the admin-only columns stay
with the admins (the change-of-post flag is never for the person's managers, DOMAIN.md)."""

from __future__ import annotations

import io
import zipfile

from openpyxl import load_workbook

from commands import permissions as p
from commands.export import ADMIN_ONLY_COLUMNS, HEADERS
from commands.i18n import translator
from commands.router import Router
from tests.conversations.transcript import FakeChat


def _scores_header(reply_file: bytes) -> list[str]:
    book = load_workbook(io.BytesIO(reply_file))
    return [str(c.value) for c in book["Scores"][1]]


def test_a_manager_exports_their_own_team_without_the_admin_only_columns(router: Router) -> None:
    mine = FakeChat(router, "Mary").say("/export london 2026-10")
    assert mine[0].file is not None, mine[0].text
    assert mine[0].private
    admins = FakeChat(router, "周人事").say("/export london 2026-10")
    assert admins[0].file is not None
    manager_header, admin_header = (
        _scores_header(mine[0].file.data),
        _scores_header(admins[0].file.data),
    )
    for column in ADMIN_ONLY_COLUMNS:
        title = translator("en")(HEADERS[column])
        assert title in admin_header and title not in manager_header
    hidden = {translator("en")(HEADERS[c]) for c in ADMIN_ONLY_COLUMNS}
    assert [c for c in admin_header if c not in hidden] == manager_header


def test_a_manager_without_a_team_name_exports_their_own_team(router: Router) -> None:
    reply = FakeChat(router, "王经理").say("/export 2026-10 csv")[0]
    assert reply.file is not None and reply.file.filename == "kpibot-demo-2026-10.zip"
    with zipfile.ZipFile(io.BytesIO(reply.file.data)) as book:
        scores = book.read("1-成绩.csv").decode("utf-8-sig")
    assert scores.startswith('"客服","总分","名次"') and "岗位调整" not in scores


def test_a_manager_cannot_export_another_team_and_gets_no_file(router: Router) -> None:
    for who, lang in (("Mary", "en"), ("王经理", "zh")):
        team = "demo" if who == "Mary" else "london"
        reply = FakeChat(router, who).say(f"/export {team} 2026-10")[0]
        assert reply.file is None
        assert reply.text == translator(lang)(p.EXPORT_OWN_TEAMS)


def test_an_agent_is_told_that_exports_are_for_managers_and_admins(router: Router) -> None:
    reply = FakeChat(router, "Alice").say("/export london 2026-10")[0]
    assert reply.file is None
    assert reply.text == translator("en")(p.EXPORT_ONLY_LEADERS)
    assert "managers" in reply.text
