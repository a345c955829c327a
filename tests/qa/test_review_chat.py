"""/qa end to end on the transcript chat: review, blind review, own conversations, calibration,
disputes, score."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from commands.router import Router
from storage import outbox as outbox_store
from storage import qa as store
from storage import repo
from storage.db import unit_of_work
from storage.models.consequences import Appeal
from storage.models.qa import QaReview
from tests.conversations.transcript import FakeChat, run
from tests.qa.conftest import AGENTS, PERIOD, build_qa_world

ANSWER_LABELS = {"pass": "Pass", "fail": "Fail", "na": "N/A"}


def draw(router: Router, seed: int = 42) -> str:
    chat = FakeChat(router, "Mary")
    chat.say(f"/qa draw seed={seed}")
    return chat.text


def answer_sample(chat: FakeChat, answers: tuple[str, str, str], comment: str | None = None) -> str:
    """Answer the open sample's three checks, the comment, submit; returns the summary shown before
    submit."""
    for answer in answers:
        chat.press(ANSWER_LABELS[answer])
    if comment is None:
        chat.press("Skip")
    else:
        chat.say(comment)
    summary = chat.text
    chat.press("Submit")
    assert "Thank you, the review is saved" in chat.text, chat.dump()
    return summary


def open_agent(engine: Engine, reviewer: int) -> int:
    """The agent of the reviewer's sample now open (what the test uses to decide its answers)."""
    with unit_of_work(engine) as session:
        review = store.open_reviews(session=session, reviewer_id=reviewer)[0]
        sample = store.get_sample(session=session, sample_id=review.sample_id)
        assert sample is not None
        return sample.member_id


def test_a_reviewer_scores_a_sample_in_chat_and_the_agent_is_told_the_failed_checks_and_the_comment(
    router: Router, engine: Engine, world: dict[str, int]
) -> None:
    assert "10 samples from 20 sessions" in draw(router)
    quinn = FakeChat(router, "Quinn")
    run(
        quinn,
        [
            (
                "/qa",
                [
                    "Quality review of sample",
                    "Reference: ",
                    "https://desk.example.com/call/",
                    "Question 1 of 4: Greeting",
                    "[Pass]  [Fail]  [N/A]",
                ],
            )
        ],
    )
    agent_id = open_agent(engine, world["Quinn"])
    agent = next(n for n, i in world.items() if i == agent_id)
    assert f"Agent: {agent}" in quinn.text
    run(
        quinn,
        [
            (
                "[Fail]",
                ["Question 2 of 4: Identity check (critical: failing it fails the whole sample)"],
            ),
            ("[Pass]", ["Question 3 of 4: Correct answer", "N/A is not an answer here"]),
            ("N/A", "Please choose one of: Pass / Fail."),
            ("[Pass]", "Question 4 of 4: A comment for the agent"),
            (
                "Greet with your agent number.",
                [
                    "1. Greeting: Fail",
                    "4. Comment: Greet with your agent number.",
                    "Sample score: 80",
                ],
            ),
            ("[Submit]", "Thank you, the review is saved. Send /qa for the next sample."),
        ],
    )
    assert "[N/A]" not in quinn.dump().split("Question 3 of 4")[1].split("Question 4")[0]
    with unit_of_work(engine) as session:
        review = session.exec(select(QaReview).where(QaReview.status == "submitted")).one()
        assert review.score == pytest.approx(80)
        sent = outbox_store.list_messages(session=session, kinds=[f"qa.result.{review.id}"])
        assert len(sent) == 1 and sent[0].member_id == agent_id
        text = sent[0].reply["text"]
    assert "QA result for your conversation" in text and ": 80" in text
    assert "Failed checks:\n- Greeting" in text and "Comment: Greet with your agent number." in text
    assert "Quinn" not in text  # the agent is not told who reviewed


