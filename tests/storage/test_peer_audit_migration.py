"""Migration 0010_door21 (issue 21 item 11): existing peer-rating audit entries lose the
rater in clear, in actor and in before/after, on both databases; others stay as they were."""

from __future__ import annotations

import json

from sqlalchemy import text

from storage.db import make_engine, upgrade


def test_existing_peer_audit_entries_get_a_pseudonym_for_their_rater(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, "0009_imp15b")
        from datetime import date

        from sqlmodel import Session

        from storage.models import AuditLog, Member, Period, Review, Team

        with Session(engine) as s:
            s.add(Team(id=1, name="t", lang="en"))
            s.flush()
            s.add_all(
                [
                    Member(id=1, team_id=1, name="Ann", role="agent"),
                    Member(id=2, team_id=1, name="Ben", role="agent"),
                ]
            )
            s.add(
                Period(
                    id=1,
                    team_id=1,
                    key="2026-10",
                    starts_on=date(2026, 10, 1),
                    ends_on=date(2026, 10, 31),
                    status="open",
                )
            )
            s.flush()
            s.add(
                Review(id=1, period_id=1, subject_id=2, rater_id=1, kind="peer", answers={"c": 4})
            )
            s.add(
                Review(id=2, period_id=1, subject_id=2, rater_id=1, kind="self", answers={"c": 4})
            )
            s.flush()
            for review_id, kind in ((1, "peer"), (1, "peer"), (2, "self")):
                s.add(
                    AuditLog(
                        actor="member:1",
                        action=f"review.{kind}",
                        entity="review",
                        entity_id=str(review_id),
                        after={"rater_id": 1, "answers": {"c": 4}},
                    )
                )
            s.commit()
        upgrade(engine)
        with engine.connect() as c:
            rows = c.execute(text("SELECT action, actor, after FROM audit_log ORDER BY id")).all()
        after = [r[2] if isinstance(r[2], dict) else json.loads(r[2]) for r in rows]
        assert rows[0][1].startswith("peer:") and rows[0][1] == rows[1][1]
        assert after[0]["rater_id"] == rows[0][1] and after[0]["answers"] == {"c": 4}
        assert (rows[2][1], after[2]["rater_id"]) == ("member:1", 1)
        with engine.begin() as c:  # still append-only afterwards
            try:
                c.execute(text("UPDATE audit_log SET actor = 'x'"))
                raise AssertionError("audit_log accepted an update")
            except Exception as error:  # noqa: BLE001
                assert "append-only" in str(error)
    finally:
        engine.dispose()
