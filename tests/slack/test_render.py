"""Block Kit rendering: whatever the commands say, Slack accepts it and shows all of it."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.slack import render
from commands.messages import Button, Choice, Question, Reply
from tests.fakes.slack_api import _check_message, check_view

lines = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=400)
texts = st.lists(lines, max_size=30).map("\n".join) | st.text(alphabet="&<>x \n", max_size=8000)
labels = st.text(min_size=1, max_size=120).filter(lambda s: s.strip())
buttons = st.builds(
    Button,
    label=labels,
    action=st.sampled_from(["form:answer", "form:cancel", "rank:page", "appeal"]),
    value=st.text(max_size=60),
    style=st.sampled_from([None, "primary", "danger"]),
)
replies = st.builds(
    Reply, text=texts, buttons=st.lists(buttons, max_size=60).map(tuple), private=st.booleans()
)


def shown_text(message: dict) -> str:
    sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    return unescape("".join(sections))


@settings(max_examples=60, deadline=None)
@given(replies)
def test_any_reply_renders_to_a_message_slack_accepts(reply: Reply) -> None:
    message = render.message(reply)
    assert _check_message(message) == []
    json.dumps(message)


@settings(max_examples=60, deadline=None)
@given(replies)
def test_no_visible_text_and_no_button_is_lost_in_rendering(reply: Reply) -> None:
    message = render.message(reply)
    assert "".join(shown_text(message).split()) == "".join(reply.text.split())
    rendered = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [render.decode_action_id(e["action_id"]) for e in rendered] == [
        b.action for b in reply.buttons
    ]
    assert [e.get("value", "") for e in rendered] == [b.value for b in reply.buttons]


questions = st.builds(
    Question,
    form_id=st.just("review"),
    conversation_id=st.integers(1, 10**9),
    field_id=st.from_regex(r"[a-z_]{1,30}", fullmatch=True),
    kind=st.sampled_from(["score", "number", "text", "choice", "yesno"]),
    prompt=labels,
    step=st.integers(0, 20),
    total=st.integers(1, 20),
    help=st.text(max_size=300),
    required=st.booleans(),
    choices=st.lists(
        st.builds(Choice, label=labels, value=st.from_regex(r"[0-9a-z]{1,10}", fullmatch=True)),
        max_size=12,
        unique_by=lambda c: c.value,
    ).map(tuple),
    minimum=st.none() | st.floats(-100, 0),
    maximum=st.none() | st.floats(1, 1000),
    max_length=st.none() | st.integers(1, 5000),
)


@settings(max_examples=60, deadline=None)
@given(
    st.text(max_size=2000),
    st.lists(questions, min_size=1, max_size=20, unique_by=lambda q: q.field_id),
    st.sampled_from(["zh", "en"]),
)
def test_any_one_screen_form_renders_to_a_modal_slack_accepts(
    text: str, form: list[Question], lang: str
) -> None:
    reply = Reply(text=text, form=tuple(form))
    meta = render.ModalMeta(form[0].conversation_id, form[0].step, "review", "C0KPITEAM")
    view = render.modal(reply, meta, lang)
    assert check_view(view) == []
    assert render.input_block_ids(view) == [q.field_id for q in form]
    assert render.ModalMeta.load(view["private_metadata"]) == meta


@pytest.mark.parametrize(
    ("command", "text", "expected"),
    [
        ("/rank", "demo 2026-10", "/rank demo 2026-10"),
        ("/rank", "", "/rank"),
        ("/kpi", "", "/help"),
        ("/kpi", "help", "/help"),
        ("/kpi", "simulate  refund_ratio=3%", "/simulate refund_ratio=3%"),
        ("/kpi", "/team add support", "/team add support"),
        ("/mykpi", "2026-09", "/me 2026-09"),
        ("/selfreview", "  ", "/selfreview"),
    ],
)
def test_slash_commands_become_the_neutral_command_line(
    command: str, text: str, expected: str
) -> None:
    assert render.command_text(command, text) == expected


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("你的自评已保存。", "zh"),
        ("Your self-review is saved.", "en"),
        ("Review of 李雷 saved", "en"),
        ("", "zh"),
    ],
)
def test_the_language_of_a_reply_is_read_off_its_text(text: str, lang: str) -> None:
    assert render.reply_lang(Reply(text=text), default="zh") == lang


def test_a_score_question_in_a_modal_keeps_the_current_answer_selected() -> None:
    q = Question(
        form_id="review", conversation_id=1, field_id="service", kind="score", prompt="Service",
        step=2, total=4, choices=tuple(Choice(str(v), str(v)) for v in range(1, 6)), current="4",
    )  # fmt: skip
    element = render.input_element(q)
    assert element["type"] == "radio_buttons"
    assert element["initial_option"]["value"] == "4"


def test_view_values_read_every_kind_of_input_and_leave_blanks_out() -> None:
    view = {
        "state": {
            "values": {
                "ability": {"answer": {"type": "radio_buttons", "selected_option": {"value": "3"}}},
                "hours": {"answer": {"type": "number_input", "value": "7.5"}},
                "comment": {"answer": {"type": "plain_text_input", "value": " well done "}},
                "optional": {"answer": {"type": "plain_text_input", "value": None}},
                "unpicked": {"answer": {"type": "static_select", "selected_option": None}},
            }
        }
    }
    assert render.view_values(view) == {"ability": "3", "hours": "7.5", "comment": "well done"}


@pytest.mark.parametrize(
    "text",
    [
        "&" * 7000,
        ("Li Lei <agent> & team: 86.5\n" * 400),
        "x" * 2999 + "&<>" + "y" * 5000,
    ],
    ids=["escapes only", "many lines", "escape at the cut"],
)
def test_long_text_is_cut_into_sections_slack_accepts_without_breaking_an_escape(text: str) -> None:
    message = render.message(Reply(text=text))
    sections = [b["text"]["text"] for b in message["blocks"]]
    assert len(sections) > 1 and _check_message(message) == []
    assert all(len(s) <= render.SECTION_MAX for s in sections)
    assert not any(re.search(r"&(?!amp;|lt;|gt;)", s) for s in sections), "an escape was cut in two"
    assert "".join(shown_text(message).split()) == "".join(text.split())


def test_an_error_for_a_field_the_modal_does_not_show_lands_on_its_first_input() -> None:
    replies = [
        Reply(text="", errors={"service": "Send a whole number from 1 to 5."}),
        Reply(text="", errors={"_form": "The review window closed.", "ability": "Required."}),
    ]
    assert render.view_errors(replies, ["ability", "service"]) == {
        "service": "Send a whole number from 1 to 5.",
        "ability": "The review window closed. Required.",
    }


def test_notification_text_is_escaped_like_blocks_so_a_comment_cannot_mention_a_channel() -> None:
    from bot.slack.render import fallback_text, message
    from commands.messages import Reply

    reply = Reply(text="Customer wrote: <!channel> see <https://evil.example|here> & more")
    assert "<!channel>" not in fallback_text(reply)
    assert "&lt;!channel&gt;" in fallback_text(reply)
    assert "<" not in message(reply)["text"]
