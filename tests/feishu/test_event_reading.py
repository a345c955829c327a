"""Issue 19's ack budget: the adapter reads an event without the SDK's ``JSON.marshal`` (a deep
copy of every object, then a second JSON parse: about a third of the callback's CPU): a card
callback off lark-oapi's model, a message or menu choice as the JSON it came in; each reads
exactly what that marshal gave."""

from __future__ import annotations

import json
from typing import Any

import pytest
from lark_oapi.api.application.v6.model.p2_application_bot_menu_v6 import P2ApplicationBotMenuV6
from lark_oapi.api.im.v1.model.p2_im_message_receive_v1 import P2ImMessageReceiveV1
from lark_oapi.core.json import JSON
from lark_oapi.event.callback.model.p2_card_action_trigger import P2CardActionTrigger
from lark_oapi.event.custom import CustomizedEvent

from bot.feishu import render
from bot.feishu.adapter import _as_dict, _plain
from commands.messages import Button, Question, Reply
from tests.fakes.feishu_api import FakeFeishu


def _card(fake: FakeFeishu, user: Any, reply: Reply) -> str:
    [card] = render.render(reply, "en").cards
    with fake._lock:
        message = fake._new_message(
            user.p2p_chat, {"msg_type": "interactive", "content": json.dumps(card)}
        )
    return str(message["message_id"])


def _envelopes(fake: FakeFeishu) -> list[tuple[type, dict[str, Any]]]:
    lina, bob = fake.user("李娜", locale="zh_CN"), fake.user("Bob", locale="en_US")
    group = fake.group("客服一组")
    button = _card(fake, lina, Reply(text="kpibot", buttons=(Button("Help", "help:0"),)))
    form = _card(
        fake,
        lina,
        Reply(
            text="Review",
            form=(
                Question(
                    form_id="review",
                    conversation_id=3,
                    field_id="service",
                    kind="text",
                    prompt="Service?",
                    step=1,
                    total=1,
                ),
            ),  # fmt: skip
        ),
    )
    return [
        (P2ImMessageReceiveV1, fake.message_event(lina, "/rank")),
        (P2ImMessageReceiveV1, fake.message_event(bob, "/me", chat_id=group)),
        (P2ImMessageReceiveV1, fake.file_event(lina, "kpi.csv", b"a,b\n1,2\n")),
        (P2CardActionTrigger, fake.press_event(lina, button, "Help")),
        (P2CardActionTrigger, fake.press_event(lina, form, "", form={"service": "耐心"})),
        (P2ApplicationBotMenuV6, fake.menu_event(bob, "rank")),
    ]


def test_an_event_reads_as_lark_oapis_marshal_gives_it() -> None:
    """A card callback is read off its model (``_plain``): the dict the marshal gave."""
    with FakeFeishu() as fake:
        envelopes = _envelopes(fake)
    for model, envelope in envelopes:
        event = model(json.loads(json.dumps(envelope))).event
        assert _plain(event) == json.loads(JSON.marshal(event)), envelope["header"]["event_type"]
    assert _plain(None) == {}


def test_a_message_or_menu_choice_read_as_it_came_is_the_request_the_model_gave() -> None:
    """A message and a menu choice reach the adapter as the JSON they came in (a customized
    event, no SDK model built): the same request as the model, marshalled, gave before."""
    with FakeFeishu() as fake:
        envelopes = _envelopes(fake)
    read = {P2ImMessageReceiveV1: render.to_incoming, P2ApplicationBotMenuV6: render.menu_incoming}
    compared = 0
    for model, envelope in envelopes:
        if model not in read:
            continue
        came = CustomizedEvent(json.loads(json.dumps(envelope)))
        assert came.header is not None and came.header.event_id == envelope["header"]["event_id"]
        before = json.loads(JSON.marshal(model(json.loads(json.dumps(envelope))).event))
        args = () if model is P2ApplicationBotMenuV6 else (None,)
        now = read[model](_as_dict(came.event), "e1", *args)  # type: ignore[operator]
        assert now is not None and now == read[model](before, "e1", *args)  # type: ignore[operator]
        compared += 1
    assert compared == 4
    assert _as_dict(None) == {}


@pytest.mark.parametrize(
    "value", [{"a": None, "b": [1, None, {"c": None}], "d": {"e": None, "f": 2}}, [None, "x"], 3]
)
def test_nones_are_left_out_where_the_sdk_leaves_them_out(value: Any) -> None:
    class Inner:
        def __init__(self) -> None:
            self.kept, self.gone = value, None

    class Model:
        def __init__(self) -> None:
            self.inner, self.items, self.gone = Inner(), [Inner(), {"x": None}], None

    assert _plain(Model()) == json.loads(JSON.marshal(Model()))