def test_an_agent_reads_their_results_and_disputes_one_which_opens_a_qa_appeal(
    router: Router, engine: Engine, world: dict[str, int]
) -> None:
    draw(router)
    quinn = FakeChat(router, "Quinn")
    while True:
        quinn.say("/qa")
        if "queue is empty" in quinn.text:
            break
        critical = open_agent(engine, world["Quinn"]) == world["Bob"]
        answer_sample(
            quinn,
            ("pass", "fail" if critical else "pass", "pass"),
            "Verify the caller first." if critical else None,
        )
    bob = FakeChat(router, "Bob")
    run(
        bob,
        [
            (
                "/qa",
                [
                    "Your quality reviews in 2026-10: 3 scored samples, mean 0.",
                    "Identity check (critical: the sample scores 0)",
                    "Comment: Verify the caller first.",
                ],
            )
        ],
    )
    number = re.search(r"/qa dispute (\d+)", bob.text)
    assert number is not None
    run(bob, [
        ("[Dispute]", f"send /qa dispute {number.group(1)} followed by your reason"),
        (f"/qa dispute {number.group(1)}", "Please say why"),
        (f"/qa dispute {number.group(1)} The caller was verified by the IVR.", "is recorded"),
        (f"/qa dispute {number.group(1)} again", "already disputed"),
    ])  # fmt: skip
    alice = FakeChat(router, "Alice")
    run(
        alice,
        [
            (
                f"/qa dispute {number.group(1)} not mine",
                "You can dispute only QA results of your own conversations.",
            )
        ],
    )
    with unit_of_work(engine) as session:
        appeal = session.exec(select(Appeal)).one()
        assert (appeal.member_id, appeal.component, appeal.status) == (world["Bob"], "qa", "open")
        dispute = store.get_dispute(session=session, review_id=int(number.group(1)))
        assert dispute is not None and dispute.appeal_id == appeal.id
        told = outbox_store.list_messages(session=session, kinds=[f"qa.dispute.{number.group(1)}"])
        assert [m.member_id for m in told] == [world["Mary"]]


def test_na_leaves_a_check_out_and_a_failed_critical_check_scores_zero(
    router: Router, world: dict[str, int]
) -> None:
    draw(router)
    quinn = FakeChat(router, "Quinn")
    quinn.say("/qa")
    summary = answer_sample(quinn, ("na", "pass", "fail"))
    assert "Sample score: 37.5" in summary  # 30 of the 80 points that apply
    quinn.say("/qa")
    summary = answer_sample(quinn, ("pass", "fail", "pass"))
    assert "Sample score: 0" in summary and "A critical check failed (Identity check)" in summary


def test_a_reviewer_never_gets_their_own_conversation(
    router: Router, engine: Engine, world: dict[str, int]
) -> None:
    draw(router)
    mary = FakeChat(router, "Mary")  # a manager reviews her own team, and takes calls herself
    got: list[int] = []
    for _ in range(20):
        mary.say("/qa")
        if "queue is empty" in mary.text:
            break
        got.append(open_agent(engine, world["Mary"]))
        answer_sample(mary, ("pass", "pass", "pass"))
    assert got and world["Mary"] not in got
    assert len(got) == 8  # every sample but Mary's two
    quinn = FakeChat(router, "Quinn")
    quinn.say("/qa")
    assert "Agent: Mary" in quinn.text  # her samples are still there for someone else
    hana = FakeChat(router, "Hana")
    with unit_of_work(engine) as session:
        own = [s.id for s in store.list_samples(session=session) if s.member_id == world["Mary"]]
    run(
        hana,
        [
            (
                f"/qa calibrate {own[0]} Mary Quentin",
                [
                    "Mary: You cannot review your own conversations.",
                    "sent for calibration to: Quentin",
                ],
            )
        ],
    )


def test_only_reviewers_have_a_queue_and_only_leaders_draw(
    router: Router, world: dict[str, int]
) -> None:
    run(FakeChat(router, "Alice"), [
        ("/qa next", "Only quality reviewers have a review queue."),
        ("/qa draw", "Only a manager of the team or an admin can draw quality samples."),
        ("/qa calibrate 1 Quinn Quentin", "Only an admin can send a sample"),
        ("/qa", "None of your conversations in 2026-10 has been quality-reviewed yet."),
    ])  # fmt: skip
    run(
        FakeChat(router, "Quinn"),
        [("/qa", "Your review queue is empty."), ("/qa draw", "Only a manager")],
    )


@pytest.fixture
def blind_router(engine: Engine, make_router: Callable[[], Router]) -> Router:
    build_qa_world(engine, blind=True)
    return make_router()


