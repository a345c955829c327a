"""The fake Feishu's rate limits are the shared :class:`tests.fakes.limits.FloodGate` (as the
fake Slack's and Telegram's), answered in Feishu's words: one chat past 5 a second is code
230020, the app past its rate is HTTP 429 code 99991400 with ``x-ogw-ratelimit-reset``, a
card updated more than 5 times a second is 230020, a random failure a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.fakes.feishu_api import FakeFeishu
from tests.fakes.limits import FEISHU_APP_PER_S, FEISHU_CHAT_PER_S, FloodGate
from tests.waiting import CEILING_S


@contextmanager
def _client(fake: FakeFeishu) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.domain + "/open-apis", timeout=CEILING_S) as client:
        token = client.post(
            "/auth/v3/tenant_access_token/internal",
            json={"app_id": fake.app_id, "app_secret": fake.app_secret},
        ).json()["tenant_access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def _send(client: httpx.Client, open_id: str, text: str = "hi") -> httpx.Response:
    body = {"receive_id": open_id, "msg_type": "text", "content": json.dumps({"text": text})}
    return client.post("/im/v1/messages", params={"receive_id_type": "open_id"}, json=body)


def test_the_fake_feishu_answers_the_shared_flood_gate_in_feishus_words() -> None:
    with FakeFeishu() as fake:
        assert isinstance(fake.gate, FloodGate) and isinstance(fake.patch_gate, FloodGate)
        user = fake.user("Li")
        with _client(fake) as client:
            assert (fake.gate.per_chat, fake.gate.chat_burst, fake.gate.overall) == (
                FEISHU_CHAT_PER_S,
                FEISHU_CHAT_PER_S,
                FEISHU_APP_PER_S,
            )
            gate = fake.flood_gate(per_chat=0.2, chat_burst=2)  # slow enough for a busy machine
            answers = [_send(client, user.open_id) for _ in range(3)]
            assert [a.json()["code"] for a in answers] == [0, 0, 230020]
            assert fake.limited == {230020: 1} and gate.limited == 1

            fake.flood_gate(overall=2.0)  # the app: two a second, to four different people
            others = [fake.user(f"P{n}") for n in range(4)]
            answers = [_send(client, p.open_id) for p in others]
            assert [a.status_code for a in answers[:2]] == [200, 200]
            refused = [a for a in answers if a.status_code == 429]
            assert refused and all(a.json()["code"] == 99991400 for a in refused)
            assert int(refused[0].headers["x-ogw-ratelimit-reset"]) >= 1

            fake.relax()
            assert all(_send(client, user.open_id).json()["code"] == 0 for _ in range(20))


def test_a_card_updated_more_than_five_times_a_second_is_refused() -> None:
    with FakeFeishu() as fake:
        user = fake.user("Li")
        card = {
            "schema": "2.0",
            "config": {"update_multi": True},
            "body": {"elements": [{"tag": "div", "text": {"tag": "plain_text", "content": "1"}}]},
        }
        with _client(fake) as client:
            sent = client.post(
                "/im/v1/messages",
                params={"receive_id_type": "open_id"},
                json={"receive_id": user.open_id, "msg_type": "interactive",
                      "content": json.dumps(card)},
            ).json()  # fmt: skip
            mid = sent["data"]["message_id"]
            codes = [
                client.patch(f"/im/v1/messages/{mid}", json={"content": json.dumps(card)}).json()[
                    "code"
                ]
                for _ in range(12)  # faster than 5 a second, even on a busy machine
            ]
            assert codes[:5] == [0] * 5 and 230020 in codes


def test_random_failures_come_from_the_same_seeded_gate() -> None:
    with FakeFeishu() as fake:
        user = fake.user("Li")
        gate = fake.flood_gate(p5xx=1.0)
        with _client(fake) as client:
            answer = _send(client, user.open_id)
        assert answer.status_code >= 500 and gate.random_5xx == 1
