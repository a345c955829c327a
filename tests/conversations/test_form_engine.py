from __future__ import annotations

from sqlmodel import select

from commands.messages import Reply
from commands.router import Router
from storage.db import unit_of_work
from storage.models import AuditLog, Conversation
from tests.conversations.transcript import FakeChat, run


def test_a_whole_form_is_answered_summarised_and_submitted(toy_router: Router) -> None:
    chat = FakeChat(toy_router, "Alice")
    run(
        chat,
        [
            ("/toy", ["Question 1 of 5", "How was your week?", "[1 · Very poor]"]),
            ("[4 · Good]", ["Question 2 of 5", "How many calls?"]),
            ("120", "Refund ratio?"),
            ("[Skip]", "Which shift?"),
            ("late", "Again?"),
            (
                "[Yes]",
                [
                    "Summary of your self-review",
                    "1. How was your week?: 4 · Good",
                    "3. Refund ratio?: (skipped)",
                    "preview calls=120",
                ],
            ),
            ("[Submit]", "Thank you"),
        ],
    )
    with unit_of_work(toy_router.engine) as session:
        saved = session.exec(select(AuditLog)).all()
        assert [row.after for row in saved] == [
            {"mood": 4, "calls": 120, "share": None, "shift": "late", "again": True}
        ]


def _submitted(router: Router) -> list[dict[str, object]]:
    with unit_of_work(router.engine) as session:
        return [
            row.after or {}
            for row in session.exec(select(AuditLog).where(AuditLog.action == "toy.submit")).all()
        ]


def _conversations(router: Router) -> list[Conversation]:
    with unit_of_work(router.engine) as session:
        return list(session.exec(select(Conversation)).all())


def test_a_wrong_answer_gets_a_specific_hint_and_the_same_question_again(
    toy_router: Router,
) -> None:
    chat = FakeChat(toy_router, "Alice")
    run(chat, [
        ("/toy", "Question 1 of 5"),
        ("7", ["Please send a whole number from 1 to 5.", "Question 1 of 5: How was your week?"]),
        ("good", ["Please send a whole number from 1 to 5.", "Question 1 of 5"]),
        ("3", "Question 2 of 5: How many calls?"),
        ("12.5", ["Please send a whole number from 0 to 500.", "How many calls?"]),
        ("-1", ["Please send a whole number from 0 to 500.", "How many calls?"]),
        ("1,200", ["Please send a whole number from 0 to 500."]),
        ("４２", "Refund ratio?"),
        ("150%", ["Please send a number from 0 to 100%.", "Refund ratio?"]),
        ("3.5%", "Which shift?"),
        ("night", ["Please choose one of: Early / Late.", "Which shift?"]),
        ("2", "Again?"),
        ("maybe", ["Please answer yes or no.", "Again?"]),
        ("no", ["3. Refund ratio?: 3.5%", "4. Which shift?: Late", "5. Again?: No"]),
    ])  # fmt: skip


def test_a_score_at_either_end_asks_for_the_conditional_question(toy_router: Router) -> None:
    chat = FakeChat(toy_router, "Alice")
    run(chat, [
        ("/toy", "Question 1 of 5"),
        ("5", "Question 2 of 6: What went well?"),
        ("", None),
        ("x" * 21, ["Please keep it to 20 characters; yours has 21.", "What went well?"]),
        ("Closed many tickets", "Question 3 of 6: How many calls?"),
    ])  # fmt: skip


def test_back_returns_to_the_previous_question_showing_the_current_answer(
    toy_router: Router,
) -> None:
    chat = FakeChat(toy_router, "Alice")
    run(chat, [
        ("/toy", "Question 1 of 5"),
        ("back", ["This is the first question.", "Question 1 of 5"]),
        ("2", "Question 2 of 5"),
        ("[Back]", ["Question 1 of 5", "Current answer: 2 · Poor"]),
        ("4", ["Question 2 of 5", "How many calls?"]),
    ])  # fmt: skip


