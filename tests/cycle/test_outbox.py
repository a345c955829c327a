"""The outbox: one row per key, replies survive the JSON round trip, claims never overlap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from commands.messages import Button, ChartRef, Choice, FileAttachment, Image, Question, Reply
from commands.outbox import (
    enqueue,
    outbox_key,
    reply_from_json,
    reply_to_json,
)
from commands.outbox_charts import CHART_RENDERERS, chart_ref, resolve_reply
from storage import outbox as store
from storage import repo
from storage.db import unit_of_work

NOW = datetime(2026, 11, 5, 2, 0, tzinfo=UTC)


def _team(session: Session, n: int = 3) -> tuple[object, object, list[object]]:
    team = repo.create_team(session=session, name="shop", timezone="Asia/Shanghai")
    period = repo.get_or_create_period(session=session, team=team, key="2026-10")
    agents = [repo.add_member(session=session, team=team, name=f"agent{i}") for i in range(n)]
    return team, period, agents


def test_a_second_enqueue_of_the_same_key_changes_nothing(db_session: Session) -> None:
    team, period, agents = _team(db_session)
    first = enqueue(
        db_session,
        team=team,
        period=period,
        member=agents[0],
        kind="result",
        reply=Reply(text="92.5"),
        now=NOW,
    )
    again = enqueue(
        db_session,
        team=team,
        period=period,
        member=agents[0],
        kind="result",
        reply=Reply(text="a different text"),
        now=NOW,
    )
    assert (first, again) == (True, False)
    rows = store.list_messages(session=db_session)
    assert [(r.key, r.reply["text"], r.status) for r in rows] == [
        (outbox_key(team, period, agents[0], "result"), "92.5", "pending")  # type: ignore[arg-type]
    ]


def test_another_kind_or_person_is_another_message(db_session: Session) -> None:
    team, period, agents = _team(db_session)
    for member in agents[:2]:
        for kind in ("result", "reminder.self.1"):
            assert enqueue(
                db_session,
                team=team,
                period=period,
                member=member,
                kind=kind,
                reply=Reply(text=kind),
            )
    assert enqueue(
        db_session,
        team=team,
        period=period,
        member=None,
        kind="ranking",
        reply=Reply(text="ranking"),
    )
    assert len(store.list_messages(session=db_session)) == 5
    assert store.status_counts(session=db_session)["pending"] == 5


_text = st.text(max_size=40)
_buttons = st.lists(
    st.builds(
        Button,
        _text,
        st.text(min_size=1, max_size=10),
        _text,
        st.sampled_from([None, "primary", "danger"]),
    ),
    max_size=3,
).map(tuple)
_question = st.builds(
    Question,
    form_id=_text,
    conversation_id=st.integers(0, 10**6),
    field_id=_text,
    kind=st.sampled_from(["score", "number", "text", "choice", "yesno"]),
    prompt=_text,
    step=st.integers(0, 9),
    total=st.integers(1, 9),
    choices=st.lists(st.builds(Choice, _text, _text), max_size=3).map(tuple),
    minimum=st.none() | st.floats(-5, 5),
    current=st.none() | _text,
)
_replies = st.builds(
    Reply,
    text=_text,
    buttons=_buttons,
    image=st.none() | st.builds(Image, _text, st.binary(max_size=64), _text),
    file=st.none() | st.builds(FileAttachment, _text, st.binary(max_size=64), _text),
    question=st.none() | _question,
    private=st.booleans(),
    ephemeral=st.booleans(),
    replace=st.booleans(),
    form=st.lists(_question, max_size=2).map(tuple),
    errors=st.dictionaries(_text, _text, max_size=2),
)


@given(_replies)
def test_any_reply_survives_the_json_round_trip(reply: Reply) -> None:
    import json

    assert reply_from_json(json.loads(json.dumps(reply_to_json(reply)))) == reply


def test_a_chart_reference_is_drawn_when_the_message_is_sent(session: Session) -> None:
    drawn: list[dict[str, object]] = []

    def square(_session: Session, params: object) -> Image:
        drawn.append(dict(params))  # type: ignore[call-overload]
        return Image("chart.png", b"\x89PNG", alt="chart")

    renderers = {"test.square": square}
    team, period, agents = _team(session, 1)
    enqueue(
        session,
        team=team,
        period=period,
        member=agents[0],
        kind="result",
        reply=Reply(text="hi"),
        chart=chart_ref("test.square", {"member": 7}, renderers=renderers),
    )
    row = store.list_messages(session=session)[0]
    assert "image" not in row.reply and drawn == []
    reply = resolve_reply(session, row.reply, renderers=renderers)
    assert reply.image == Image("chart.png", b"\x89PNG", "chart") and drawn == [{"member": 7}]
    # a name the table does not have leaves the text alone
    assert resolve_reply(session, row.reply).image is None
    assert resolve_reply(session, row.reply).text == "hi"


def test_an_unknown_chart_renderer_is_refused_where_the_reference_is_made() -> None:
    with pytest.raises(KeyError):
        chart_ref("no.such.chart")
    assert chart_ref("result.history", {"member_id": 1}) == ChartRef(
        "result.history", {"member_id": 1}
    )


def test_the_chart_table_is_complete_before_any_feature_is_imported() -> None:
    """No registration on import: the table lists every chart by itself, in a fresh process."""
    import subprocess
    import sys

    code = "from commands.outbox_charts import CHART_RENDERERS; print(sorted(CHART_RENDERERS))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(sorted(CHART_RENDERERS)) == "['rank.chart', 'result.history']"


def _fill(engine: Engine, n: int) -> None:
    with unit_of_work(engine) as s:
        team, period, agents = _team(s, n)
        for a in agents:
            enqueue(
                s, team=team, period=period, member=a, kind="result", reply=Reply(text="r"), now=NOW
            )


def _claim(engine: Engine, worker: str, limit: int, now: datetime = NOW) -> list[int]:
    with unit_of_work(engine) as s:
        return [
            int(r.id or 0)
            for r in store.claim_batch(session=s, worker=worker, limit=limit, now=now)
        ]


def test_claimed_rows_are_not_claimed_again_until_the_lease_runs_out(db_engine: Engine) -> None:
    _fill(db_engine, 5)
    a = _claim(db_engine, "a", 3)
    b = _claim(db_engine, "b", 10)
    assert len(a) == 3 and len(b) == 2 and not set(a) & set(b)
    assert _claim(db_engine, "c", 10) == []
    later = NOW + store.DEFAULT_LEASE + timedelta(seconds=1)
    taken_over = _claim(db_engine, "c", 10, now=later)
    assert sorted(taken_over) == sorted(a + b)
    with unit_of_work(db_engine) as s:
        # the first claimer's mark no longer counts: the row is c's now
        assert not store.mark_sent(
            session=s, message_id=a[0], worker="a", message_ref="x", platform="slack"
        )
        assert store.mark_sent(
            session=s, message_id=a[0], worker="c", message_ref="x", platform="slack"
        )
        rows = {r.id: r for r in store.list_messages(session=s)}
    assert (
        rows[a[0]].status == "sent" and rows[a[0]].attempts == 2 and rows[a[0]].message_ref == "x"
    )


def test_a_released_row_waits_for_its_not_before(db_engine: Engine) -> None:
    _fill(db_engine, 1)
    [row_id] = _claim(db_engine, "a", 10)
    with unit_of_work(db_engine) as s:
        assert store.release(
            session=s,
            message_id=row_id,
            worker="a",
            not_before=NOW + timedelta(seconds=30),
            error="429 retry after 30",
        )
    assert _claim(db_engine, "a", 10, now=NOW + timedelta(seconds=29)) == []
    assert _claim(db_engine, "a", 10, now=NOW + timedelta(seconds=30)) == [row_id]


def test_sent_failed_and_unreachable_rows_are_never_claimed_again(db_engine: Engine) -> None:
    _fill(db_engine, 3)
    ids = _claim(db_engine, "a", 10)
    with unit_of_work(db_engine) as s:
        assert store.mark_sent(
            session=s, message_id=ids[0], worker="a", message_ref="1", platform="telegram"
        )
        assert store.mark_failed(session=s, message_id=ids[1], worker="a", error="400 bad request")
        assert store.mark_unreachable(session=s, message_id=ids[2], worker="a", error="no account")
    far = NOW + timedelta(days=30)
    assert _claim(db_engine, "b", 10, now=far) == []
    with unit_of_work(db_engine) as s:
        counts = store.status_counts(session=s)
    assert (counts["sent"], counts["failed"], counts["unreachable"]) == (1, 1, 1)


def test_a_step_is_claimed_once(db_engine: Engine) -> None:
    with unit_of_work(db_engine) as s:
        team = repo.create_team(session=s, name="shop")
        team_id = int(team.id or 0)
    claims = []
    for worker in ("a", "b"):
        with unit_of_work(db_engine) as s:
            store.step_lock(session=s, team_id=team_id, period_key="2026-10", step="publish")
            claims.append(
                store.claim_step(
                    session=s, team_id=team_id, period_key="2026-10", step="publish", worker=worker
                )
            )
    assert claims == [True, False]
    with unit_of_work(db_engine) as s:
        [row] = store.list_steps(session=s)
    assert (row.claimed_by, row.step) == ("a", "publish")