def test_blind_review_hides_the_agent_name_everywhere_the_reviewer_looks(
    blind_router: Router, engine: Engine
) -> None:
    draw(blind_router)
    quinn = FakeChat(blind_router, "Quinn")
    forms = []
    for _ in range(12):
        quinn.say("/qa")
        if "queue is empty" in quinn.text:
            break
        assert "Agent: hidden (blind review)" in quinn.text
        forms += [q.prompt + q.help for r in quinn.last for q in r.form]
        answer_sample(quinn, ("pass", "pass", "fail"), "ok")
    hana = FakeChat(blind_router, "Hana")
    run(hana, [("/qa calibrate 1 Quinn Quentin", "sent for calibration to: Quentin")])
    quentin = FakeChat(blind_router, "Quentin")
    quentin.say("/qa")
    assert "calibration sample" in quentin.text and "hidden (blind review)" in quentin.text
    answer_sample(quentin, ("pass", "pass", "pass"))
    run(hana, [("/qa agreement 1", ["agent: hidden (blind review)", "Quinn", "Quentin"])])
    seen_by_reviewers = quinn.dump() + quentin.dump() + hana.dump() + "\n".join(forms)
    assert forms
    for name in (*AGENTS, "Mary"):
        assert not re.search(rf"\b{name}\b", seen_by_reviewers), name


def test_calibration_shows_agreement_and_the_spread_of_totals_on_a_hand_computed_case(
    router: Router, engine: Engine, world: dict[str, int]
) -> None:
    draw(router)
    with unit_of_work(engine) as session:
        sample = next(
            s for s in store.list_samples(session=session) if s.member_id == world["Alice"]
        )
    hana = FakeChat(router, "Hana")
    run(hana, [(f"/qa calibrate {sample.id} Quinn Quentin Mary Alice Bob Nobody", [
        "sent for calibration to: Quinn, Quentin, Mary",
        "Alice: You cannot review your own conversations.",
        "Bob: You are not a quality reviewer of this team",
        "Nobody: there is no member Nobody in team call."]),
        (f"/qa agreement {sample.id}", "agreement needs at least two (3 still open)")])  # fmt: skip
    given = {
        "Quinn": ("pass", "pass", "pass"),
        "Quentin": ("fail", "pass", "pass"),
        "Mary": ("na", "pass", "fail"),
    }
    for name, answers in given.items():
        chat = FakeChat(router, name)
        chat.say("/qa")
        assert "This is a calibration sample" in chat.text and f"sample {sample.id} " in chat.text
        answer_sample(chat, answers)
    run(
        hana,
        [
            (
                f"/qa agreement {sample.id}",
                [
                    "3 reviewers; 0 still open.",
                    # only the identity check is answered the same by all three
                    "Answered the same by everyone: 1 of 3 checks (33.3%).",
                    # pairs agree on 2, 1 and 1 of 3 checks: 4 / 9
                    "Pairwise agreement: 44.4%.",
                    # totals 100, 80 and 30/80 = 37.5: spread 62.5; mean 72.5, sd sqrt((27.5² +
                    # 7.5² + 35²) / 3) = 26.06
                    "- Quinn: 100",
                    "- Quentin: 80",
                    "- Mary: 37.5",
                    "Spread of totals: 62.5 points (standard deviation 26.1).",
                    "- Greeting: Quinn=Pass / Quentin=Fail / Mary=N/A",
                    "- Correct answer: Quinn=Pass / Quentin=Pass / Mary=Fail",
                ],
            )
        ],
    )
    assert "Identity check:" not in hana.text
    with unit_of_work(engine) as session:  # calibration reviews never count in the score
        from commands.qa.inputs import qa_inputs

        period = repo.get_period_by_id(session=session, period_id=world["period"])
        assert period is not None
        assert qa_inputs(session, period).empty


def _manager_reviews(engine: Engine, world: dict[str, int]) -> None:
    with unit_of_work(engine) as session:
        period = repo.get_period_by_id(session=session, period_id=world["period"])
        mary = repo.get_member(session=session, member_id=world["Mary"])
        assert period is not None and mary is not None
        for name in AGENTS:
            agent = repo.get_member(session=session, member_id=world[name])
            assert agent is not None
            repo.save_review(
                session=session,
                period=period,
                subject=agent,
                rater=mary,
                kind="manager",
                answers={"ability": 3},
                actor="test",
                reason=None,
                submitted_at=datetime(2026, 10, 19, tzinfo=UTC),
            )