def test_an_answer_is_edited_from_the_summary_and_a_new_conditional_question_is_asked(
    toy_router: Router,
) -> None:
    chat = FakeChat(toy_router, "Alice")
    run(
        chat,
        [
            ("/toy", "Question 1"),
            ("3", "calls"),
            ("10", "Refund"),
            ("skip", "shift"),
            ("1", "Again"),
            ("[Yes]", ["Summary", "1. How was your week?: 3 · Fair"]),
            ("[Change 1]", ["Question 1 of 5", "Current answer: 3 · Fair"]),
            ("1", ["Question 2 of 6: What went well?"]),
            (
                "Nothing much",
                [
                    "Summary",
                    "1. How was your week?: 1 · Very poor",
                    "2. What went well?: Nothing much",
                ],
            ),
            ("[Change 3]", "How many calls?"),
            ("11", ["Summary", "3. How many calls?: 11"]),
            ("[Change 1]", "Question 1"),
            ("4", ["Summary", "1. How was your week?: 4 · Good"]),
            ("[Submit]", "Thank you"),
        ],
    )
    assert "why" not in _submitted(toy_router)[0]
    assert _submitted(toy_router)[0]["calls"] == 11


def test_a_required_question_cannot_be_skipped(toy_router: Router) -> None:
    chat = FakeChat(toy_router, "Alice")
    run(chat, [("/toy", "Question 1"), ("skip", ["cannot be skipped", "Question 1 of 5"])])


def test_an_unfinished_draft_is_offered_again_from_where_it_stopped(
    toy_router: Router, clock: object
) -> None:
    chat = FakeChat(toy_router, "Alice")
    run(chat, [("/toy", "Question 1"), ("3", "Question 2"), ("10", "Question 3")])
    clock.advance(days=1)  # type: ignore[attr-defined]
    run(chat, [
        ("/toy", ["You have an unfinished self-review. Continue from question 3?"]),
        ("[Continue]", ["Question 3 of 5: Refund ratio?"]),
        ("/toy", "Continue from question 3?"),
        ("[Start over]", ["Question 1 of 5"]),
    ])  # fmt: skip
    statuses = sorted(c.status for c in _conversations(toy_router))
    assert statuses == ["active", "cancelled"]


def test_plain_text_the_next_day_continues_the_draft(toy_router: Router, clock: object) -> None:
    chat = FakeChat(toy_router, "Alice")
    run(chat, [("/toy", "Question 1"), ("3", "Question 2")])
    clock.advance(hours=20)  # type: ignore[attr-defined]
    run(chat, [("42", "Question 3 of 5")])


def test_a_double_tapped_submit_stores_one_result(toy_router: Router) -> None:
    chat = FakeChat(toy_router, "Alice")
    run(
        chat,
        [
            ("/toy", "Q"),
            ("3", "calls"),
            ("10", "Refund"),
            ("skip", "shift"),
            ("1", "Again"),
            ("yes", "Summary"),
        ],
    )
    submit = chat.button("Submit")
    chat.press_button(submit)
    assert "Thank you" in chat.text
    chat.press_button(submit)
    assert "already submitted" in chat.text
    run(chat, [("submit", "/help")])
    assert len(_submitted(toy_router)) == 1


def test_a_replayed_submit_delivery_is_dropped(toy_router: Router) -> None:
    chat = FakeChat(toy_router, "Alice")
    run(
        chat,
        [
            ("/toy", "Q"),
            ("3", "calls"),
            ("10", "Refund"),
            ("skip", "shift"),
            ("1", "Again"),
            ("yes", "Summary"),
        ],
    )
    submit = chat.button("Submit")
    chat.press_button(submit, event_id="slack-retry-1")
    assert chat.press_button(submit, event_id="slack-retry-1") == []
    assert len(_submitted(toy_router)) == 1


def test_a_button_from_an_earlier_question_changes_nothing(toy_router: Router) -> None:
    chat = FakeChat(toy_router, "Alice")
    run(chat, [("/toy", "Question 1")])
    four = chat.button("4 · Good")
    chat.press_button(four)
    assert "Question 2 of 5" in chat.text
    chat.press_button(four)
    assert "earlier question" in chat.text and "Question 2 of 5" in chat.text


def test_nobody_can_press_someone_elses_form_buttons(toy_router: Router) -> None:
    alice = FakeChat(toy_router, "Alice")
    run(alice, [("/toy", "Question 1")])
    other = FakeChat(toy_router, "李娜")
    assert "按钮已失效" in "".join(r.text for r in other.press_button(alice.button("4 · Good")))
    run(alice, [("2", "Question 2 of 5")])


