from __future__ import annotations

from sqlmodel import select

from commands.router import Router
from storage.db import unit_of_work
from storage.models import AuditLog
from tests.conversations.transcript import FakeChat, run


def test_a_whole_form_is_answered_summarised_and_submitted(toy_router: Router) -> None:
    chat = FakeChat(toy_router, "Alice")
    run(chat, [
        ("/toy", ["Question 1 of 5", "How was your week?", "[1 · Very poor]"]),
        ("[4 · Good]", ["Question 2 of 5", "How many calls?"]),
        ("120", "Refund ratio?"),
        ("[Skip]", "Which shift?"),
        ("late", "Again?"),
        ("[Yes]", ["Summary of your self-review", "1. How was your week?: 4 · Good", "3. Refund ratio?: (skipped)", "preview calls=120"]),
        ("[Submit]", "Thank you"),
    ])  # fmt: skip
    with unit_of_work(toy_router.engine) as session:
        saved = session.exec(select(AuditLog)).all()
        assert [row.after for row in saved] == [
            {"mood": 4, "calls": 120, "share": None, "shift": "late", "again": True}
        ]