def _ranked(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^\d+\. (\S+)", text, re.MULTILINE)]


def test_qa_results_move_me_and_rank_as_the_scheme_says(
    router: Router, engine: Engine, world: dict[str, int]
) -> None:
    _manager_reviews(engine, world)
    mary, alice = FakeChat(router, "Mary"), FakeChat(router, "Alice")
    mary.say(f"/rank call {PERIOD}")
    assert all(f"{n}  50.0" in mary.text for n in AGENTS), (
        mary.text
    )  # manager 50 % only: everyone 50
    alice.say(f"/me {PERIOD}")
    assert "Call quality: not enough samples, left out" in alice.text, alice.text
    draw(router)
    quinn = FakeChat(router, "Quinn")
    answers = {
        world["Alice"]: ("pass", "pass", "pass"),
        world["Bob"]: ("pass", "fail", "pass"),
        world["Carol"]: ("fail", "pass", "fail"),
        world["Mary"]: ("pass", "pass", "pass"),
    }
    while True:
        quinn.say("/qa")
        if "queue is empty" in quinn.text:
            break
        answer_sample(quinn, answers[open_agent(engine, world["Quinn"])])
    mary.say(f"/rank call {PERIOD}")
    # Alice 100 on every sample: (50·50 + 50·100) / 100 = 75; Carol 30 of 100 points: (2500 +
    # 50·30) / 100 = 40;
    # Bob failed a critical check every time, 0: (2500 + 0) / 100 = 25
    assert _ranked(mary.text) == ["Alice", "Carol", "Bob"]
    assert "Alice  75.0" in mary.text and "Carol  40.0" in mary.text and "Bob  25.0" in mary.text
    alice.say(f"/me {PERIOD}")
    assert (
        "Call quality: 100 × 50% = 50" in alice.text
        and "3 sampled conversations (quality sampling)" in alice.text
    ), alice.text


def test_a_scheme_minimum_of_samples_leaves_the_quality_part_out_until_it_is_reached(
    engine: Engine, make_router: Callable[[], Router]
) -> None:
    world = build_qa_world(engine, min_samples=3)
    _manager_reviews(engine, world)
    router = make_router()
    draw(router)
    quinn = FakeChat(router, "Quinn")
    while True:
        quinn.say("/qa")
        if "queue is empty" in quinn.text:
            break
        answer_sample(quinn, ("pass", "pass", "pass"))
    # Alice and Bob have three samples each, Carol two (below the minimum of three)
    carol, alice = FakeChat(router, "Carol"), FakeChat(router, "Alice")
    carol.say(f"/me {PERIOD}")
    assert "Call quality: not enough samples, left out" in carol.text, carol.text
    alice.say(f"/me {PERIOD}")
    assert "Call quality: 100 × 50% = 50" in alice.text, alice.text


def test_a_locked_period_is_neither_drawn_nor_reviewed(
    router: Router, engine: Engine, world: dict[str, int]
) -> None:
    draw(router)
    with unit_of_work(engine) as session:
        period = repo.get_period_by_id(session=session, period_id=world["period"])
        assert period is not None
        repo.set_period_status(
            session=session, period=period, status="locked", actor="test", reason=None
        )
    run(
        FakeChat(router, "Mary"),
        [("/qa draw", "Period 2026-10 is locked: its samples can no longer be drawn.")],
    )
    run(FakeChat(router, "Quinn"), [("/qa", "Your review queue is empty.")])


def test_a_modal_platform_submits_the_whole_scorecard_at_once(
    router: Router, engine: Engine, world: dict[str, int]
) -> None:
    from commands.messages import Incoming

    draw(router)
    quinn = FakeChat(router, "Quinn", platform="slack")
    with unit_of_work(engine) as session:
        member = repo.get_member(session=session, member_id=world["Quinn"])
        assert member is not None
        repo.link_platform(
            session=session, member=member, platform="slack", user_id="UQ", actor="test"
        )
    quinn.user_id = "UQ"
    quinn.say("/qa")
    form = [q for r in quinn.last for q in r.form]
    assert [q.field_id for q in form] == [
        "check_greeting",
        "check_identity",
        "check_answer",
        "qa_comment",
    ]
    assert [c.value for c in form[2].choices] == ["pass", "fail"]  # the answer check allows no N/A
    cid = form[0].conversation_id
    quinn.send(
        Incoming(
            platform="slack",
            user_id="UQ",
            action="form:modal",
            value=f"{cid}:0:",
            values={"check_greeting": "na", "check_identity": "pass", "check_answer": "na"},
        )
    )
    assert quinn.last[0].errors == {"check_answer": "Please choose one of: Pass / Fail."}
    quinn.send(
        Incoming(
            platform="slack",
            user_id="UQ",
            action="form:modal",
            value=f"{cid}:0:",
            values={"check_greeting": "na", "check_identity": "pass", "check_answer": "pass"},
        )
    )
    assert "Sample score: 100" in quinn.text
    quinn.press("Submit")
    assert "Thank you, the review is saved" in quinn.text