def test_cancel_ends_the_form_without_storing_anything(toy_router: Router) -> None:
    chat = FakeChat(toy_router, "Alice")
    run(
        chat,
        [
            ("/toy", "Question 1"),
            ("3", "Question 2"),
            ("/cancel", "Cancelled"),
            ("5", "/help"),
            ("/cancel", "no form in progress"),
        ],
    )
    assert _submitted(toy_router) == []


def test_an_expired_draft_says_so_and_a_new_one_can_start(
    toy_router: Router, clock: object
) -> None:
    chat = FakeChat(toy_router, "Alice")
    run(chat, [("/toy", "Question 1")])
    with unit_of_work(toy_router.engine) as session:
        conv = session.exec(select(Conversation)).one()
        conv.expires_at = clock.now  # type: ignore[attr-defined]
        session.add(conv)
    clock.advance(minutes=1)  # type: ignore[attr-defined]
    run(chat, [("3", "expired"), ("/toy", "Question 1 of 5")])


def test_the_form_speaks_chinese_to_a_chinese_member(toy_router: Router) -> None:
    chat = FakeChat(toy_router, "李娜")
    run(chat, [
        ("/toy", ["第 1/5 题", "请发送 1 到 5 之间的整数。", "[取消]"]),
        ("九", ["请发送 1 到 5 之间的整数。", "第 1/5 题"]),
        ("三", "第 2/5 题"), ("10", "第 3/5 题"), ("跳过", "第 4/5 题"), ("1", "还要吗？"),
        ("是", ["汇总", "（已跳过）", "[提交]"]),
        ("提交", "谢谢"),
    ])  # fmt: skip


def _modal(chat: FakeChat, values: dict[str, str]) -> list[Reply]:
    form = next(r.form for r in chat.last if r.form)
    first = form[0]
    return chat.send(
        chat._incoming(
            action="form:modal", value=f"{first.conversation_id}:{first.step}:", values=values
        )
    )


def test_the_first_question_carries_the_whole_form_for_one_screen_adapters(
    toy_router: Router,
) -> None:
    chat = FakeChat(toy_router, "Alice")
    chat.say("/toy")
    (reply,) = [r for r in chat.last if r.form]
    assert [q.field_id for q in reply.form] == ["mood", "why", "calls", "share", "shift", "again"]
    why = reply.form[1]
    assert why.required is False and reply.form[0].required is True
    assert [c.value for c in reply.form[4].choices] == ["early", "late"]


def test_a_whole_form_submitted_at_once_gets_one_hint_per_wrong_field(toy_router: Router) -> None:
    chat = FakeChat(toy_router, "Alice")
    chat.say("/toy")
    replies = _modal(chat, {"mood": "5", "calls": "lots", "shift": "late", "again": "yes"})
    (reply,) = replies
    assert set(reply.errors) == {"why", "calls"}
    assert reply.errors["calls"] == "Please send a whole number from 0 to 500."
    assert reply.errors["why"] == "This question needs an answer."
    assert _submitted(toy_router) == []


def test_a_valid_whole_form_leads_to_the_summary_and_one_submit(toy_router: Router) -> None:
    chat = FakeChat(toy_router, "Alice")
    chat.say("/toy")
    _modal(
        chat,
        {
            "mood": "3",
            "why": "ignored: mood is not at an end",
            "calls": "7",
            "shift": "early",
            "again": "no",
        },
    )
    assert "Summary of your self-review" in chat.text and "4. Which shift?: Early" in chat.text
    chat.press("Submit")
    assert _submitted(toy_router) == [
        {"mood": 3, "calls": 7, "share": None, "shift": "early", "again": False}
    ]


def test_plain_text_in_a_group_chat_never_answers_a_form(toy_router: Router) -> None:
    private = FakeChat(toy_router, "Alice")
    run(private, [("/toy", "Question 1 of 5")])
    group = FakeChat(toy_router, "Alice", chat="group")
    run(group, [("4", None)])
    run(private, [("4", "Question 2 of 5")])
